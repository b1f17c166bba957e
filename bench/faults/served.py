"""`shugu serve` as a child process that a fault run can start, stop, kill -9 and restart.

Two pieces, used by the fault scenarios and by the tests (which import them from here):

- :func:`make_district` writes a registry beforehand: a region, park and enterprise, ``N``
  devices with their access tokens, and an enterprise administrator with an API token (the
  verification reads the store back through the range API with it).
- :class:`Served` is one ``shugu serve`` process on a data directory and fixed ports. ``start``
  waits until the server answers (and, in bridge mode, is connected to its broker); ``kill``
  sends SIGKILL, as a power cut or the OOM killer would; ``start`` again restarts it on the same
  data directory and ports, so clients reconnect to where they were.

Example::

    district = make_district(workdir / "data", devices=100)
    server = Served(district, log_path=workdir / "serve.log")
    server.start()
    ...
    server.kill()
    recovery_s = server.start()
    server.stop()
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from argon2 import PasswordHasher

from bench.mqtt_load import rss_mib
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry

#: The admin's password; the scenarios use its API token, never the password.
ADMIN_PASSWORD = "a long password"


#: serve's exit status when it cannot start (a port in use among the reasons).
PORTS_TAKEN = 2
PORT_ATTEMPTS = 3


def _two_ports(mqtt: bool) -> tuple[int, int | None]:
    http_port = free_port()
    if not mqtt:
        return http_port, None
    mqtt_port = free_port()
    while mqtt_port == http_port:
        mqtt_port = free_port()
    return http_port, mqtt_port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DeviceCredential:
    index: int
    name: str
    id: int
    token: str
    enterprise: int = 0


@dataclass
class District:
    """A registry made beforehand: one enterprise, its devices, an admin's API token."""

    data: Path
    registry_url: str
    enterprise: int
    uscc: str
    admin_token: str
    devices: list[DeviceCredential] = field(default_factory=list)

    def device(self, name: str) -> DeviceCredential:
        for cred in self.devices:
            if cred.name == name:
                return cred
        raise KeyError(name)


