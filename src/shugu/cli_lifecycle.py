"""Starting and stopping `shugu serve` and `shugu demo` the way a person at a terminal expects.

Before anything is opened, every port the command will listen on is tried: a port another
program holds (a Debian Mosquitto on 1883, say) is refused in one line that names the port and
the option that changes it, instead of a traceback from deep inside the server after the stores
were opened. And the moment a stop is asked for (Ctrl-C, SIGTERM) the command says so, and the
caller's own stop (the demo's simulator) starts at once, beside the server's shutdown.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from shugu.domain.errors import ConflictError

#: How often the stop watcher looks whether the server was asked to stop.
_WATCH_S = 0.1
#: Seconds requests in flight get to finish on a stop (a long poll is cut, an unanswered
#: upload is sent again by its client: nothing acknowledged depends on them).
STOP_GRACE_S = 3


class PortUnavailable(ConflictError):
    code = "port_in_use"


@dataclass(frozen=True, slots=True)
class Listener:
    """A port the command will listen on, and how its user chooses another one."""

    what: str
    host: str
    port: int
    #: The option (and, for make targets, the variable) that changes the port.
    option: str


def check_ports(listeners: Sequence[Listener], wait_s: float = 0.0) -> None:
    """Raise PortUnavailable, naming the port and how to change it, for the first listener
    that cannot listen: the port is taken, privileged, or given twice. A port in use is tried
    again for up to ``wait_s`` seconds (the front processes of a main process that was killed
    let go of its ports as soon as they notice, a moment later)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            _check_ports(listeners)
            return
        except PortUnavailable as exc:
            if "already in use" not in exc.message or time.monotonic() >= deadline:
                raise
        time.sleep(_WATCH_S)


def _check_ports(listeners: Sequence[Listener]) -> None:
    seen: dict[int, Listener] = {}
    for listener in listeners:
        earlier = seen.get(listener.port)
        if earlier is not None:
            raise PortUnavailable(
                f"port {listener.port} is given for both {earlier.what} and {listener.what}; "
                f"choose another with {listener.option}",
                field=listener.option,
            )
        seen[listener.port] = listener
        _try_listening(listener)


def _try_listening(listener: Listener) -> None:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listener.host, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise PortUnavailable(
            f"cannot listen for {listener.what} on {listener.host!r}: the address does not "
            f"resolve ({exc})",
            field=listener.option,
        ) from None
    with socket.socket(family, kind, proto) as probe:
        # As the servers themselves do, so that connections closing (TIME_WAIT) do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            raise PortUnavailable(_why(listener, exc), field=listener.option) from None


def _why(listener: Listener, exc: OSError) -> str:
    where = f"port {listener.port} ({listener.what}) on {listener.host}"
    if exc.errno == errno.EADDRINUSE:
        reason = "is already in use by another program"
    elif exc.errno == errno.EACCES:
        reason = "needs privileges this account lacks"
    elif exc.errno == errno.EADDRNOTAVAIL:
        reason = "is not an address of this machine"
    else:
        reason = f"cannot be listened on ({exc.strerror})"
    return f"{where} {reason}; choose another with {listener.option}"


class StoppableServer(Protocol):
    """What the watcher reads of a uvicorn server: the flag its signal handler sets."""

    should_exit: bool


@contextlib.contextmanager
def announce_stop(
    server: StoppableServer, say: Callable[[str], None], on_stop: Callable[[], None] | None = None
) -> Iterator[None]:
    """While the block runs the server: as soon as it is asked to stop, ``say`` so and call
    ``on_stop``, in a thread of its own, so that neither waits for the server's shutdown."""
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(_WATCH_S):
            if server.should_exit:
                say("stopping…")
                if on_stop is not None:
                    on_stop()
                return

    watcher = threading.Thread(target=watch, name="stop-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()
