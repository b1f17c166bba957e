"""The HTTP server (uvicorn with httptools), with the connection limits uvicorn lacks.

uvicorn bounds how long an idle keep-alive connection stays open, but not how long a client may
take to send a request's head: a connection that sends one header byte every few seconds stays
open for good, and a few hundred of them hold the process's sockets and memory. Here every
connection is served by a subclass of uvicorn's httptools protocol that

- closes a connection whose request head (request line and headers) is not complete within
  ``header_timeout_s`` of its first byte (of the connection's opening, for the first request),
  answering 408 when part of a head had arrived;
- answers 431 and closes a connection whose request head grows beyond ``max_head_bytes`` before
  it is complete (the parser keeps a head whole in memory until then);
- admits at most ``max_connections_per_address`` open connections from one client address (an
  IPv6 client by its /64 network, which one host usually holds whole); beyond it a new
  connection is answered 503 with Retry-After and closed, before anything is read. A connection
  waiting on a long poll of the device API (``GET /api/v1/{token}/rpc``,
  ``.../attributes/updates``, no body) is not counted while it waits: the device API bounds
  those itself (one per device and kind), and a factory's devices behind one NAT address hold
  two each for minutes.

The refusals are counted and logged, at most one line per kind every 10 s. ``serve`` and
``demo`` make their server with :func:`build_server` and run it themselves (each has its own
stop handling). See docs/decisions/0018.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shugu.domain.client_address import AddressCounts, address_key
from shugu.domain.logthrottle import ThrottledLog

log = logging.getLogger(__name__)


def _answer(status: bytes, code: str, message: str, extra_headers: bytes = b"") -> bytes:
    """A whole HTTP/1.1 answer with the API's error body, ending the connection."""
    body = b'{"error": {"code": "%s", "message": "%s"}}' % (code.encode(), message.encode())
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra_headers
        + b"connection: close\r\n"
        b"\r\n" + body
    )


_HEAD_TOO_LARGE_ANSWER = _answer(
    b"431 Request Header Fields Too Large",
    "request_header_too_large",
    "the request line and headers are too large; send smaller headers",
)
#: Seconds a client over the per-address limit is asked to wait before trying again.
RETRY_AFTER_S = 5
_OVER_CAP_ANSWER = _answer(
    b"503 Service Unavailable",
    "too_many_connections",
    "this address holds too many open connections; close some or retry later",
    b"retry-after: %d\r\n" % RETRY_AFTER_S,
)
#: The device API's long polls (ThingsBoard's HTTP RPC and shared-attribute subscriptions).
#: Held open by design: a device's long polls, and the console's live stream (server-sent
#: events; it needs a signed-in session, so only people the platform knows hold one).
_LONG_POLL_PATH = re.compile(r"/api/v1/[^/]+/(?:rpc|attributes/updates)|/live")

_HEAD_TIMEOUT_BODY = (
    b'{"error": {"code": "request_header_timeout", "message": '
    b'"the request line and headers did not arrive in time; send them at once"}}'
)
_HEAD_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_HEAD_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n"
    b"\r\n" + _HEAD_TIMEOUT_BODY
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    #: Seconds a client has to send a request's line and headers.
    header_timeout_s: float = 10.0
    #: Open connections one client address may hold; 0: no limit (behind a proxy that limits).
    #: Connections waiting on a device long poll are not counted.
    max_connections_per_address: int = 256
    #: Bytes a request's line and headers may take (Node's and nginx's defaults are near this).
    max_head_bytes: int = 64 * 1024
    #: Seconds an idle keep-alive connection stays open between requests.
    keepalive_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.header_timeout_s <= 0 or self.keepalive_timeout_s <= 0:
            raise ValueError("the HTTP header and keep-alive timeouts must be positive")
        if self.max_connections_per_address < 0:
            raise ValueError("the connections per address cannot be negative (0: no limit)")
        if self.max_head_bytes < 1024:
            raise ValueError("the request head limit must be at least 1024 bytes")


