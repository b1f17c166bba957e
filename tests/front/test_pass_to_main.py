"""A front passes requests to main over main's Unix socket; a kept-alive connection main closes
while a request is on its way costs a GET nothing and a POST a 503, never a request sent twice.

Main's side here is a small HTTP/1.1 server on the Unix socket that does what uvicorn does when
its keep-alive runs out just as a request arrives: it reads the request on a connection it kept
alive, then closes that connection without an answer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shugu.api.front_app import main_client, main_http_socket, pass_to_main

#: The front's pool keeps connections this long here, so that every second request meets the
#: connection of the first however slowly the machine runs (the front's own expiry is shorter).
KEPT = 60.0


class ClosingMain:
    """Answers the first request of each connection, keeps it alive, and drops the connection
    on its second request, unanswered. Counts every request it read, by method."""

    def __init__(self) -> None:
        self.read: list[str] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for turn in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                method = head.split(b" ", 1)[0].decode()
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                self.read.append(method)
                if turn == 1:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nmain")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def _front(client: httpx.AsyncClient) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def to_main(path: str, request: Request) -> Response:
        return await pass_to_main(client, request)

    return app


async def _exchange(data: Path) -> tuple[list[int], list[int], list[str]]:
    main = ClosingMain()
    server = await asyncio.start_unix_server(main.serve, path=str(main_http_socket(data)))
    client = main_client(data, KEPT)
    front = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_front(client)), base_url="http://f"
    )
    try:
        gets = [(await front.get("/api/health")).status_code for _ in range(3)]
        # A fresh connection for the POSTs: the first POST opens it, the second meets the close.
        await client.aclose()
        client2 = main_client(data, KEPT)
        front2 = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_front(client2)), base_url="http://f"
        )
        posts = [(await front2.post("/api/x", content=b"{}")).status_code for _ in range(2)]
        await front2.aclose()
        await client2.aclose()
    finally:
        await front.aclose()
        server.close()
        await server.wait_closed()
    return gets, posts, main.read


def test_a_get_meets_a_closing_connection_and_is_sent_again_a_post_is_not(
    tmp_path: Path,
) -> None:
    gets, posts, read = asyncio.run(_exchange(tmp_path))
    # The second and third GETs each went into a connection main closed, and were sent again on
    # a new one: five reads for three answers.
    assert gets == [200, 200, 200]
    assert read.count("GET") == 5
    # The second POST met the same close: its body was a stream read once, so it is not sent
    # again, and the sender is told to retry.
    assert posts == [200, 503]
    assert read.count("POST") == 2
