"""`shugu serve` in a child process on free ports, with a small registry made beforehand.

The general harness is ``bench/faults/served.py`` (the fault runs start, kill and restart
servers with it); this module keeps the small interface the endpoint tests use.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.faults.served import Served, ServerGone, free_port, make_district

__all__ = ["ServedDistrict", "free_port", "holding_port", "serve_district"]


def holding_port(port: int) -> socket.socket:
    """Another program listening on ``port``, as a Debian Mosquitto holds 1883."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    return holder


@dataclass
class ServedDistrict:
    data: Path
    http_port: int
    mqtt_port: int
    enterprise: int
    #: device name → (id, access token)
    devices: dict[str, tuple[int, str]] = field(default_factory=dict)
    admin_token: str = ""
    server: Served | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process if self.server is not None else None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def token(self, name: str) -> str:
        return self.devices[name][1]

    def device_id(self, name: str) -> int:
        return self.devices[name][0]

    def http(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
        assert self.server is not None
        status, raw = self.server.request(method, path, body, timeout_s=30)
        return status, json.loads(raw or b"{}")

    def post_telemetry(self, token: str, values: dict[str, float]) -> int:
        """A device's telemetry over ThingsBoard's HTTP device API; the answer's status."""
        request = urllib.request.Request(
            f"{self.base}/api/v1/{token}/telemetry", data=json.dumps(values).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as err:
            return err.code

    def latest(self, name: str) -> dict[str, float]:
        status, body = self.http("GET", f"/api/devices/{self.device_id(name)}/latest")
        assert status == 200, body
        cols = body["columns"]
        assert isinstance(cols, dict)
        return dict(zip(cols["metric"], cols["value"], strict=True))

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout_s=30)

    def __enter__(self) -> ServedDistrict:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_district(
    data: Path,
    devices: dict[str, tuple[str, bool]],
    extra_args: list[str] | None = None,
    workers: int = 1,
) -> ServedDistrict:
    """Create a region, park, enterprise, the devices (name → (profile, is_gateway)) and an
    enterprise admin with an API token; then start `shugu serve` with HTTP and MQTT.

    ``workers`` is always passed, never left to the cores of the machine running the tests.
    One process by default: the endpoint tests check one process's limits and behaviour
    exactly (a per-address cap of 3, say, is 2 per process with two); tests/front runs the
    same paths over several processes."""
    district = make_district(data, devices)
    server = Served(district, extra_args=["--workers", str(workers), *(extra_args or [])])
    assert server.mqtt_port is not None
    try:
        server.start(timeout_s=30)
    except ServerGone as exc:
        raise RuntimeError("shugu serve did not start") from exc
    return ServedDistrict(
        data=data,
        http_port=server.http_port,
        mqtt_port=server.mqtt_port,
        enterprise=district.enterprise,
        devices={d.name: (d.id, d.token) for d in district.devices},
        admin_token=district.admin_token,
        server=server,
    )
