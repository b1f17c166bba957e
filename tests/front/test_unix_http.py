"""The front's connections to main's Unix socket (`api/unix_http.py`), on uvloop as the front
runs: a streamed answer cancelled just as main writes more of it leaves the event loop nothing to
complain about; an idle connection is kept as long as the front says, and one main closed while
idle is not used again.

Main's side is mostly a raw Unix socket here, so that a test decides to the byte, and to the
loop pass, what main sends when; the last test runs real servers with browsers going away.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import uvloop
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from shugu.api.front_app import main_client, main_http_socket, pass_to_main

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nmain"
#: Loop passes for a task to reach its next wait on a socket (a few are plenty).
PASSES = 20


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def passes(count: int = PASSES) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


class RawMain:
    """Main's Unix socket, accepting and reading requests by hand."""

    def __init__(self, data: Path) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(main_http_socket(data)))
        self.listener.listen()
        self.listener.setblocking(False)
        self.connections: list[socket.socket] = []

    async def accept(self) -> socket.socket:
        conn, _ = await asyncio.get_running_loop().sock_accept(self.listener)
        self.connections.append(conn)
        return conn

    async def request(self, conn: socket.socket) -> bytes:
        """One request without a body, as a GET comes."""
        loop = asyncio.get_running_loop()
        head = b""
        while b"\r\n\r\n" not in head:
            part = await loop.sock_recv(conn, 4096)
            assert part, "the front closed the connection mid-request"
            head += part
        return head

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.listener.close()


def stream_cancelled_as_main_writes(data: Path) -> list[dict[str, Any]]:
    """On uvloop: a streamed answer from main, cancelled as main writes its next part; what
    reached the loop's exception handler."""
    reported: list[dict[str, Any]] = []

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, c: reported.append(c))
        main = RawMain(data)
        client = main_client(data)
        got: list[bytes] = []
        first = asyncio.Event()

        async def read_stream() -> None:
            async with client.stream("GET", "http://main/api/live") as answer:
                async for part in answer.aiter_raw():
                    got.append(part)
                    first.set()

        reading = asyncio.create_task(read_stream())
        try:
            conn = await main.accept()
            await main.request(conn)
            conn.sendall(HEAD + chunk(b"data: 1\n\n"))
            await first.wait()
            await passes()  # the stream waits on the socket for its next part
            # As starlette does when the browser goes away: the body is cancelled, here in
            # the same loop pass as main's next part arrives.
            conn.sendall(chunk(b"data: 2\n\n"))
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            await passes()
        finally:
            await client.aclose()
            main.close()
        assert reading.cancelled()
        assert got == [b"data: 1\n\n"]

    uvloop.run(run())
    return reported


def test_a_stream_cancelled_as_main_writes_reports_nothing_to_the_loop(tmp_path: Path) -> None:
    reported = stream_cancelled_as_main_writes(tmp_path)
    assert [(c["message"], repr(c.get("exception"))) for c in reported] == []


class KeepingMain:
    """Main answering every request on a connection it keeps alive, or closes once idle
    (``close_when_idle``); counts the connections it accepted."""

    def __init__(self, close_when_idle: bool) -> None:
        self.close_when_idle = close_when_idle
        self.connections = 0
        self.answered = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(ANSWER)
                await writer.drain()
                self.answered += 1
                if self.close_when_idle:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def connections_for_two_gets(data: Path, idle_expiry_s: float, close_when_idle: bool) -> int:
    """Two GETs one after the other through the front's client; main's connections."""
    data.mkdir(exist_ok=True)
    main = KeepingMain(close_when_idle)

    async def run() -> None:
        server = await asyncio.start_unix_server(main.serve, path=str(main_http_socket(data)))
        client = main_client(data, idle_expiry_s)
        try:
            for _ in range(2):
                assert (await client.get("http://main/api/health")).text == "main"
                await passes()  # main's close, if it closes, reaches the front
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    uvloop.run(run())
    assert main.answered == 2
    return main.connections


def test_an_idle_connection_is_kept_as_long_as_the_front_says(tmp_path: Path) -> None:
    assert connections_for_two_gets(tmp_path / "kept", 60.0, close_when_idle=False) == 1
    assert connections_for_two_gets(tmp_path / "expired", 0.0, close_when_idle=False) == 2


def test_a_connection_main_closed_while_idle_is_not_used_again(tmp_path: Path) -> None:
    # Sent into the closed connection, the second GET would fail: the front's client (unlike
    # pass_to_main) does not send it again.
    assert connections_for_two_gets(tmp_path, 60.0, close_when_idle=True) == 2


#: Browsers that each open main's stream through the front and drop it at once, this many times.
BROWSERS = 4
DROPS = 50


def _fast_main() -> FastAPI:
    """Main with a stream that never pauses long: a browser's drop usually meets a write."""
    app = FastAPI()

    @app.get("/live")
    async def live() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            while True:
                yield b"data: 1\n\n"
                await asyncio.sleep(0.0005)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def _front(client: httpx.AsyncClient) -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def to_main(path: str, request: Request) -> Response:
        return await pass_to_main(client, request)

    return app


def _drop_streams(port: int) -> None:
    """Browsers opening the stream, reading its first events and going away (a reset)."""

    def browser() -> None:
        for _ in range(DROPS):
            # A bound on waiting, so that a front that never answers fails the test, not hangs it.
            with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
                conn.sendall(b"GET /live HTTP/1.1\r\nhost: front\r\n\r\n")
                got = b""
                while got.count(b"data:") < 2:
                    part = conn.recv(65536)
                    assert part, "the front closed the stream"
                    got += part
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    browsers = [threading.Thread(target=browser) for _ in range(BROWSERS)]
    for each in browsers:
        each.start()
    for each in browsers:
        each.join()


def test_streams_dropped_by_browsers_report_nothing_to_the_front_loop(tmp_path: Path) -> None:
    """Real uvicorn servers on uvloop: starlette cancels a streamed answer whose browser went
    away, now and then as main writes its next event (with httpx's own Unix-socket transport,
    3 to 8 of the 200 drops reached the loop's exception handler, in every run)."""
    reported: list[dict[str, Any]] = []

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, c: reported.append(c))
        main = uvicorn.Server(
            uvicorn.Config(
                _fast_main(), uds=str(main_http_socket(tmp_path)), log_level="error", lifespan="off"
            )
        )
        client = main_client(tmp_path)
        front = uvicorn.Server(uvicorn.Config(_front(client), log_level="error", lifespan="off"))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        serving = [
            asyncio.create_task(main.serve()),
            asyncio.create_task(front.serve(sockets=[listener])),
        ]
        try:
            while not (main.started and front.started):
                assert not any(task.done() for task in serving), "a server did not start"
                await asyncio.sleep(0.01)
            await asyncio.to_thread(_drop_streams, listener.getsockname()[1])
        finally:
            main.should_exit = front.should_exit = True
            await asyncio.gather(*serving)
            await client.aclose()
            listener.close()

    uvloop.run(run())
    assert [(c["message"], repr(c.get("exception"))) for c in reported] == []
