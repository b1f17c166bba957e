"""Starting, watching and stopping the front processes of ``shugu serve --workers N``.

Main starts N−1 fronts once its channel listens and its own MQTT ports are bound (so that a
port given as 0 is the same port for all). A front that exits while main runs is started again
after a short pause, doubled up to ``MAX_PAUSE_S`` while it keeps dying at once. On stop each
front gets SIGTERM, then SIGKILL after ``STOP_WAIT_S``. A front whose main process dies sees its
channel end and exits by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time

from shugu.config import Settings
from shugu.domain.errors import ValidationError
from shugu.front.process import front_argument

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 10.0
STOP_WAIT_S = 5.0
#: A front that ran this long before exiting is restarted after the first pause again.
STEADY_S = 30.0


class FrontSupervisor:
    def __init__(
        self, settings: Settings, count: int, http: dict[str, object] | None = None
    ) -> None:
        self._settings = settings
        #: The HTTP listener the fronts share with main (None: they serve MQTT only).
        self.http = http
        self.count = count
        self.processes: list[asyncio.subprocess.Process | None] = [None] * count
        self.restarts = 0
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self, mqtt_port: int | None, mqtt_tls_port: int | None) -> None:
        argument = front_argument(
            self._settings, self.http, mqtt_port=mqtt_port, mqtt_tls_port=mqtt_tls_port
        )
        for index in range(self.count):
            self._watchers.append(asyncio.create_task(self._keep(index, argument)))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p is not None and p.returncode is None]

    async def _keep(self, index: int, argument: str) -> None:
        pause = FIRST_PAUSE_S
        while not self._stopping:
            began = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "shugu.cli_front", argument, env=os.environ.copy()
            )
            self.processes[index] = process
            code = await process.wait()
            if self._stopping:
                return
            self.restarts += 1
            if time.monotonic() - began > STEADY_S:
                pause = FIRST_PAUSE_S
            log.warning(
                "front process %d exited (%s); starting it again in %.1f s",
                process.pid,
                code,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(MAX_PAUSE_S, pause * 2)

    async def stop(self) -> None:
        self._stopping = True
        for process in self.processes:
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        for process in self.processes:
            if process is None:
                continue
            try:
                await asyncio.wait_for(process.wait(), STOP_WAIT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for watcher in self._watchers:
            watcher.cancel()
        self._watchers.clear()


def check_workers(settings: Settings) -> None:
    """Refuse ``--workers`` beyond 1 where the fronts would have nothing to serve."""
    if settings.workers > 1 and settings.role not in ("all", "ingest"):
        raise ValidationError(
            f"a process of role {settings.role} serves no devices: leave --workers at 1",
            code="workers_need_devices",
        )
