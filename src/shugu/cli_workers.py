"""``--workers`` for the commands that serve devices (``shugu serve`` and ``shugu demo``).

Both serve through the same path: main binds the HTTP port with SO_REUSEPORT and listens on
``<data>/http.sock`` for what the fronts pass on, and tells the runtime the listener the fronts
share, before uvicorn starts on those sockets (decision 0056).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from shugu.api.front_app import main_http_socket
from shugu.api.http_server import HttpLimits
from shugu.config import Settings
from shugu.front.sockets import shared_listener, unix_listener
from shugu.runtime import Runtime


@dataclass
class SharedHttp:
    """Main's HTTP sockets under ``--workers N`` (none with one process)."""

    settings: Settings
    sockets: list[socket.socket] = field(default_factory=list)

    @property
    def for_server(self) -> list[socket.socket] | None:
        """What uvicorn listens on: these sockets, or None to bind the port itself."""
        return self.sockets or None

    def close(self) -> None:
        if not self.sockets:
            return
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
        main_http_socket(self.settings.data_dir).unlink(missing_ok=True)


def share_http(
    runtime: Runtime, host: str, port: int, limits: HttpLimits, log_level: str
) -> SharedHttp:
    """Bind main's HTTP sockets for the fronts when there are any, and give the runtime the
    listener they share; ``limits`` are this process's share of the node's (raises OSError
    when the port cannot be bound)."""
    settings = runtime.services.settings
    shared = SharedHttp(settings)
    if settings.workers <= 1:
        return shared
    shared.sockets.append(shared_listener(host, port))
    try:
        shared.sockets.append(unix_listener(main_http_socket(settings.data_dir)))
    except OSError:
        shared.close()
        raise
    runtime.front_http = {
        "host": host,
        "port": port,
        "header_timeout_s": limits.header_timeout_s,
        "max_connections_per_address": limits.max_connections_per_address,
        "log_level": log_level,
    }
    return shared
