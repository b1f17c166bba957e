"""The MQTT endpoint: listens, owns the sessions, and knows which connection holds which device.

It also cuts a device off when its credentials are revoked (token rotated, device deleted):
``disconnect_device`` closes the device's live connections at once, telling MQTT 5 clients why
with DISCONNECT 0x87 "not authorized", and drops its stored sessions.

A revocation may also be made where this endpoint does not hear of it (another server sharing a
PostgreSQL registry, the admin command writing a stopped server's registry that was then
started by another process). So the credentials of open sessions are re-checked every
``revalidate_s`` seconds, in one registry query per few hundred connections, and a session whose
token no longer names its device is cut off like one revoked here.

It admits at most ``max_connections_per_address`` open connections (plain and TLS together) from
one client address, an IPv6 client by its /64 (``domain/client_address.py``, as the HTTP
server counts). A connection beyond it is closed the moment it is made, before anything is read:
a CONNACK refusal would need the CONNECT read first (its protocol level decides the answer's
form), and waiting for it is what the limit is there to spare. Refusals are counted and logged
at most once every 10 s. See docs/decisions/0018.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from collections.abc import Callable

from shugu.domain.client_address import AddressCounts, address_key
from shugu.domain.errors import ShuguError
from shugu.domain.logthrottle import ThrottledLog
from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.connection import (
    RC_NOT_AUTHORIZED,
    RC_TAKEN_OVER,
    MqttApplication,
    MqttConnection,
)
from shugu.ingest.mqtt.session import Session, SessionHome

log = logging.getLogger(__name__)

#: How long a caller in another thread waits for the event loop to close a device's connections.
DISCONNECT_WAIT_S = 10.0
#: How often open sessions' credentials are re-checked against the registry.
REVALIDATE_S = 5.0

#: Access tokens → id of the live device each belongs to (unknown or revoked tokens absent).
TokenCheck = Callable[[list[str]], dict[str, int]]


class MqttEndpoint:
    def __init__(
        self,
        app: MqttApplication,
        *,
        max_packet_bytes: int,
        max_inflight: int = 1000,
        connect_timeout_s: float = 10.0,
        congested: Callable[[], bool] = lambda: False,
        revalidate: TokenCheck | None = None,
        revalidate_s: float = REVALIDATE_S,
        max_connections_per_address: int = 0,
    ) -> None:
        if max_connections_per_address < 0:
            raise ValueError("the connections per address cannot be negative (0: no limit)")
        self.app = app
        #: True while the store cannot keep up: connections then hold back (see connection.py).
        self.congested = congested
        self.max_packet_bytes = max_packet_bytes
        self.max_inflight = max_inflight
        self.connect_timeout_s = connect_timeout_s
        self.connections: set[MqttConnection] = set()
        #: Open connections per client address, under --mqtt-max-connections-per-address.
        self.per_address = AddressCounts(max_connections_per_address)
        self._cap_log = ThrottledLog(log)
        #: (device id, client id) → session; a device can never resume another's session.
        self._sessions: dict[tuple[int, str], Session] = {}
        self._holders: dict[tuple[int, str], MqttConnection] = {}
        self._servers: list[asyncio.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Connections that were authenticating when a device was cut off → those device ids.
        self._revoked_while_connecting: weakref.WeakKeyDictionary[MqttConnection, set[int]] = (
            weakref.WeakKeyDictionary()
        )
        self._revalidate = revalidate
        self.revalidate_s = revalidate_s
        self._revalidator: asyncio.Task[None] | None = None
        #: Whether the last re-check failed (logged once when it fails, once when it recovers).
        self._revalidation_failing = False
        #: Called with (device id, client id) when a connection takes a session: with
        #: ``--workers``, main then closes the client's connection held by another process.
        self.on_session_taken: Callable[[int, str], None] | None = None
        #: With ``--workers``: where sessions are kept between connections (main's keeper).
        self.session_home: SessionHome | None = None

    async def start(
        self, host: str, port: int, tls: ssl.SSLContext | None = None, *, shared: bool = False
    ) -> int:
        """Listen on host:port (port 0 picks a free one); returns the port. ``shared``: with
        SO_REUSEPORT, so that the front processes of ``--workers`` listen on it too and the
        kernel spreads new connections among them."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        server = await loop.create_server(
            lambda: MqttConnection(self),
            host,
            port,
            ssl=tls,
            reuse_address=True,
            reuse_port=shared or None,
            backlog=4096,
        )
        self._servers.append(server)
        if self._revalidate is not None and self._revalidator is None:
            self._revalidator = loop.create_task(self._revalidate_periodically())
        bound = int(server.sockets[0].getsockname()[1])
        log.info("MQTT endpoint listening on %s:%d%s", host, bound, " (TLS)" if tls else "")
        return bound

    async def stop(self) -> None:
        if self._revalidator is not None:
            self._revalidator.cancel()
            self._revalidator = None
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    # -- connections per address

    def admit(self, peer: object) -> str | None:
        """Count a new connection from ``peer`` (its transport's peername); returns the key it
        is counted under, "" when it has no address to count, or None when it is over the
        limit and must be closed."""
        if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
            return ""
        key = address_key(peer[0])
        if not self.per_address.admit(key):
            self._cap_log.warning(
                "MQTT connection from %s refused: it holds %d connections, the limit "
                "(--mqtt-max-connections-per-address); %d refused so far",
                key,
                self.per_address.held(key),
                self.per_address.refused,
            )
            return None
        return key

    def release_address(self, key: str) -> None:
        self.per_address.release(key)

    @property
    def max_connections_per_address(self) -> int:
        """Open connections one client address may hold (0: no limit)."""
        return self.per_address.limit

    @max_connections_per_address.setter
    def max_connections_per_address(self, limit: int) -> None:
        self.per_address.limit = limit

    @property
    def refused_over_cap(self) -> int:
        """Connections closed at once for being over the per-address limit."""
        return self.per_address.refused

    def take_session(
        self, conn: MqttConnection, device_id: int, client_id: str, clean_start: bool
    ) -> tuple[Session, bool]:
        """The connection's session, taking it over from an earlier connection of the client."""
        revoked = self._revoked_while_connecting.pop(conn, None)
        if revoked is not None and device_id in revoked:
            # Its CONNECT was checked against credentials revoked meanwhile: refuse it right
            # after the CONNACK it is about to get (a DISCONNECT may not come before one).
            asyncio.get_running_loop().call_soon(
                self._cut_off, conn, "the device's credentials were revoked while it connected"
            )
        key = (device_id, client_id)
        holder = self._holders.get(key)
        if holder is not None and holder is not conn:
            holder.close(RC_TAKEN_OVER)
        self._holders[key] = conn
        if self.on_session_taken is not None:
            self.on_session_taken(device_id, client_id)
        existing = self._sessions.get(key)
        if existing is not None and not clean_start:
            return existing, True
        session = Session(device_id, client_id)
        if clean_start:
            self._sessions.pop(key, None)
        else:
            self._sessions[key] = session
        return session, False

    @property
    def sessions(self) -> dict[tuple[int, str], Session]:
        """The sessions this process keeps for clients not connected here (main's, with
        ``--workers``, are every process's)."""
        return self._sessions

    async def resume(self, device_id: int, client_id: str, clean_start: bool) -> None:
        """Bring the client's session from its keeper before the connection takes it."""
        if self.session_home is None:
            return
        fetched = await self.session_home.fetch(device_id, client_id, clean_start)
        if fetched is not None and not clean_start:
            self._sessions[(device_id, client_id)] = fetched

    def close_holder(self, device_id: int, client_id: str) -> None:
        """The client connected again to another process: close its connection here (MQTT
        takeover, reason 0x8E to an MQTT 5 client)."""
        holder = self._holders.get((device_id, client_id))
        if holder is not None:
            holder.close(RC_TAKEN_OVER)

    def release(self, conn: MqttConnection) -> None:
        assert conn.session is not None
        key = (conn.session.device_id, conn.session.client_id)
        if self._holders.get(key) is conn:
            del self._holders[key]
            home = self.session_home
            # Only the last holder's persistent session, and only if not forgotten meanwhile
            # (a revocation drops it).
            if home is not None and self._sessions.get(key) is conn.session:
                home.give_back(self._sessions.pop(key))

    # -- revocation

    def disconnect_device(self, device_id: int, reason: str) -> int:
        """Close every live connection of a device and forget its sessions; returns how many
        connections were closed. Safe from any thread: from outside the endpoint's event loop
        it waits until the loop has done it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return 0
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return self._disconnect_now(device_id, reason)

        async def on_loop() -> int:
            return self._disconnect_now(device_id, reason)

        work = on_loop()
        try:
            future = asyncio.run_coroutine_threadsafe(work, loop)
        except RuntimeError:  # the loop closed meanwhile: there is nothing left to close
            work.close()
            return 0
        return future.result(timeout=DISCONNECT_WAIT_S)

    async def _revalidate_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.revalidate_s)
            await self.revalidate_sessions()

    async def revalidate_sessions(self) -> int:
        """Cut off every open session whose access token no longer names its device; returns
        how many connections were closed. While the registry cannot be asked, sessions stay."""
        check = self._revalidate
        live = [c for c in self.connections if c.device is not None and c.credential is not None]
        if check is None or not live:
            return 0
        tokens = sorted({c.credential for c in live if c.credential is not None})
        try:
            valid = await asyncio.to_thread(check, tokens)
        except ShuguError as exc:
            if not self._revalidation_failing:
                log.warning("cannot re-check MQTT sessions' credentials: %s", exc.message)
            self._revalidation_failing = True
            return 0
        if self._revalidation_failing:
            log.info("MQTT sessions' credentials can be re-checked again")
            self._revalidation_failing = False
        closed = 0
        for conn in live:
            device = conn.device
            if device is None or conn not in self.connections:
                continue  # gone meanwhile
            if conn.credential is not None and valid.get(conn.credential) == device.id:
                continue
            # Only this connection and its stored session: the device may already be back with
            # its new token on another connection.
            if conn.session is not None:
                self._sessions.pop((device.id, conn.session.client_id), None)
            self._cut_off(conn, "the device's credentials were revoked")
            closed += 1
        if closed:
            log.info("%d MQTT connection(s) closed: their credentials were revoked", closed)
        return closed

    def _disconnect_now(self, device_id: int, reason: str) -> int:
        closed = 0
        for conn in list(self.connections):
            if conn.device is not None:
                if conn.device.id == device_id:
                    self._cut_off(conn, reason)
                    closed += 1
            elif conn.session is None:
                # Not yet authenticated: its CONNECT may be checked against the old credentials
                # right now; take_session refuses it if it turns out to be this device.
                self._revoked_while_connecting.setdefault(conn, set()).add(device_id)
        for key in [k for k in self._sessions if k[0] == device_id]:
            del self._sessions[key]
        if closed:
            log.info(
                "device %d cut off (%s): %d MQTT connection(s) closed", device_id, reason, closed
            )
        return closed

    @staticmethod
    def _cut_off(conn: MqttConnection, reason: str) -> None:
        if conn.level == codec.MQTT_5 and conn.session is not None:
            conn.write(codec.disconnect(codec.MQTT_5, RC_NOT_AUTHORIZED, reason))
        conn.close()
