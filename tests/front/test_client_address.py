"""Main believes a front's ``x-shugu-client`` header only on its Unix socket."""

from __future__ import annotations

import asyncio
from typing import Any

from shugu.api.front_app import FrontClientAddress


def _seen(server: tuple[str, int | None], headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http",
        "server": server,
        "client": ("10.1.2.3", 5000) if server[1] is not None else None,
        "headers": headers,
    }
    asyncio.run(FrontClientAddress(app)(scope, None, None))  # type: ignore[arg-type]
    return seen


def test_over_the_unix_socket_the_header_names_the_client() -> None:
    seen = _seen(("/data/http.sock", None), [(b"x-shugu-client", b"192.0.2.7:4321")])
    assert seen["client"] == ("192.0.2.7", 4321)
    assert seen["headers"] == []
    v6 = _seen(("/data/http.sock", None), [(b"x-shugu-client", b"2001:db8::1:80")])
    assert v6["client"] == ("2001:db8::1", 80)


def test_over_tcp_the_header_is_dropped_and_not_believed() -> None:
    seen = _seen(("127.0.0.1", 8080), [(b"x-shugu-client", b"192.0.2.7:4321"), (b"a", b"b")])
    assert seen["client"] == ("10.1.2.3", 5000)
    assert seen["headers"] == [(b"a", b"b")]
