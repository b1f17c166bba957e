"""`shugu admin`'s side of the control socket: is a server running on this data directory, and
if so, send it the command (the server's side and the wire format are in shugu/api/)."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shugu.api.control_wire import IO_TIMEOUT_S, MAX_ANSWER_BYTES, decode_answer, encode_request
from shugu.domain.errors import ForbiddenError, UnavailableError
from shugu.store.datadir import control_socket_path, server_info_path, unix_socket_address


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A live server's control socket, connected, and what its server.json says."""

    sock: socket.socket
    info: dict[str, Any]

    @property
    def pid(self) -> object:
        return self.info.get("pid", "?")

    def send(self, command: str, args: BaseModel) -> dict[str, Any]:
        """Run one command in the server; its refusal is raised as the server's error."""
        with self.sock:
            self.sock.sendall(encode_request(command, args))
            answer = bytearray()
            while not answer.endswith(b"\n"):
                chunk = self.sock.recv(64 * 1024)
                if not chunk:
                    break
                answer += chunk
                if len(answer) > MAX_ANSWER_BYTES:
                    raise UnavailableError(
                        "the server's answer exceeds the control socket's limit",
                        code="answer_too_large",
                    )
        if not answer:
            raise UnavailableError(
                f"the server (pid {self.pid}) closed the control socket without answering; "
                "see its log",
                code="no_answer",
            )
        return decode_answer(bytes(answer))


def read_server_info(data_dir: Path) -> dict[str, Any]:
    try:
        doc = json.loads(server_info_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _is_live_shugu(pid: object) -> bool:
    """Whether ``pid`` is a running shugu process (not a reused pid of something else)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another account's
    try:
        return b"shugu" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to tell: assume the worst, that it is the server


def find_server(data_dir: Path) -> RunningServer | None:
    """The server running on ``data_dir``, connected; None when none runs there (a socket
    left by a killed server refuses connections and counts as none)."""
    path = control_socket_path(data_dir)
    info = read_server_info(data_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(IO_TIMEOUT_S)
    try:
        with unix_socket_address(path) as address:
            sock.connect(address)
    except PermissionError:
        sock.close()
        raise ForbiddenError(
            f"the control socket {path} belongs to another account; run `shugu admin` as the "
            "account that runs `shugu serve`",
            code="control_socket_forbidden",
        ) from None
    except OSError:
        sock.close()
        if _is_live_shugu(info.get("pid")):
            why = (
                "runs without a control socket (its log says why)"
                if "control_socket" in info and info["control_socket"] is None
                else f"has a control socket {path} that does not answer"
            )
            raise UnavailableError(
                f"a shugu server (pid {info['pid']}) runs on {data_dir} but {why}; change the "
                "registry through its HTTP API, or stop it and run the command again",
                code="control_socket_unavailable",
            ) from None
        return None
    return RunningServer(sock, info)
