"""A throwaway Mosquitto broker on a free port, for the bridge tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.binaries import require_binary
from tests.server import free_port


@dataclass
class Mosquitto:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@contextmanager
def mosquitto(workdir: Path) -> Iterator[Mosquitto]:
    binary = require_binary("mosquitto")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "max_inflight_messages 1000\n"
        "max_queued_messages 100000\n"
        "persistence false\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)
        yield Mosquitto(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
