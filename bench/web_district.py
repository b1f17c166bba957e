"""The demo district behind `shugu bench web`: a real `shugu serve`, provisioned as the demo is.

The registry gets the demo's operator account beforehand (as `shugu demo` does); everything else
goes through the public API as the simulator does it: the Changle district at the asked scale
(``districts/changle.yaml``: 40 mills × 50 looms at scale 1.0, the data hall, the cooling
towers), the demo's accounts (bureau, mill admin and viewer, data-centre and tower admins, the
mill's consent to the bureau), one administrator for every other enterprise (the live streams
sign in as them), and a backfill of history through the bulk path, so that charts, tree badges
and alarms have data. A data directory given with ``--data`` is kept: a second run finds the
district and its history there and only starts the server.

:class:`LiveDistrict` then keeps the district reporting as in the demo (every 5 s, the mills and
towers as MQTT gateways, the data hall over HTTP) while pages are measured.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.common import say
from bench.faults.served import District, Served, ServerGone
from bench.web_http import Session, sign_in
from shugu.config import Settings
from shugu.demo import ACCOUNTS, DISTRICT, OPERATOR, ensure_accounts, ensure_operator
from shugu.domain.tenancy import Role
from shugu.sim.build import build_plants
from shugu.sim.client import ShuguClient
from shugu.sim.district import DistrictSpec, load_district
from shugu.sim.provision import Provisioner, SimEnterprise
from shugu.sim.runner import LiveRunner, Simulation, backfill, now_ms


class EventLike(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


class SyncedInt(Protocol):
    value: int


#: The password of the administrators made for the enterprises the demo has no account for.
STREAM_ADMIN_PASSWORD = "web bench admin"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: Role
    enterprise_id: int | None


@dataclass
class WebDistrict:
    """What the bench needs to know of the provisioned district."""

    server: Served
    spec: DistrictSpec
    enterprises: list[SimEnterprise]
    #: The demo's accounts, by username.
    accounts: dict[str, Account] = field(default_factory=dict)
    #: An administrator of every enterprise, by enterprise id (the live streams sign in as them).
    admins: dict[int, Account] = field(default_factory=dict)
    setup_s: dict[str, float] = field(default_factory=dict)
    history_points: int = 0
    #: Signed-in sessions by username, kept across rounds: signing in is not what is measured.
    sessions: dict[str, Session] = field(default_factory=dict)

    def session(self, username: str, password: str) -> Session:
        if username not in self.sessions:
            port = self.server.http_port
            self.sessions[username] = sign_in("127.0.0.1", port, username, password)
        return self.sessions[username]

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def devices(self) -> int:
        return sum(len(e.device_ids) for e in self.enterprises)

    def enterprise(self, name: str) -> SimEnterprise:
        return next(e for e in self.enterprises if e.spec.name == name)

    def account_enterprise(self, username: str) -> SimEnterprise:
        account = self.accounts[username]
        return next(e for e in self.enterprises if e.id == account.enterprise_id)


def with_mills(spec: DistrictSpec, mills: int | None) -> DistrictSpec:
    """The district with ``mills`` weaving firms instead of its forty (None: as it is)."""
    if mills is None:
        return spec
    parks = [
        park.model_copy(
            update={
                "enterprises": [
                    e.model_copy(update={"repeat": min(e.repeat, mills)}) if e.repeat > 1 else e
                    for e in park.enterprises
                ]
            }
        )
        for park in spec.parks
    ]
    return spec.model_copy(update={"parks": parks})


def _registry_with_operator(data: Path) -> str:
    settings = Settings(data_dir=data)
    data.mkdir(parents=True, exist_ok=True)
    ensure_operator(settings)
    return settings.resolved_registry_url()


def _operator_token(base: str) -> str:
    client = ShuguClient(base)
    client.login(*OPERATOR)
    assert client.token is not None
    return client.token


def _stream_admins(
    client: ShuguClient, enterprises: list[SimEnterprise], known: dict[int, Account]
) -> dict[int, Account]:
    """An administrator for every enterprise: the demo's where it has one, else a new one."""
    existing = {u["username"] for u in client.get("/api/users")}
    admins = dict(known)
    for ent in enterprises:
        if ent.id in admins:
            continue
        username = f"web-bench-{ent.id}"
        if username not in existing:
            client.post(
                "/api/users",
                {
                    "username": username,
                    "password": STREAM_ADMIN_PASSWORD,
                    "role": Role.ENTERPRISE_ADMIN,
                    "enterprise_id": ent.id,
                },
            )
        admins[ent.id] = Account(username, STREAM_ADMIN_PASSWORD, Role.ENTERPRISE_ADMIN, ent.id)
    return admins


def _accounts(enterprises: list[SimEnterprise]) -> dict[str, Account]:
    by_name = {e.spec.name: e.id for e in enterprises}
    out = {OPERATOR[0]: Account(OPERATOR[0], OPERATOR[1], Role.OPERATOR, None)}
    for username, password, role, place in ACCOUNTS:
        # A park official's place is its park, which names no enterprise.
        enterprise = by_name[place] if role.bound_to_enterprise and place else None
        out[username] = Account(username, password, role, enterprise)
    return out


