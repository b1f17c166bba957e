"""A Mosquitto broker for bridge-mode fault runs: persistent, stoppable, restartable on its port.

With ``persistence true`` Mosquitto writes its sessions, subscriptions and queued messages to
``mosquitto.db`` when it shuts down (SIGTERM) and reads them back on start, so the messages it
acknowledged to devices and still owes to the shugu workers survive a stop. Each session may
queue ``max_queued_messages`` (Mosquitto's default is 1,000; past it, Mosquitto drops messages
it has already acknowledged to their sender), so the bridge's broker must allow what arrives
while a worker is away: here no limit.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from bench.faults.served import free_port

#: Where Debian installs it; /usr/sbin is not on every user's PATH.
MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if Path(p).exists()), None)


class Broker:
    """Mosquitto on a fixed loopback port with persistence in ``workdir``."""

    def __init__(self, workdir: Path, *, max_queued_messages: int = 0) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError(
                "mosquitto is not installed (Debian: apt-get install mosquitto mosquitto-clients)"
            )
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "max_connections -1",
                    "max_inflight_messages 1000",
                    f"max_queued_messages {max_queued_messages}",
                    # Run as root, Mosquitto would switch to the user "mosquitto", which may
                    # not write the persistence file here; it stays who started it instead.
                    f"user {getpass.getuser()}",
                    "persistence true",
                    f"persistence_location {workdir}/",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            )
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float = 15.0) -> float:
        """Start (or restart) on the same port; returns the seconds until it accepted a TCP
        connection."""
        if self.alive:
            raise RuntimeError("mosquitto is already running")
        if self._log is None:
            self._log = self.log_path.open("ab")
        t0 = time.monotonic()
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = t0 + timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return time.monotonic() - t0
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not start; see {self.log_path}") from None
                time.sleep(0.02)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM: Mosquitto saves its persistence file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
