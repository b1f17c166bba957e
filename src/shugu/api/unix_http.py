"""The HTTP client transport a front passes requests to main with (`api/front_app.py`): HTTP/1.1
over main's Unix socket, each connection an asyncio stream (a transport with its protocol).

Why not httpx's own Unix-socket transport: it reads through anyio's raw-socket stream, which on
uvloop can make the event loop log ``InvalidStateError`` (decision 0063). anyio waits for the
socket to become readable by registering ``future.set_result`` as the socket's reader, and
removes that reader only in the future's done callback, which runs one loop pass later. When
the read is cancelled (starlette cancels a streamed answer whose browser went away) in the same
pass as main writes to the socket, uvloop calls the reader on the cancelled future. asyncio's
stream reader checks its waiter before waking it, so a cancelled read leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

#: What httpcore asks a stream for (``get_extra_info``) → the transport's name for it.
_TRANSPORT_INFO = {"client_addr": "sockname", "server_addr": "peername", "socket": "socket"}


class UnixStream(httpcore.AsyncNetworkStream):
    """One connection to main, with httpcore's errors for what goes wrong on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:  # before OSError, of which it is a kind
            raise httpcore.ReadTimeout(f"no answer from main within {timeout} s") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._writer.is_closing():
            # A closing transport drops what it is given; the request must fail instead.
            raise httpcore.WriteError("the connection to main is closed")
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"main took nothing within {timeout} s") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("main's Unix socket speaks plain HTTP, not TLS")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle kept-alive connection: anything arriving on it (main closed it,
            # or failed it) means it cannot carry another request. The transport has already
            # read from the socket, so the stream's state says so, not the socket's.
            return (
                self._reader.at_eof()
                or self._reader.exception() is not None
                or self._writer.is_closing()
            )
        name = _TRANSPORT_INFO.get(info)
        return None if name is None else self._writer.get_extra_info(name)


class UnixBackend(httpcore.AnyIOBackend):
    """httpcore's anyio backend (TCP, sleeping) with Unix-socket connections as asyncio
    streams."""

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[Any, ...]] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(
                f"main's socket did not answer within {timeout} s"
            ) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return UnixStream(reader, writer)


class UnixTransport(httpx.AsyncHTTPTransport):
    """httpx's transport to the Unix socket at ``path``, its connections `UnixStream`s, kept
    idle as ``limits`` say."""

    def __init__(self, path: str, limits: httpx.Limits) -> None:
        super().__init__(uds=path, limits=limits)
        # httpx takes no network backend; its pool is replaced by the same pool with ours.
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            uds=path,
            network_backend=UnixBackend(),
        )
