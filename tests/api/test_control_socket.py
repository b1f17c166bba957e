"""The control socket in process: its limits, its refusals, a stale socket and a second server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

import pytest

from shugu.api.control import ControlSocket
from shugu.api.control_wire import MAX_REQUEST_BYTES
from shugu.config import Settings
from shugu.domain.errors import UnavailableError
from shugu.runtime import open_services
from shugu.store.datadir import peer_uid
from shugu.store.registry import Registry


def _ask(path: Path, line: bytes) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(str(path))
        client.sendall(line)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            answer += chunk
    doc = json.loads(answer)
    assert isinstance(doc, dict)
    return doc


def test_the_socket_answers_refuses_and_cleans_up(tmp_path: Path, registry: Registry) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    services = open_services(settings, registry)

    async def scenario() -> None:
        control = ControlSocket(settings.data_dir, "http://127.0.0.1:8080")
        # Left by a server that was killed: present, but nobody listens.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(control.path))
        stale.close()
        await control.start(services)
        try:
            assert control.path.stat().st_mode & 0o777 == 0o600

            def ask(line: bytes) -> dict[str, object]:
                return _ask(control.path, line)

            made = await asyncio.to_thread(
                ask, b'{"command": "create-region", "args": {"code": "350112", "name": "x"}}\n'
            )
            assert made["ok"] is True
            assert [r.code for r in registry.list_regions()] == ["350112"]
            too_big = await asyncio.to_thread(ask, b"{" + b" " * MAX_REQUEST_BYTES + b"}\n")
            assert (too_big["ok"], too_big["code"]) == (False, "request_too_large")
            garbage = await asyncio.to_thread(ask, b"\xff\xfe\n")
            assert garbage["code"] == "malformed_request"
            unknown = await asyncio.to_thread(ask, b'{"command": "drop-everything"}\n')
            assert unknown["code"] == "unknown_command"
            invalid = await asyncio.to_thread(
                ask, b'{"command": "rotate-device-token", "args": {"device_id": "one"}}\n'
            )
            assert invalid["code"] == "invalid_arguments"
            missing = await asyncio.to_thread(
                ask, b'{"command": "rotate-device-token", "args": {"device_id": 999}}\n'
            )
            assert missing["code"] == "not_found"
            # A second server on the same data directory is refused while this one answers.
            with pytest.raises(UnavailableError) as refused:
                await ControlSocket(settings.data_dir, "http://127.0.0.1:8081").start(services)
            assert refused.value.code == "data_dir_in_use"
        finally:
            await control.stop()
        assert not control.path.exists()
        assert not control.info_path.exists()

    try:
        asyncio.run(scenario())
    finally:
        services.close()


def test_the_peer_s_user_id_is_read() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        assert peer_uid(ours) == os.getuid()
