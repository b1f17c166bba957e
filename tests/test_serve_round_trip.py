"""`shugu serve` as a real process: admin commands, a device posting, a user reading back; on
the embedded stores, with the registry on PostgreSQL, and with telemetry on ClickHouse."""

from __future__ import annotations

import json
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

from tests.clickhouse import ClickHouseServer
from tests.pg import PostgresServer

SHUGU = [sys.executable, "-m", "shugu.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shugu(*args: str, data: Path, registry_url: str | None) -> str:
    extra = ["--registry-url", registry_url] if registry_url else []
    out = subprocess.run(
        [*SHUGU, *args, "--data", str(data), *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout


@pytest.fixture(params=["sqlite", "postgresql", "sqlite+clickhouse"])
def registry_url(request: pytest.FixtureRequest) -> str | None:
    """None: the embedded default (SQLite in the data directory)."""
    if request.param.startswith("sqlite"):
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def telemetry_url(request: pytest.FixtureRequest, registry_url: str | None) -> str | None:
    """None: the embedded default (DuckDB in the data directory)."""
    if not request.node.callspec.params["registry_url"].endswith("clickhouse"):
        return None
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    return server.url()


def _http(
    method: str, url: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_serve_round_trips_a_point(
    tmp_path: Path, registry_url: str | None, telemetry_url: str | None
) -> None:
    data = tmp_path / "data"
    # No server runs yet: the admin commands write a registry that must be created on purpose.
    assert "registry created" in _shugu("admin", "init", data=data, registry_url=registry_url)
    assert "region 1" in _shugu(
        "admin",
        "create-region",
        "--code",
        "350112",
        "--name",
        "长乐区",
        data=data,
        registry_url=registry_url,
    )
    _shugu(
        "admin",
        "create-park",
        "--region",
        "1",
        "--name",
        "滨海工业区",
        data=data,
        registry_url=registry_url,
    )
    out = _shugu(
        "admin",
        "create-enterprise",
        "--park",
        "1",
        "--name",
        "示例",
        "--uscc",
        "91350100M0001TGQXM",
        data=data,
        registry_url=registry_url,
    )
    assert "warning" in out  # a checksum mismatch is accepted, visibly
    out = _shugu(
        "admin",
        "create-device",
        "--enterprise",
        "1",
        "--name",
        "织机 1",
        "--profile",
        "loom",
        data=data,
        registry_url=registry_url,
    )
    token = out.split("access token: ")[1].strip()
    _shugu(
        "admin",
        "create-user",
        "--username",
        "mill",
        "--password",
        "a long passphrase",
        "--role",
        "enterprise_admin",
        "--enterprise",
        "1",
        data=data,
        registry_url=registry_url,
    )
    port = _free_port()
    server = subprocess.Popen(
        # Two processes, as the default gives on two cores (never left to a test machine's).
        [*SHUGU, "serve", "--data", str(data), "--http-port", str(port), "--log-level", "warning"]
        + ["--workers", "2"]
        + (["--registry-url", registry_url] if registry_url else [])
        + (["--telemetry-url", telemetry_url] if telemetry_url else []),
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if _http("GET", f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        status, body = _http(
            "POST", f"{base}/api/v1/{token}/telemetry", {"speed_rpm": 820, "running": True}
        )
        assert (status, body["accepted"]) == (200, 2)
        status, login = _http(
            "POST", f"{base}/api/auth/login", {"username": "mill", "password": "a long passphrase"}
        )
        assert status == 200
        status, latest = _http("GET", f"{base}/api/devices/1/latest", token=str(login["token"]))
        assert status == 200
        columns = latest["columns"]
        assert isinstance(columns, dict)
        assert dict(zip(columns["metric"], columns["value"], strict=True)) == {
            "speed_rpm": 820.0,
            "running": 1.0,
        }
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
