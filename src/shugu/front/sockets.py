"""Listening sockets shared by the processes of ``shugu serve --workers N``.

Every process binds the same TCP port with SO_REUSEPORT, and the kernel spreads new
connections among them. Main also listens on a Unix socket in the data directory (mode 0600,
set before listen() so that nobody can connect earlier) for what the fronts pass on.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from shugu.store.datadir import listen_private

BACKLOG = 4096


def shared_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that other processes may bind too."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def unix_listener(path: Path) -> socket.socket:
    """A listening Unix socket at ``path`` for its owner only (one left by a killed process is
    replaced)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return listen_private(path, BACKLOG)
