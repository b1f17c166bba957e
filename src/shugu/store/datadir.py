"""The data directory: checked once at start, so that a server that cannot keep data says so
plainly instead of failing on the first device that sends."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

from shugu.domain.errors import UnavailableError

_PROBE = ".shugu-write-probe"


def check_writable(data_dir: Path) -> None:
    """Create the directory if needed and prove a file in it can be written and synced."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / _PROBE
        with probe.open("wb") as handle:
            handle.write(b"shugu")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UnavailableError(
            f"the data directory {data_dir} cannot be written ({reason}); "
            "shugu would not be able to keep what devices send",
            code="data_dir_unwritable",
        ) from exc


#: The running server's control socket (mode 0600) and its description, in its data directory.
CONTROL_SOCKET = "control.sock"
SERVER_INFO = "server.json"


def control_socket_path(data_dir: Path) -> Path:
    return data_dir / CONTROL_SOCKET


#: sun_path holds 108 bytes with the terminating NUL on Linux (104 on the BSDs and macOS).
MAX_UNIX_SOCKET_PATH = 103


@contextlib.contextmanager
def unix_socket_address(path: Path) -> Iterator[str]:
    """An address for bind() or connect() that reaches ``path`` however long its directory's
    name is: the path itself when it fits, else the same file through an open descriptor of
    its directory (``/proc/self/fd/N/name``, Linux), which stays short. Only good inside the
    ``with``: the descriptor is closed after it."""
    text = os.fsdecode(os.path.abspath(path))
    if len(os.fsencode(text)) <= MAX_UNIX_SOCKET_PATH or not Path("/proc/self/fd").is_dir():
        yield text
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


def listen_private(path: Path, backlog: int) -> socket.socket:
    """A Unix socket listening at ``path`` that only this account (and root) can connect to.
    Raises OSError, with nothing left open, when it cannot be made."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with unix_socket_address(path) as address:
            listener.bind(address)
        # Before listen(): until then nobody can connect, whatever the umask gave it.
        os.chmod(path, 0o600)
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


def peer_uid(sock: socket.socket | None) -> int | None:
    """The user id of the process at the other end (Linux SO_PEERCRED), if it can be read."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def server_info_path(data_dir: Path) -> Path:
    return data_dir / SERVER_INFO
