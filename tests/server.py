"""`shugu serve` in a child process on free ports, with a small registry made beforehand."""

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
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

from shugu.domain.tenancy import Role
from shugu.store.registry import Registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServedDistrict:
    data: Path
    http_port: int
    mqtt_port: int
    enterprise: int
    #: device name → (id, access token)
    devices: dict[str, tuple[int, str]] = field(default_factory=dict)
    admin_token: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def token(self, name: str) -> str:
        return self.devices[name][1]

    def device_id(self, name: str) -> int:
        return self.devices[name][0]

    def http(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def latest(self, name: str) -> dict[str, float]:
        status, body = self.http("GET", f"/api/devices/{self.device_id(name)}/latest")
        assert status == 200, body
        cols = body["columns"]
        assert isinstance(cols, dict)
        return dict(zip(cols["metric"], cols["value"], strict=True))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def serve_district(
    data: Path, devices: dict[str, tuple[str, bool]], extra_args: list[str] | None = None
) -> ServedDistrict:
    """Create a region, park, enterprise, the devices (name → (profile, is_gateway)) and an
    enterprise admin with an API token; then start `shugu serve` with HTTP and MQTT."""
    registry = Registry(
        f"sqlite:///{data / 'registry.sqlite'}",
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    try:
        region = registry.create_region("350112", "长乐区")
        park = registry.create_park(region.id, "滨海工业区")
        ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
        district = ServedDistrict(data, free_port(), free_port(), ent.id)
        for name, (profile, gateway) in devices.items():
            record, token = registry.create_device(ent.id, name, profile, is_gateway=gateway)
            district.devices[name] = (record.id, token)
        user = registry.create_user("admin", "a long password", Role.ENTERPRISE_ADMIN, ent.id)
        district.admin_token = registry.create_api_token(user.id, "tests")
    finally:
        registry.close()
    district.process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shugu.cli",
            "serve",
            "--data",
            str(data),
            "--http-port",
            str(district.http_port),
            "--mqtt-port",
            str(district.mqtt_port),
            "--log-level",
            "warning",
            *(extra_args or []),
        ],
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen(district.base + "/api/health", timeout=2) as answer:
                if json.loads(answer.read()).get("mqtt_port") == district.mqtt_port:
                    return district
        except OSError:
            pass
        if time.time() > deadline or district.process.poll() is not None:
            district.stop()
            raise RuntimeError("shugu serve did not start")
        time.sleep(0.1)
