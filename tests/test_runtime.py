"""The runtime starts what runs in the background of a process and stops it again, in order;
the application's lifespan only runs it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from fastapi.testclient import TestClient

from shugu.api.app import create_app
from shugu.config import Settings
from shugu.runtime import Runtime, Services


class Recorder:
    """An attachment that writes down when it is started and stopped."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.services: Services | None = None

    async def start(self, services: Services) -> None:
        self.services = services
        # Attachments start last: the MQTT endpoint already listens.
        self.events.append(f"start mqtt={services.mqtt_port is not None}")

    async def stop(self) -> None:
        self.events.append("stop")


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return False
    return True


def test_an_owned_runtime_starts_its_transports_and_closes_its_stores(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", mqtt_host="127.0.0.1", mqtt_port=0)
    events: list[str] = []
    runtime = Runtime.open(settings, attachments=(Recorder(events), Recorder(events)))

    async def scenario() -> int:
        async with runtime.running() as services:
            assert services.mqtt_port is not None
            assert await asyncio.to_thread(_answers, services.mqtt_port)
            assert services.store.writer_alive
            return services.mqtt_port

    port = asyncio.run(scenario())
    assert events == ["start mqtt=True", "start mqtt=True", "stop", "stop"]
    assert not _answers(port)
    assert not runtime.services.store.writer_alive


def test_the_application_lifespan_runs_the_runtime_it_is_given(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", mqtt_host="127.0.0.1", mqtt_port=0)
    events: list[str] = []
    runtime = Runtime.open(settings, attachments=(Recorder(events),))
    with TestClient(create_app(settings, runtime=runtime)) as client:
        health = client.get("/api/health").json()
        assert runtime.services.mqtt_port is not None
        assert health["mqtt_port"] == runtime.services.mqtt_port
        assert events == ["start mqtt=True"]
    assert events == ["start mqtt=True", "stop"]
    assert not runtime.services.store.writer_alive
