"""`shugu admin` acts where the server reads: through the running server's control socket, or
directly on a registry no server runs on, and never on a registry the server would not see.

A real `shugu serve` and the admin commands as child processes; a real MQTT client (paho).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.faults.served import Served, make_district

from shugu.store.datadir import control_socket_path, server_info_path
from tests.pg import PostgresServer
from tests.security.test_device_revocation import NOT_AUTHORIZED, Device
from tests.server import ServedDistrict, serve_district

SHUGU = [sys.executable, "-m", "shugu.cli"]
DEVICES = {"loom-1": ("loom", False), "loom-2": ("loom", False), "other": ("generic", False)}


def admin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHUGU, "admin", *args], capture_output=True, text=True, timeout=60, check=False
    )


def post_telemetry(district: ServedDistrict, token: str) -> int:
    return district.post_telemetry(token, {"speed_rpm": 800})


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(tmp_path_factory.mktemp("admin"), DEVICES) as served:
        yield served


def test_the_server_publishes_a_private_control_socket(district: ServedDistrict) -> None:
    path = control_socket_path(district.data)
    assert path.is_socket()
    assert path.stat().st_mode & 0o777 == 0o600
    info = json.loads(server_info_path(district.data).read_text())
    assert info["pid"] == district.server.pid  # type: ignore[union-attr]
    assert info["mqtt_port"] == district.mqtt_port
    assert info["control_socket"] == str(path.resolve())


@pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
def test_rotating_through_the_running_server_revokes_at_once(
    district: ServedDistrict, v5: bool
) -> None:
    name = "loom-2" if v5 else "loom-1"
    device_id, old_token = district.devices[name]
    # Used just before: the server's token cache holds the old token.
    assert post_telemetry(district, old_token) == 200
    victim = Device(district.mqtt_port, old_token, v5)
    bystander = Device(district.mqtt_port, district.token("other"), v5)
    assert victim.connect() == 0
    assert bystander.connect() == 0
    try:
        done = admin(
            "rotate-device-token", "--device", str(device_id), "--data", str(district.data)
        )
        assert done.returncode == 0, done.stderr
        assert "in effect now" in done.stderr
        new_token = done.stdout.split("access token: ")[1].strip()
        # The command returned after the server had revoked the token: no waiting.
        assert post_telemetry(district, old_token) == 401
        assert victim.disconnected.wait(10), "the open MQTT session of the old token stays up"
        if v5:
            assert victim.disconnects[0][0] == NOT_AUTHORIZED
        assert not bystander.disconnected.is_set()
        assert bystander.publish(1.0)
    finally:
        victim.close()
        bystander.close()
    assert post_telemetry(district, new_token) == 200
    district.devices[name] = (device_id, new_token)


def test_commands_through_the_server_are_seen_by_it(district: ServedDistrict) -> None:
    create = ["create-device", "--enterprise", str(district.enterprise), "--name", "new-loom"]
    create += ["--profile", "loom", "--data", str(district.data)]
    made = admin(*create)
    assert made.returncode == 0, made.stderr
    token = made.stdout.split("access token: ")[1].strip()
    assert post_telemetry(district, token) == 200
    # Refusals come back with the route's code and message, on one line.
    again = admin(*create)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert again.stderr.startswith("error [device_name_taken]")


def test_a_data_directory_with_a_long_path_still_has_its_control_socket(
    tmp_path: Path,
) -> None:
    """<data>/control.sock longer than AF_UNIX's 107 bytes: the server still listens there
    and `shugu admin` still reaches it, instead of the server running without a socket."""
    data = tmp_path / ("long-directory-name-" * 6)
    assert len(str(control_socket_path(data))) > 108
    with serve_district(data, {"loom-1": ("loom", False)}) as district:
        assert control_socket_path(data).is_socket()
        info = json.loads(server_info_path(data).read_text())
        assert info["control_socket"] == str(control_socket_path(data).resolve())
        create = ["create-device", "--enterprise", str(district.enterprise), "--name", "far"]
        made = admin(*create, "--profile", "loom", "--data", str(data))
        assert made.returncode == 0, made.stderr
        assert post_telemetry(district, made.stdout.split("access token: ")[1].strip()) == 200


def test_admin_says_when_the_server_runs_without_a_control_socket(tmp_path: Path) -> None:
    """A server that could not open its socket records ``"control_socket": null``; the admin
    command names that instead of a socket that does not answer."""
    data = tmp_path / "data"
    assert admin("init", "--data", str(data)).returncode == 0
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "shugu"])
    try:
        info = {"pid": stand_in.pid, "control_socket": None}
        server_info_path(data).write_text(json.dumps(info))
        done = admin("create-region", "--code", "350112", "--name", "长乐区", "--data", str(data))
    finally:
        stand_in.kill()
        stand_in.wait()
    assert done.returncode == 1
    assert done.stderr.startswith("error [control_socket_unavailable]")
    assert "runs without a control socket" in done.stderr


def test_a_data_directory_without_a_registry_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "not-the-servers"
    done = admin("create-region", "--code", "350112", "--name", "长乐区", "--data", str(wrong))
    assert done.returncode == 1
    assert done.stdout == ""
    line = done.stderr.strip()
    assert "\n" not in line
    assert line.startswith("error [no_registry]")
    assert str(wrong.resolve()) in line and "shugu admin init" in line
    assert not wrong.exists(), "the refused command created the directory"


def test_with_no_server_the_command_writes_the_registry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = admin("init", "--data", str(data))
    assert created.returncode == 0, created.stderr
    # A socket left by a killed server: it exists but refuses connections.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(control_socket_path(data)))
    stale.close()
    done = admin("create-region", "--code", "350112", "--name", "长乐区", "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "region 1: 长乐区 (350112)"
    assert "no server runs" in done.stderr
    listed = admin("init", "--data", str(data))
    assert "holds a registry already" in listed.stdout


def test_a_revocation_made_by_another_process_ends_open_sessions(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """Servers sharing a PostgreSQL registry: the admin command writes it directly (no server
    runs on its --data); the server's open MQTT session of the old token is closed within the
    re-check interval, and new requests with the old token are refused after the cache TTL."""
    url = postgres_server.create_database()
    district = make_district(tmp_path / "server", DEVICES, registry_url=url)
    # Two processes, as the default gives on two cores: each re-checks its own sessions.
    server = Served(district, workers=2)
    server.start(timeout_s=60)
    try:
        assert server.mqtt_port is not None
        cred = district.device("loom-1")
        victim = Device(server.mqtt_port, cred.token, v5=True)
        assert victim.connect() == 0
        try:
            done = admin(
                "rotate-device-token",
                "--device",
                str(cred.id),
                "--data",
                str(tmp_path / "elsewhere"),
                "--registry-url",
                url,
            )
            assert done.returncode == 0, done.stderr
            assert "servers using it see it within" in done.stderr
            assert victim.disconnected.wait(30), "the session of a revoked token stays open"
            assert victim.disconnects[0][0] == NOT_AUTHORIZED
        finally:
            victim.close()
        again = Device(server.mqtt_port, cred.token, v5=True)
        try:
            assert again.connect() == NOT_AUTHORIZED
        finally:
            again.close()
    finally:
        server.stop(timeout_s=30)
