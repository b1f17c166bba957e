"""The MQTT endpoint: listens, owns the sessions, and knows which connection holds which device."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from shugu.ingest.mqtt.connection import RC_TAKEN_OVER, MqttApplication, MqttConnection
from shugu.ingest.mqtt.session import Session

log = logging.getLogger(__name__)


class MqttEndpoint:
    def __init__(
        self,
        app: MqttApplication,
        *,
        max_packet_bytes: int,
        max_inflight: int = 1000,
        connect_timeout_s: float = 10.0,
        congested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app = app
        #: True while the store cannot keep up: connections then hold back (see connection.py).
        self.congested = congested
        self.max_packet_bytes = max_packet_bytes
        self.max_inflight = max_inflight
        self.connect_timeout_s = connect_timeout_s
        self.connections: set[MqttConnection] = set()
        #: (device id, client id) → session; a device can never resume another's session.
        self._sessions: dict[tuple[int, str], Session] = {}
        self._holders: dict[tuple[int, str], MqttConnection] = {}
        self._servers: list[asyncio.Server] = []

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        """Listen on host:port (port 0 picks a free one); returns the port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: MqttConnection(self), host, port, ssl=tls, reuse_address=True, backlog=4096
        )
        self._servers.append(server)
        bound = int(server.sockets[0].getsockname()[1])
        log.info("MQTT endpoint listening on %s:%d%s", host, bound, " (TLS)" if tls else "")
        return bound

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def take_session(
        self, conn: MqttConnection, device_id: int, client_id: str, clean_start: bool
    ) -> tuple[Session, bool]:
        """The connection's session, taking it over from an earlier connection of the client."""
        key = (device_id, client_id)
        holder = self._holders.get(key)
        if holder is not None and holder is not conn:
            holder.close(RC_TAKEN_OVER)
        self._holders[key] = conn
        existing = self._sessions.get(key)
        if existing is not None and not clean_start:
            return existing, True
        session = Session(device_id, client_id)
        if clean_start:
            self._sessions.pop(key, None)
        else:
            self._sessions[key] = session
        return session, False

    def release(self, conn: MqttConnection) -> None:
        assert conn.session is not None
        key = (conn.session.device_id, conn.session.client_id)
        if self._holders.get(key) is conn:
            del self._holders[key]
