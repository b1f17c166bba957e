"""The HTTP application of a front process (``shugu serve --workers N``) and main's side of it.

A front listens on main's HTTP port (SO_REUSEPORT), so any request may land on it. It takes
the two ingest routes itself, through its own ingest door, exactly as main's routes do
(`api/device_routes.py`): ``POST /api/v1/{token}/telemetry`` and ``POST /api/v1/batch``.
Everything else (the console, the query API, the device API's long polls and attributes, which
need main's RPC hub and store) is passed to main over its Unix-socket HTTP listener
(``<data>/http.sock``, mode 0600), streamed both ways, with the client's address in
``x-shugu-client``. Main believes that header only on the Unix socket (``FrontClientAddress``),
so the sign-in guard and the per-address limits see the real client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.types import ASGIApp, Receive, Scope, Send

from shugu.api.body_limit import BodyLimit
from shugu.api.device_routes import DeviceIngest, ingest_batch, ingest_device_telemetry
from shugu.api.errors import install_error_handlers
from shugu.api.unix_http import UnixTransport

#: Main's HTTP listener for the fronts, in the data directory.
MAIN_HTTP_SOCKET = "http.sock"
#: The client's address as a front saw it, believed only from the Unix socket.
CLIENT_HEADER = b"x-shugu-client"
#: Not passed on by a proxy (RFC 9110 §7.6.1), plus the front's own header.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        CLIENT_HEADER,
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: An idle connection to main is dropped well before main's keep-alive (at least 1 s) closes it,
#: so that a request is seldom written into a connection main is closing at that moment.
_IDLE_EXPIRY_S = 0.5
#: httpx's own bounds for a client's pool.
_MAX_CONNECTIONS = 100
_MAX_IDLE_CONNECTIONS = 20


def main_http_socket(data_dir: Path) -> Path:
    return data_dir / MAIN_HTTP_SOCKET


class FrontClientAddress:
    """Main's side: a request that came over the Unix socket carries its client's address in
    ``x-shugu-client``; from anywhere else the header is dropped, never believed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server = scope.get("server")
            over_unix_socket = server is not None and server[1] is None
            kept = []
            client = None
            for name, value in scope["headers"]:
                if name == CLIENT_HEADER:
                    client = value
                else:
                    kept.append((name, value))
            if client is not None:
                scope = dict(scope, headers=kept)
                if over_unix_socket:
                    host, _, port = client.decode("latin-1").rpartition(":")
                    scope["client"] = (host.strip("[]"), int(port) if port.isdigit() else 0)
        await self.app(scope, receive, send)


def build_front_app(
    parts: DeviceIngest, data_dir: Path, passed: Callable[[], None] = lambda: None
) -> FastAPI:
    """The front's application over its ingest ``parts``, passing the rest to main (and
    calling ``passed`` for each request it passed on)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=parts.settings.max_payload_bytes)
    main = main_client(data_dir)

    @app.post("/api/v1/batch")
    async def batch(request: Request) -> Response:
        return await ingest_batch(parts, request)

    @app.post("/api/v1/{token}/telemetry")
    async def telemetry(token: str, request: Request) -> Response:
        return await ingest_device_telemetry(parts, token, request)

    @app.api_route("/{path:path}", methods=_METHODS)
    async def to_main(path: str, request: Request) -> Response:
        passed()
        return await pass_to_main(main, request)

    app.state.main_client = main
    return app


def main_client(data_dir: Path, idle_expiry_s: float = _IDLE_EXPIRY_S) -> httpx.AsyncClient:
    """The front's pool of connections to main's Unix-socket HTTP listener."""
    # The limits go to the transport: a client given a transport does not pass its own on.
    limits = httpx.Limits(
        max_connections=_MAX_CONNECTIONS,
        max_keepalive_connections=_MAX_IDLE_CONNECTIONS,
        keepalive_expiry=idle_expiry_s,
    )
    transport = UnixTransport(str(main_http_socket(data_dir)), limits)
    return httpx.AsyncClient(
        transport=transport,
        # No read timeout: long polls and the console's live stream stay open by design.
        timeout=httpx.Timeout(None, connect=5.0),
    )


async def pass_to_main(main: httpx.AsyncClient, request: Request) -> Response:
    """Stream ``request`` to main and main's answer back; 503 when main does not answer.

    A request without a body (GET, HEAD) is sent once more on a new connection when the first
    failed in transport: main may close a kept-alive connection just as the front reuses it.
    A request with a body is never sent twice, its body being a stream read once."""
    headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _HOP_BY_HOP]
    if request.client is not None:
        headers.append((CLIENT_HEADER, f"{request.client.host}:{request.client.port}".encode()))
    body: AsyncIterator[bytes] | None = None
    if request.method not in ("GET", "HEAD") or "content-length" in request.headers:
        body = request.stream()
    target = httpx.URL(
        scheme="http",
        host="main",
        path=request.url.path,
        query=request.url.query.encode("latin-1"),
    )
    answer = await _send(main, request.method, target, headers, body)
    if answer is None:
        return Response(
            b'{"error": {"code": "store_unavailable", "message": '
            b'"the main process does not answer; retry shortly"}}',
            status_code=503,
            media_type="application/json",
            headers={"retry-after": "1"},
        )
    response = StreamingResponse(
        answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
    )
    # Every header as main sent it, repeated ones (Set-Cookie) too.
    response.raw_headers = [(k, v) for k, v in answer.headers.raw if k.lower() not in _HOP_BY_HOP]
    return response


async def _send(
    main: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    headers: list[tuple[bytes, bytes]],
    body: AsyncIterator[bytes] | None,
) -> httpx.Response | None:
    """Main's answer, or None when main did not answer."""
    attempts = 2 if body is None else 1
    for attempt in range(1, attempts + 1):
        outgoing = main.build_request(method, target, headers=headers, content=body)
        try:
            return await main.send(outgoing, stream=True)
        except httpx.TransportError:
            if attempt == attempts:
                return None
        except httpx.HTTPError:
            return None
    return None