def make_district(
    data: Path,
    devices: int | dict[str, tuple[str, bool]],
    *,
    registry_url: str | None = None,
    name_prefix: str = "dev",
) -> District:
    """Create the registry under ``data`` (or at ``registry_url``).

    ``devices`` is either a number of generic devices (named ``{name_prefix}00000`` …) or a
    mapping of device name → (profile, is_gateway).
    """
    data.mkdir(parents=True, exist_ok=True)
    url = registry_url or f"sqlite:///{data / 'registry.sqlite'}"
    if isinstance(devices, int):
        wanted = {f"{name_prefix}{i:05d}": ("generic", False) for i in range(devices)}
    else:
        wanted = devices
    registry = Registry(
        url,
        # The cheapest argon2: the admin signs in by API token; hash strength is not under test.
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    try:
        region = registry.create_region("350112", "长乐区")
        park = registry.create_park(region.id, "滨海工业区")
        ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
        creds = []
        for index, (name, (profile, gateway)) in enumerate(wanted.items()):
            record, token = registry.create_device(ent.id, name, profile, is_gateway=gateway)
            creds.append(DeviceCredential(index, name, record.id, token, ent.id))
        user = registry.create_user("admin", ADMIN_PASSWORD, Role.ENTERPRISE_ADMIN, ent.id)
        admin_token = registry.create_api_token(user.id, "fault runs")
    finally:
        registry.close()
    return District(data, url, ent.id, ent.uscc, admin_token, creds)


class ServerGone(RuntimeError):
    """``shugu serve`` exited, or did not become ready in time."""


class Served:
    """One ``shugu serve`` child process; ports are fixed at construction and kept on restart.

    ``data`` defaults to the district's data directory; bridge workers each get their own data
    directory and share the district's registry (``registry_url``). With ``mqtt=False`` the
    built-in MQTT endpoint stays off. ``log_path`` collects the server's output across restarts
    (appended); without it the output goes to this process's stdout and stderr.
    """

    def __init__(
        self,
        district: District,
        *,
        data: Path | None = None,
        mqtt: bool = True,
        broker_url: str | None = None,
        broker_client_id: str | None = None,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
        log_level: str = "warning",
        workers: int = 1,
    ) -> None:
        self.district = district
        #: ``shugu serve --workers``, always given: the scenarios never rely on its default.
        self.workers = workers
        self.data = data or district.data
        self.http_port, self.mqtt_port = _two_ports(mqtt)
        self.broker_url = broker_url
        self.broker_client_id = broker_client_id
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        #: Every start, kill and stop, as (what, time.monotonic()).
        self.events: list[tuple[str, float]] = []
        #: Health requests answered 503 and asked again (see :meth:`health`).
        self.health_retries = 0

    # -- addresses

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerGone("the server was never started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "shugu.cli",
            "serve",
            "--data",
            str(self.data),
            "--http-port",
            str(self.http_port),
            "--log-level",
            self.log_level,
            "--registry-url",
            self.district.registry_url,
            "--workers",
            str(self.workers),
        ]
        if self.mqtt_port is not None:
            args += ["--mqtt-port", str(self.mqtt_port)]
        if self.broker_url is not None:
            args += ["--broker", self.broker_url]
            if self.broker_client_id is not None:
                args += ["--broker-client-id", self.broker_client_id]
        return args + self.extra_args

    # -- lifecycle

    def start(self, timeout_s: float = 60.0, *, wait_for_broker: bool = True) -> float:
        """Start (or restart) the server; returns the seconds until it was ready.

        Ready means: the health route answers, the MQTT endpoint listens on its port, and in
        bridge mode (unless ``wait_for_broker`` is false) the broker connection is up.
        """
        if self.alive:
            raise RuntimeError("the server is already running")
        if self.log_path is not None and self._log is None:
            self._log = self.log_path.open("ab")
        first = not any(what == "start" for what, _ in self.events)
        t0 = time.monotonic()
        for attempt in range(PORT_ATTEMPTS):
            self.events.append(("start", time.monotonic()))
            self.process = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=subprocess.STDOUT if self._log is not None else None,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
                preexec_fn=_raise_nofile,
            )
            try:
                self.wait_ready(timeout_s, wait_for_broker=wait_for_broker)
            except ServerGone:
                # A port picked free can be taken by another process before serve binds it
                # (serve then exits with 2). Only a first start may move: a restart must come
                # back where its clients reconnect.
                if not first or self._returncode() != PORTS_TAKEN or attempt + 1 == PORT_ATTEMPTS:
                    raise
                self.http_port, self.mqtt_port = _two_ports(self.mqtt_port is not None)
                continue
            break
        return time.monotonic() - t0

    def wait_ready(self, timeout_s: float = 60.0, *, wait_for_broker: bool = True) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive:
                raise ServerGone(f"shugu serve exited with {self._returncode()}{self._see_log()}")
            try:
                health = self.health(timeout_s=2.0)
            except OSError:
                health = None
            if health is not None and self._ready(health, wait_for_broker):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerGone(f"shugu serve was not ready in {timeout_s:.0f} s{self._see_log()}")
            time.sleep(0.05)

    def _ready(self, health: dict[str, Any], wait_for_broker: bool) -> bool:
        if self.mqtt_port is not None and health.get("mqtt_port") != self.mqtt_port:
            return False
        return not (self.broker_url and wait_for_broker and not health.get("broker_connected"))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as after a power cut or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            self.events.append(("kill", time.monotonic()))
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def pause(self) -> None:
        """SIGSTOP: the process freezes with its connections open (a hung server)."""
        if self.alive:
            self.events.append(("pause", time.monotonic()))
            self.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.alive:
            self.events.append(("resume", time.monotonic()))
            self.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]

    def stop(self, timeout_s: float = 90.0) -> int | None:
        """SIGINT, the orderly shutdown; SIGKILL if it takes longer than ``timeout_s``."""
        if self.process is not None and self.process.poll() is None:
            self.events.append(("stop", time.monotonic()))
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self._returncode()

    def _returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def _see_log(self) -> str:
        return f"; see {self.log_path}" if self.log_path is not None else ""

    # -- HTTP

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        timeout_s: float = 60.0,
    ) -> tuple[int, bytes]:
        """One HTTP request as the admin (or with ``token``); (status, body bytes)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {token or self.district.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        status, raw = self.request(method, path, body)
        return status, json.loads(raw or b"{}")

    def health(self, timeout_s: float = 5.0, attempts: int = 3) -> dict[str, Any]:
        """/api/health; a 503 (with ``--workers`` a front that could not pass the request to
        main) is asked again after its Retry-After, ``attempts`` times in all."""
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(self.base + "/api/health", timeout=timeout_s) as answer:
                    body: dict[str, Any] = json.loads(answer.read())
                    return body
            except urllib.error.HTTPError as err:
                if err.code != 503 or attempt + 1 == attempts:
                    raise
                self.health_retries += 1
                retry = err.headers.get("retry-after", "1")
                time.sleep(float(retry) if retry.isdigit() else 1.0)
        raise AssertionError("unreachable")

    def rss_mib(self) -> float:
        """Resident memory of the server process now (VmRSS of /proc/PID/status)."""
        rss = rss_mib_of(self.pid)
        if rss is None:
            raise ServerGone(f"no VmRSS for process {self.pid}")
        return rss

    def front_pids(self) -> list[int]:
        """The front processes main runs now (``--workers`` > 1), read from /proc, so that it
        answers while main is too busy for /api/health."""
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            return []
        fronts = []
        for pid in children:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"shugu.cli_front" in f.read():
                        fronts.append(pid)
            except OSError:
                continue  # exited meanwhile
        return sorted(fronts)

    def rss_by_process_mib(self) -> dict[str, float]:
        """Resident memory now of main (``main``) and of each front (``front <pid>``)."""
        out = {"main": self.rss_mib()}
        for pid in self.front_pids():
            rss = rss_mib_of(pid)
            if rss is not None:
                out[f"front {pid}"] = rss
        return out

    def connection_owners(self) -> dict[int, int]:
        """Client port → pid of the server process (main or a front) holding the TCP
        connection now, for the connections to this server's ports from 127.0.0.1: the
        kernel spreads connections over the processes, and only /proc says where each went."""
        ports = {self.http_port, *([self.mqtt_port] if self.mqtt_port is not None else [])}
        client_of: dict[str, int] = {}
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                if state == "01" and int(local.split(":")[1], 16) in ports:
                    client_of[f"socket:[{inode}]"] = int(remote.split(":")[1], 16)
        owners: dict[int, int] = {}
        for pid in [self.pid, *self.front_pids()]:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                port = client_of.get(target)
                if port is not None:
                    owners[port] = pid
        return owners

    def answering_fronts(self) -> set[int]:
        """The fronts answering for /api/health now (none while main is busy or restarting)."""
        try:
            health = self.health(timeout_s=10.0)
        except OSError:
            return set()
        return {int(w["pid"]) for w in health.get("workers", [])[1:]}

    def wait_for_fronts(
        self, gone: AbstractSet[int] = frozenset(), timeout_s: float = 60.0
    ) -> float:
        """Seconds until ``workers`` − 1 fronts, none of them in ``gone``, answer for
        /api/health (a front answers once its channel to main is up)."""
        t0 = time.monotonic()
        while True:
            pids = self.answering_fronts()
            if len(pids) == self.workers - 1 and not pids & gone:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout_s:
                raise ServerGone(f"the front processes did not answer in {timeout_s:.0f} s")
            time.sleep(0.05)

    def log_problems(self, limit: int = 8) -> dict[str, Any]:
        """Warnings, errors and tracebacks in the log: how many, and the first few lines."""
        lines: list[str] = []
        count = 0
        if self.log_path is not None and self.log_path.exists():
            for line in self.log_path.read_text(errors="replace").splitlines():
                if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback")):
                    count += 1
                    if len(lines) < limit:
                        lines.append(line[:300])
        return {"count": count, "first": lines}


def rss_mib_of(pid: int) -> float | None:
    """VmRSS of a process in MiB; None when it is gone."""
    try:
        return rss_mib(pid)
    except (OSError, RuntimeError):
        return None


def _raise_nofile() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
