"""Small helpers every benchmark uses."""

from __future__ import annotations

import socket
import sys


def say(log: bool, *parts: object) -> None:
    """Progress on stderr, so that --json output stays clean."""
    if log:
        print("  ·", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
