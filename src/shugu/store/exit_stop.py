"""Stop background threads before the interpreter finalises.

A daemon thread still inside DuckDB when Python finalises is ended with ``pthread_exit`` the
moment it asks for the GIL back; DuckDB's C++ catches that forced unwind and the whole process
aborts ("FATAL: exception not rethrown") after its work is done. So every owner of a thread
that calls into DuckDB registers its stop here: an owner that was closed is skipped, one that
was forgotten is stopped in order (last registered first) while the interpreter still runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

_lock = threading.Lock()
_stops: list[weakref.WeakMethod[Callable[[], None]]] = []
#: A forked child inherits the list but not the threads, and must not touch the parent's files.
_owner_pid = os.getpid()


def stop_at_exit(stop: Callable[[], None]) -> None:
    """Call the bound method ``stop`` at exit if its object is still alive then."""
    global _owner_pid
    ref = weakref.WeakMethod(stop)
    with _lock:
        if os.getpid() != _owner_pid:
            _stops.clear()
            _owner_pid = os.getpid()
        if len(_stops) >= 256:
            _stops[:] = [r for r in _stops if r() is not None]
        _stops.append(ref)


def _stop_all() -> None:
    if os.getpid() != _owner_pid:
        return
    with _lock:
        stops = [r() for r in reversed(_stops)]
        _stops.clear()
    for stop in stops:
        if stop is None:
            continue
        try:
            stop()
        except Exception:
            log.exception("a background thread could not be stopped at exit")


atexit.register(_stop_all)
