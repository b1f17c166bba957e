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
from pathlib import Path

from shugu.config import Settings
from shugu.domain.errors import ValidationError
from shugu.front.process import front_argument
from shugu.front.wire import FRONTS_SOCKET

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


#: The roles whose processes serve devices, and so can share the work with front processes.
DEVICE_ROLES = ("all", "ingest")


def cores_available() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's cpuset,
    not the machine's count), or the machine's count where affinity is not known."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(role: str) -> int:
    """``--workers`` left out: a process serving devices takes every core available to it;
    one of another role has nothing to share (decision 0056)."""
    return cores_available() if role in DEVICE_ROLES else 1


#: Seconds a new start waits for a port still held by the fronts of a killed predecessor.
LINGERING_FRONTS_WAIT_S = 5.0


def port_wait_s(data_dir: Path) -> float:
    """How long a start tries a port in use again: the fronts of a main process that was
    killed let go of the ports as soon as they notice, a moment later. Such a main leaves its
    channel's socket behind (a clean stop removes it), so without that socket a port in use is
    another program's, refused at once."""
    return LINGERING_FRONTS_WAIT_S if (data_dir / FRONTS_SOCKET).exists() else 0.0


#: ``--workers``' help, the same for every command that serves devices; the figure is this
#: machine's, so that ``--help`` tells what leaving the option out gives here.
WORKERS_HELP = (
    "processes serving the device APIs (MQTT and HTTP ingest): this one and N-1 front "
    "processes sharing its ports (SO_REUSEPORT); the points still go to this process's store "
    f"(docs/decisions/0056). Default: the cores available to this process ({cores_available()} "
    "here); 1 for --role monitor and api; --workers 1 serves in one process"
)


def check_workers(settings: Settings) -> None:
    """Refuse ``--workers`` beyond 1 where the fronts would have nothing to serve."""
    if settings.workers > 1 and settings.role not in DEVICE_ROLES:
        raise ValidationError(
            f"a process of role {settings.role} serves no devices: leave --workers at 1",
            code="workers_need_devices",
        )
