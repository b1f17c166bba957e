"""The control socket: `shugu admin` commands run inside the running server.

``shugu serve`` listens on ``<data>/control.sock``, a Unix socket of mode 0600 in its data
directory, and describes itself in ``<data>/server.json`` (pid, ports, start time, registry).
Filesystem permissions are the authentication: only the account that runs the server (and root)
can connect, and the server also checks the peer's user id; there is no token to leak. Whoever
holds that account already holds the data directory, so the socket grants nothing new.

A command is one JSON line (control_wire.py), validated with the HTTP route's schema and run by
the route's own function as the platform operator: rotating a device token here revokes the old
one at once, exactly as ``POST /api/devices/{id}/token`` does (device caches forgotten, the
device's MQTT sessions closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import make_url

from shugu.api import registry_routes
from shugu.api.control_wire import (
    IO_TIMEOUT_S,
    MAX_REQUEST_BYTES,
    ApiTokenOut,
    CreateAsset,
    CreateDevice,
    CreateToken,
    RotateDeviceToken,
    decode_request,
    encode_answer,
    encode_refusal,
)
from shugu.api.deps import get_access
from shugu.api.registry_schemas import AssetIn, DeviceIn
from shugu.api.services import Services
from shugu.domain.errors import ForbiddenError, NotFoundError, ShuguError, UnavailableError
from shugu.domain.tenancy import Access, Principal, Role
from shugu.store.datadir import (
    control_socket_path,
    listen_private,
    peer_uid,
    server_info_path,
    unix_socket_address,
)
from shugu.store.registry.engine import normalize_url

log = logging.getLogger(__name__)

#: Who a command over the socket acts as: the platform operator, who holds the machine.
LOCAL_ADMIN = Principal(user_id=0, username="local-admin (control socket)", role=Role.OPERATOR)

Handler = Callable[[Any, Access, Services], BaseModel]


def _create_asset(args: CreateAsset, access: Access, services: Services) -> BaseModel:
    body = AssetIn.model_validate(args.model_dump(exclude={"enterprise_id"}))
    return registry_routes.create_asset(args.enterprise_id, body, access, services)


def _create_device(args: CreateDevice, access: Access, services: Services) -> BaseModel:
    body = DeviceIn.model_validate(args.model_dump(exclude={"enterprise_id"}))
    return registry_routes.create_device(args.enterprise_id, body, access, services)


def _rotate_device_token(args: RotateDeviceToken, access: Access, services: Services) -> BaseModel:
    return registry_routes.rotate_device_token(args.device_id, access, services)


def _create_token(args: CreateToken, access: Access, services: Services) -> BaseModel:
    if not access.can_manage_platform():
        raise ForbiddenError("only the platform operator may issue tokens for others")
    user = services.registry.user_by_username(args.username)
    if user is None:
        raise NotFoundError(f"no user named {args.username!r}", code="not_found")
    token = services.registry.create_api_token(user.id, args.name, args.ttl_seconds)
    return ApiTokenOut(token=token)


HANDLERS: dict[str, Handler] = {
    "create-region": lambda a, x, s: registry_routes.create_region(a, x, s),
    "create-park": lambda a, x, s: registry_routes.create_park(a, x, s),
    "create-enterprise": lambda a, x, s: registry_routes.create_enterprise(a, x, s),
    "create-asset": _create_asset,
    "create-device": _create_device,
    "rotate-device-token": _rotate_device_token,
    "create-user": lambda a, x, s: registry_routes.create_user(a, x, s),
    "create-token": _create_token,
}


def public_registry_url(url: str) -> str:
    """The registry URL without its password, for server.json and messages."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


async def _socket_answers(path: Path) -> bool:
    try:
        with unix_socket_address(path) as address:
            _, writer = await asyncio.wait_for(asyncio.open_unix_connection(address), 5.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class ControlSocket:
    """The control socket and server.json of one running server."""

    def __init__(self, data_dir: Path, http_url: str) -> None:
        self.data_dir = data_dir
        self.http_url = http_url
        self.path = control_socket_path(data_dir)
        self.info_path = server_info_path(data_dir)
        self._server: asyncio.Server | None = None
        self._services: Services | None = None

    async def start(self, services: Services) -> None:
        self._services = services
        if self.path.is_socket() or self.path.exists():
            if await _socket_answers(self.path):
                raise UnavailableError(
                    f"another shugu server already serves {self.data_dir} (its control socket "
                    "answers); stop it first or give this one another --data",
                    code="data_dir_in_use",
                )
            self.path.unlink()  # left by a server that was killed
        try:
            listener = listen_private(self.path, 16)
        except OSError as exc:
            log.warning(
                "no control socket at %s (%s): `shugu admin` refuses to write the registry of "
                "this data directory while this server runs",
                self.path,
                exc.strerror or exc,
            )
        else:
            self._server = await asyncio.start_unix_server(
                self._handle, sock=listener, limit=MAX_REQUEST_BYTES
            )
        self._write_info(services)

    def _write_info(self, services: Services) -> None:
        settings = services.settings
        info = {
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_dir": str(self.data_dir.resolve()),
            "http": self.http_url,
            "mqtt_port": services.mqtt_port,
            "mqtt_tls_port": services.mqtt_tls_port,
            "registry": public_registry_url(settings.resolved_registry_url()),
            "control_socket": str(self.path.resolve()) if self._server is not None else None,
        }
        partial = self.info_path.with_suffix(".json.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(info, handle, ensure_ascii=False, indent=2)
        os.replace(partial, self.info_path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            self.path.unlink(missing_ok=True)
        self.info_path.unlink(missing_ok=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await self._answer(reader, writer))
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass  # the admin command went away; nothing to tell it
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        uid = peer_uid(writer.get_extra_info("socket"))
        if uid is not None and uid not in (0, os.getuid()):
            log.warning("control socket: refused a connection from user id %d", uid)
            return encode_refusal("forbidden", "only the account that runs shugu may use this")
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\n"), IO_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            return encode_refusal(
                "request_too_large", f"a request is at most {MAX_REQUEST_BYTES} bytes"
            )
        except asyncio.IncompleteReadError:
            return encode_refusal("malformed_request", "a request is one line ending in \\n")
        services = self._services
        assert services is not None
        try:
            command, args = decode_request(line)
            access = get_access(LOCAL_ADMIN, services)
            result = await asyncio.to_thread(HANDLERS[command], args, access, services)
        except ShuguError as exc:
            log.info("control socket: refused (%s): %s", exc.code, exc.message)
            return encode_refusal(exc.code, exc.message)
        except Exception:
            # Answered and logged with its traceback, so the operator sees both ends.
            log.exception("control socket: a command failed")
            return encode_refusal("internal_error", "the command failed; see the server's log")
        log.info("control socket: %s done", command)
        return encode_answer(result)
