"""``python -m shugu.cli_front ARGUMENT``: one front process of ``shugu serve --workers N``,
started and watched by main (`front/supervisor.py`), never by hand.

It runs `front/process.py` with the HTTP application of `api/front_app.py` on main's HTTP
port (shared with SO_REUSEPORT), so that HTTP ingest spreads over the processes as MQTT does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from shugu.api.front_app import build_front_app
from shugu.api.http_server import HttpLimits, build_server
from shugu.front.process import FrontParts, parse_front_argument, run_front
from shugu.front.sockets import shared_listener
from shugu.runtime import startup_heap_frozen


def http_starter(
    given: dict[str, Any],
) -> Callable[[FrontParts], Awaitable[Callable[[], Awaitable[None]]]]:
    """Starts uvicorn on the shared HTTP port inside the front's event loop."""

    async def start(parts: FrontParts) -> Callable[[], Awaitable[None]]:
        settings = parts.settings

        def passed() -> None:
            parts.passed_to_main += 1

        app = build_front_app(parts, settings.data_dir, passed)
        limits = HttpLimits(
            header_timeout_s=float(given["header_timeout_s"]),
            max_connections_per_address=int(given["max_connections_per_address"]),
        )
        server, _ = build_server(
            app,
            host=str(given["host"]),
            port=int(given["port"]),
            limits=limits,
            log_level=str(given.get("log_level", "warning")),
        )
        config = server.config
        config.lifespan = "off"
        config.load()
        server.lifespan = config.lifespan_class(config)
        sock = shared_listener(str(given["host"]), int(given["port"]))
        # startup/main_loop/shutdown rather than serve(): the front's own signal handlers stay.
        await server.startup(sockets=[sock])
        serving = asyncio.create_task(server.main_loop())

        async def stop() -> None:
            server.should_exit = True
            await serving
            await server.shutdown(sockets=[sock])
            await app.state.main_client.aclose()

        return stop

    return start


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m shugu.cli_front ARGUMENT (started by shugu serve)", file=sys.stderr)
        return 2
    settings, http = parse_front_argument(args[0])
    level = str((http or {}).get("log_level", "info")).upper()
    logging.basicConfig(
        level=level, format=f"%(asctime)s %(levelname)s front-{os.getpid()} %(name)s: %(message)s"
    )
    # One line per request passed to main would drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    starter = http_starter(http) if http is not None else None
    # As in main: the startup heap stays out of the collector's full passes (decision 0053),
    # and is thawed before exit, or DuckDB's bindings report its objects as leaked.
    with startup_heap_frozen(), contextlib.suppress(KeyboardInterrupt):
        return uvloop.run(run_front(settings, starter))
    return 0


if __name__ == "__main__":
    sys.exit(main())