class ConnectionGuard:
    """The limits and the open connections per address of one server (its event loop only)."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.per_address = AddressCounts(limits.max_connections_per_address)
        #: Connections closed because their request head was not complete in time.
        self.head_timeouts = 0
        #: Connections closed because their request head was too large.
        self.heads_too_large = 0
        self._refusal_log = ThrottledLog(log)
        self._timeout_log = ThrottledLog(log)
        self._size_log = ThrottledLog(log)

    @property
    def refused(self) -> int:
        """Connections refused at once for being over the per-address limit."""
        return self.per_address.refused

    def admit(self, key: str) -> bool:
        if self.per_address.admit(key):
            return True
        self._refusal_log.warning(
            "HTTP connection from %s refused (503): it holds %d connections, the limit "
            "(--http-max-connections-per-address); %d refused so far",
            key,
            self.per_address.held(key),
            self.per_address.refused,
        )
        return False

    def hold(self, key: str) -> None:
        """Count a connection again after a long poll, even over the limit: it is open already,
        and uvicorn's keep-alive timeout closes it if it stays idle."""
        self.per_address.hold(key)

    def release(self, key: str) -> None:
        self.per_address.release(key)

    def timed_out(self, key: str | None) -> None:
        self.head_timeouts += 1
        self._timeout_log.warning(
            "HTTP connection from %s closed: no complete request head within %g s "
            "(--http-header-timeout); %d so far",
            key or "an unknown address",
            self.limits.header_timeout_s,
            self.head_timeouts,
        )

    def too_large(self, key: str | None) -> None:
        self.heads_too_large += 1
        self._size_log.warning(
            "HTTP connection from %s closed: request head over %d bytes; %d so far",
            key or "an unknown address",
            self.limits.max_head_bytes,
            self.heads_too_large,
        )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under a :class:`ConnectionGuard` (see module doc).

    The head timer runs from the connection's opening, and again from the first byte after a
    request's body, until its head is complete; it does not run while the server works on a
    request and nothing arrives, so a slow answer is never cut off by it."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address_key: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._head_started = False
        self._head_bytes = 0
        #: Whether this connection holds a place in its address's count now (not while it waits
        #: on a long poll).
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.client is not None:
            key = address_key(self.client[0])
            if not self.guard.admit(key):
                transport.write(_OVER_CAP_ANSWER)
                transport.close()
                return
            self._address_key = key
            self._counted = True
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address_key is not None and self._counted:
            self.guard.release(self._address_key)
        self._address_key = None
        self._counted = False
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head and data:
            self._head_started = True
            self._head_bytes += len(data)
            self._arm()
        super().data_received(data)
        # Checked after parsing, when the parser has said whether the head ended in this chunk:
        # the chunk may carry a body after a small head. The head held is at most the limit plus
        # one read.
        if (
            self._awaiting_head
            and self._head_bytes > self.guard.limits.max_head_bytes
            and not self.transport.is_closing()
        ):
            self.guard.too_large(self._address_key)
            self._disarm()
            self.transport.write(_HEAD_TOO_LARGE_ANSWER)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_started = True
        self._arm()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_started = False
        self._head_bytes = 0
        self._disarm()
        super().on_headers_complete()
        if self._counted and self._address_key is not None and self._is_long_poll():
            self.guard.release(self._address_key)
            self._counted = False

    def _is_long_poll(self) -> bool:
        """A bodiless device long poll that is being served now (not queued behind another)."""
        scope = self.scope
        if scope.get("method") != "GET" or self.pipeline:
            return False
        if not _LONG_POLL_PATH.fullmatch(str(scope.get("path", ""))):
            return False
        for name, value in scope.get("headers", ()):
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                return False
        return True

    def on_response_complete(self) -> None:
        if not self._counted and self._address_key is not None:
            self.guard.hold(self._address_key)
            self._counted = True
        super().on_response_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next bytes begin the next request's head; until they come, uvicorn's keep-alive
        # timer bounds the idle connection once the answer is out.
        self._awaiting_head = True

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.guard.limits.header_timeout_s, self._head_timed_out
            )

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The head of a pipelined request is late while the one before is still being
            # answered: let that answer finish first.
            self._arm()
            return
        self.guard.timed_out(self._address_key)
        if self._head_started:
            self.transport.write(_HEAD_TIMEOUT_ANSWER)
        self.transport.close()


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedHttpToolsProtocol]:
    """The protocol class of one server: uvicorn instantiates it per connection."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"guard": guard})


def build_server(
    app: Any,
    *,
    host: str,
    port: int,
    limits: HttpLimits,
    log_level: str = "info",
    access_log: bool = False,
    timeout_graceful_shutdown: int | None = None,
) -> tuple[uvicorn.Server, ConnectionGuard]:
    guard = ConnectionGuard(limits)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        loop="uvloop",
        http=guarded_protocol(guard),
        # No route speaks WebSocket; an upgrade would also move the connection out of the
        # guard's count.
        ws="none",
        timeout_keep_alive=max(1, round(limits.keepalive_timeout_s)),
        timeout_graceful_shutdown=timeout_graceful_shutdown,
    )
    return uvicorn.Server(config), guard