@contextlib.contextmanager
def served_district(
    data: Path,
    *,
    scale: float,
    backfill_hours: float,
    backfill_step_s: float,
    log_path: Path,
    log: bool,
    mills: int | None = None,
) -> Iterator[WebDistrict]:
    """Start `shugu serve` on ``data``, provision what is missing, fill the history once."""
    timings: dict[str, float] = {}
    registry_url = _registry_with_operator(data)
    # One process: server_rss_mib is main's (/proc/<pid>), and the pages' figures in
    # docs/benchmarks.md were taken on one process; fronts would pass the pages to main anyway.
    server = Served(
        District(data, registry_url, 0, "", ""), extra_args=["--workers", "1"], log_path=log_path
    )
    t = time.monotonic()
    try:
        server.start(timeout_s=180)
    except ServerGone as exc:
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        raise ServerGone(f"{exc}\n{tail}") from None
    timings["server_start_s"] = round(time.monotonic() - t, 1)
    try:
        server.district.admin_token = _operator_token(server.base)
        spec = with_mills(load_district(DISTRICT), mills)
        client = ShuguClient(server.base)
        client.login(*OPERATOR)
        say(log, f"provisioning the district at scale {scale} through the API")
        t = time.monotonic()
        enterprises = Provisioner(client, data / "web-bench-tokens.json").provision(spec, scale)
        ensure_accounts(client, enterprises)
        accounts = _accounts(enterprises)
        known = {
            a.enterprise_id: a
            for a in accounts.values()
            if a.role is Role.ENTERPRISE_ADMIN and a.enterprise_id is not None
        }
        admins = _stream_admins(client, enterprises, known)
        timings["provision_s"] = round(time.monotonic() - t, 1)
        district = WebDistrict(server, spec, enterprises, accounts, admins, timings)
        say(log, f"{district.devices} devices in {len(enterprises)} enterprises")
        marker = data / "web-bench-backfilled"
        if not marker.exists() and backfill_hours > 0:
            end = now_ms() - 60_000
            start = end - int(backfill_hours * 3_600_000)
            say(log, f"backfilling {backfill_hours:g} h of history every {backfill_step_s:g} s")
            t = time.monotonic()
            sim = Simulation(spec, build_plants(spec, enterprises), start)
            district.history_points = backfill(client, sim, start, end, backfill_step_s)
            marker.write_text(f"{end} {district.history_points}")
            timings["backfill_s"] = round(time.monotonic() - t, 1)
        elif marker.exists():
            district.history_points = int(marker.read_text().split()[-1])
        yield district
    finally:
        server.stop()


def _report(
    spec: DistrictSpec,
    enterprises: list[SimEnterprise],
    base: str,
    mqtt_port: int | None,
    period_s: float,
    stop: EventLike,
    sent: SyncedInt,
) -> None:
    """The district's own reporting, in a process of its own (see :class:`LiveDistrict`)."""
    client = ShuguClient(base)
    client.login(*OPERATOR)
    clock = now_ms()
    sim = Simulation(spec, build_plants(spec, enterprises), clock)
    runner = LiveRunner(client, sim, "127.0.0.1", mqtt_port, period_s=period_s)
    watcher = threading.Thread(target=_count_sent, args=(runner, stop, sent), daemon=True)
    watcher.start()
    local_stop = threading.Event()
    threading.Thread(target=_relay, args=(stop, local_stop), daemon=True).start()
    try:
        runner.run(local_stop, clock)
    finally:
        runner.close()
        sent.value = runner.sent_messages


def _relay(stop: EventLike, local_stop: threading.Event) -> None:
    stop.wait()
    local_stop.set()


def _count_sent(runner: LiveRunner, stop: EventLike, sent: SyncedInt) -> None:
    while not stop.wait(0.2):
        sent.value = runner.sent_messages


class LiveDistrict:
    """The district reporting live as in the demo (every 5 s: the mills and towers as MQTT
    gateways, the data hall over HTTP), until closed.

    It runs in a process of its own: stepping 2,000 looms and sending their values every 5 s
    takes a good share of a core in bursts, which in the bench's process would delay its probes
    and its reading of the streams, and be counted in their latency.
    """

    def __init__(self, district: WebDistrict, period_s: float = 5.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._sent = context.Value("q", 0)
        self._process = context.Process(
            target=_report,
            args=(
                district.spec,
                district.enterprises,
                district.base,
                district.server.mqtt_port,
                period_s,
                self._stop,
                self._sent,
            ),
            name="web-bench-district",
            daemon=True,
        )
        self._process.start()
        # Measuring starts once the district has sent its first values.
        deadline = time.monotonic() + 120
        while self.sent_messages == 0 and self._process.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)

    @property
    def sent_messages(self) -> int:
        return int(self._sent.value)

    def close(self) -> None:
        self._stop.set()
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)
