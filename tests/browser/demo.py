"""A real `shugu demo` as a child process: the district the browser tests look at.

Small on purpose (a few looms, a few hours of history), on free ports and its own data
directory. ``start`` returns once the district is provisioned: every demo account signs in, the
mill's devices have values, and the bureau may read the mill's machines (its administrator
consents). The server's log goes to a file, so that a test can ask what the server logged while
it ran (a page that failed with a traceback fails its test, whatever the browser showed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.server import free_port

#: The demo's accounts (``shugu.demo``): username → password.
PASSWORDS = {
    "operator": "demo-operator",
    "bureau": "demo-bureau",
    "park-textile": "demo-park-textile",
    "park-digital": "demo-park-digital",
    "mill-admin": "demo-mill-admin",
    "mill-viewer": "demo-mill-viewer",
    "dc-admin": "demo-dc-admin",
    "tower-admin": "demo-tower-admin",
}
SCALE = "0.05"
BACKFILL_DAYS = "0.2"
READY_TIMEOUT_S = 120.0
#: Lines of the server's log that mean something went wrong in a request.
SERVER_FAULTS = ("Traceback", " ERROR ", " CRITICAL ")


class DemoFailed(RuntimeError):
    """The demo exited, or its district did not appear in time."""


class Api:
    """The JSON API as one demo account (bearer token)."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.username = username
        answer = self._call(
            "POST", "/api/auth/login", {"username": username, "password": PASSWORDS[username]}
        )
        self.token = str(answer["token"])
        me = self.get("/api/auth/me")
        self.enterprise_id: int | None = me.get("enterprise_id")

    def _call(self, method: str, path: str, body: object = None, token: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self._call("GET", path, token=self.token)

    def post(self, path: str, body: object = None) -> Any:
        return self._call("POST", path, body if body is not None else {}, token=self.token)

    def put(self, path: str, body: object) -> Any:
        return self._call("PUT", path, body, token=self.token)


@dataclass
class Demo:
    data: Path
    http_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    #: Signed-in API clients by account: signing in costs a password hash on the server.
    _apis: dict[str, Api] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data.parent / "demo.log"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "shugu.cli",
            "demo",
            "--data",
            str(self.data),
            "--http-port",
            str(self.http_port),
            "--mqtt-port",
            str(self.mqtt_port),
            "--scale",
            SCALE,
            "--backfill-days",
            BACKFILL_DAYS,
            # As `make demo` on a 2-core machine (the default is the cores available), never
            # left to a test machine's many cores.
            "--workers",
            "2",
        ]

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        self.wait_provisioned()

    def wait_provisioned(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "nothing answered"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise DemoFailed(f"shugu demo exited early:\n{self.log_tail()}")
            try:
                if self._provisioned():
                    return
                last_error = "the mill's devices have no values yet"
            except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                last_error = repr(exc)
            time.sleep(1.0)
        raise DemoFailed(
            f"the demo district did not appear in {READY_TIMEOUT_S:.0f} s ({last_error}):\n"
            f"{self.log_tail()}"
        )

    def _provisioned(self) -> bool:
        # Only the operator exists from the start; the others are signed in once they exist
        # (failed sign-ins would be counted against the address and refused with 429).
        users = {u["username"] for u in self.api("operator").get("/api/users")}
        if not set(PASSWORDS) <= users:
            return False
        mill = self.api("mill-admin")
        latest = mill.get(f"/api/enterprises/{mill.enterprise_id}/latest")
        if not latest["columns"]["value"]:
            return False
        # The mill consents: the bureau reads its machines (the wall display shows them).
        self.api("bureau").get(f"/api/enterprises/{mill.enterprise_id}/latest")
        for username in PASSWORDS:
            self.api(username)  # every account signs in
        return True

    def api(self, username: str) -> Api:
        if username not in self._apis:
            self._apis[username] = Api(self.base, username)
        return self._apis[username]

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_since(0) if self.log_path.exists() else ""
        return text[-chars:]

    def stop(self) -> int | None:
        """Ctrl-C, as a person stops it; killed if it does not stop in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None
        return None if self.process is None else self.process.returncode


def post_telemetry(base: str, token: str, values: dict[str, float]) -> int:
    """A device's telemetry over ThingsBoard's HTTP device API; the answer's status."""
    request = urllib.request.Request(
        f"{base}/api/v1/{token}/telemetry", data=json.dumps(values).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code
