"""`shugu serve` refuses a taken port in one line, and says at once that it stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shugu.cli_lifecycle import Listener, PortUnavailable, check_ports
from tests.server import free_port, holding_port

SHUGU = [sys.executable, "-m", "shugu.cli"]


#: None: --workers left out, so the default (the cores available); the port is refused before
#: any front process would start, however many cores the machine has.
@pytest.mark.parametrize("workers", [1, 2, None], ids=["one", "two", "default"])
@pytest.mark.parametrize("taken", ["--http-port", "--mqtt-port", "--mqtt-tls-port"])
def test_serve_refuses_a_taken_port_in_one_line(
    tmp_path: Path, taken: str, workers: int | None
) -> None:
    ports = {"--http-port": free_port(), "--mqtt-port": free_port(), "--mqtt-tls-port": free_port()}
    chosen = [] if workers is None else ["--workers", str(workers)]
    with holding_port(ports[taken]):
        done = subprocess.run(
            [*SHUGU, "serve", "--data", str(tmp_path / "data"), *chosen]
            + [str(x) for pair in ports.items() for x in pair],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"port {ports[taken]}" in done.stderr and taken in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists(), "nothing is opened before the ports are checked"


def test_one_port_for_two_listeners_is_refused() -> None:
    port = free_port()
    with pytest.raises(PortUnavailable, match=f"port {port} is given for both HTTP and MQTT"):
        check_ports(
            [
                Listener("HTTP", "127.0.0.1", port, "--http-port"),
                Listener("MQTT", "127.0.0.1", port, "--mqtt-port"),
            ]
        )


def test_a_privileged_or_foreign_address_is_named() -> None:
    with pytest.raises(PortUnavailable) as info:
        check_ports([Listener("HTTP", "192.0.2.1", free_port(), "--host")])
    assert "not an address of this machine" in info.value.message
    if os.geteuid() != 0:
        with pytest.raises(PortUnavailable, match="needs privileges"):
            check_ports([Listener("HTTP", "127.0.0.1", 80, "--http-port")])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_says_it_stops_and_stops_on_ctrl_c(tmp_path: Path, workers: int) -> None:
    http_port, mqtt_port = free_port(), free_port()
    ports = ["--http-port", str(http_port), "--mqtt-port", str(mqtt_port)]
    process = subprocess.Popen(
        [*SHUGU, "serve", "--data", str(tmp_path / "data"), "--workers", str(workers), *ports],
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/health", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        # An MQTT client connected: its session must not hold the stop up.
        client = socket.create_connection(("127.0.0.1", mqtt_port), timeout=5)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=15)  # a hang guard, not a measurement
        client.close()
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, output[-3000:]
    assert "stopping…" in output and output.rstrip().endswith("stopped."), output[-3000:]
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize(
    ("option", "url", "says"),
    [
        ("--telemetry-url", "clickhouse://db:port/x", "not a usable ClickHouse URL"),
        ("--telemetry-url", "postgresql://db/x", "not a usable ClickHouse URL"),
        # Nothing listens on a port just freed: the store cannot open.
        ("--telemetry-url", "clickhouse://127.0.0.1:{port}/x", "cannot open the ClickHouse"),
        ("--registry-url", "postgresql://shugu@127.0.0.1:{port}/x", "cannot be reached"),
    ],
)
def test_a_store_url_that_cannot_work_is_one_line(
    tmp_path: Path, option: str, url: str, says: str
) -> None:
    store = [option, url.format(port=free_port())]
    done = subprocess.run(
        [
            *SHUGU,
            "serve",
            "--data",
            str(tmp_path / "data"),
            "--http-port",
            str(free_port()),
            *store,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("shugu cannot start: ") and says in last, done.stderr
