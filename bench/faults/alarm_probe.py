"""Alarms on purpose: rack sensors in several enterprises that cross their profile's limits when
told, and the check, through the API, that each intended alarm was raised once.

The ``rack_sensor`` profile declares ``inlet_high`` (inlet above 27 °C) and ``inlet_critical``
(above 32 °C), both plain thresholds that fire on the first point beyond the limit. Each probe
device publishes one inlet temperature a second through the broker (MQTT 5, QoS 1, sent again
until the broker delivers it); the run moves every device from :data:`NORMAL_C` to
:data:`HIGH_C` (``inlet_high`` fires) and later to :data:`CRITICAL_C` (``inlet_critical`` fires;
``inlet_high`` stays active). The temperature never falls back, so each (rule, device) must
have exactly one alarm: a second one while the first is active means a worker raised it again
(for example a new owner replaying points it had not seen the alarm for).

Monitor workers divide *enterprises* among themselves, so the probes are spread over several
enterprises, each with its own administrator whose API token reads its alarms.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher

from bench.faults.served import ADMIN_PASSWORD, Served
from bench.mqtt_load import mqtt_string, varint
from shugu.domain.tenancy import Role
from shugu.domain.uscc import compute_check_char
from shugu.store.registry import Registry

NORMAL_C = 22.0
HIGH_C = 30.0
CRITICAL_C = 35.0
#: The profile rules the probes trip, in the order they fire.
HIGH_RULE = "inlet_high"
CRITICAL_RULE = "inlet_critical"
PROFILE = "rack_sensor"


@dataclass(frozen=True)
class ProbeDevice:
    id: int
    name: str
    enterprise: int


@dataclass(frozen=True)
class ProbeEnterprise:
    id: int
    admin_token: str
    devices: tuple[ProbeDevice, ...]


def _uscc(k: int) -> str:
    first17 = f"913501120000{k:05d}"
    return first17 + compute_check_char(first17)


def add_probe_enterprises(
    registry_url: str, count: int, devices_each: int
) -> list[ProbeEnterprise]:
    """``count`` enterprises in the registry's first park, each with ``devices_each`` rack
    sensors and an administrator with an API token."""
    registry = Registry(
        registry_url, password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    try:
        park = registry.list_parks()[0]
        out = []
        for k in range(count):
            ent = registry.create_enterprise(park.id, f"机房{k + 1:02d}", _uscc(k + 1))
            devices = []
            for i in range(devices_each):
                name = f"rack{k + 1:02d}-{i + 1:02d}"
                record, _token = registry.create_device(ent.id, name, PROFILE)
                devices.append(ProbeDevice(record.id, name, ent.id))
            user = registry.create_user(
                f"probe-admin-{k + 1}", ADMIN_PASSWORD, Role.ENTERPRISE_ADMIN, ent.id
            )
            token = registry.create_api_token(user.id, "fault runs")
            out.append(ProbeEnterprise(ent.id, token, tuple(devices)))
        return out
    finally:
        registry.close()


class ProbeFleet:
    """One MQTT 5 connection per probe device; every ``period_s`` each device publishes its
    inlet temperature of the moment (:attr:`inlet_c`) at QoS 1, stamped with the wall clock."""

    def __init__(
        self, enterprises: list[ProbeEnterprise], host: str, port: int, period_s: float = 1.0
    ) -> None:
        self.devices = [d for e in enterprises for d in e.devices]
        self.host = host
        self.port = port
        self.period_s = period_s
        self.inlet_c = NORMAL_C
        #: Points the broker delivered (PUBACK reason 0), and answers that were not.
        self.delivered = 0
        self.not_delivered = 0
        self._stop = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._device(d)) for d in self.devices]

    async def stop(self) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _device(self, device: ProbeDevice) -> None:
        topic = mqtt_string(f"shugu/v1/{device.enterprise}/{device.name}/telemetry")
        connect = _connect_packet(f"probe-{device.name}")
        pid = 0
        while not self._stop:
            writer: asyncio.StreamWriter | None = None
            try:
                reader, stream = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), 5
                )
                writer = stream
                stream.write(connect)
                await asyncio.wait_for(_read_packet(reader), 5)
                while not self._stop:
                    pid = pid % 65535 + 1
                    payload = b'{"ts":%d,"values":{"inlet_c":%.1f}}' % (
                        int(time.time() * 1000),
                        self.inlet_c,
                    )
                    body = topic + pid.to_bytes(2, "big") + b"\x00" + payload
                    stream.write(b"\x32" + varint(len(body)) + body)
                    kind, data = await asyncio.wait_for(_read_packet(reader), 10)
                    if kind == 4 and (len(data) <= 2 or data[2] == 0):
                        self.delivered += 1
                    else:  # 0x10, no subscriber yet: this second's value is simply sent again
                        self.not_delivered += 1
                        await asyncio.sleep(0.1)
                        continue
                    await asyncio.sleep(self.period_s)
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.2)
            finally:
                if writer is not None:
                    writer.close()


def _connect_packet(client_id: str) -> bytes:
    body = mqtt_string("MQTT") + bytes([5, 0x02]) + (60).to_bytes(2, "big") + b"\x00"
    body += mqtt_string(client_id)
    return b"\x10" + varint(len(body)) + body


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, mult = 0, 1
    while True:
        byte = (await reader.readexactly(1))[0]
        length += (byte & 0x7F) * mult
        mult *= 128
        if not byte & 0x80:
            break
    return first >> 4, await reader.readexactly(length)


# -- reading alarms back through the API ----------------------------------------------------------


def rule_key(alarm: dict[str, Any]) -> str:
    """The profile rule's key of an alarm (``rule_ref`` is ``{profile}.{key}``)."""
    return str(alarm["rule_ref"]).rsplit(".", 1)[-1]


def read_alarms(api: Served, enterprises: list[ProbeEnterprise]) -> list[dict[str, Any]]:
    """Every alarm of the probe enterprises, open or cleared, as the API answers them."""
    out: list[dict[str, Any]] = []
    for ent in enterprises:
        status, body = api.request(
            "GET",
            f"/api/alarms?enterprise={ent.id}&status=all&limit=2000&lang=en",
            token=ent.admin_token,
            timeout_s=30,
        )
        if status != 200:
            raise RuntimeError(f"alarms of enterprise {ent.id} answered {status}: {body[:300]!r}")
        out.extend(json.loads(body))
    return out


@dataclass
class AlarmWatch:
    """When each (rule, device) alarm was first seen through the API (monotonic clock)."""

    first_seen: dict[tuple[str, int], float] = field(default_factory=dict)

    def look(self, alarms: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for alarm in alarms:
            self.first_seen.setdefault((rule_key(alarm), int(alarm["device_id"])), now)

    def seen(self, rule: str, devices: list[int]) -> bool:
        return all((rule, d) in self.first_seen for d in devices)


async def watch_until(
    api: Served,
    enterprises: list[ProbeEnterprise],
    watch: AlarmWatch,
    rule: str,
    timeout_s: float,
    every_s: float = 0.25,
) -> bool:
    """Poll the API until every probe device has an alarm of ``rule``; False on timeout."""
    devices = [d.id for e in enterprises for d in e.devices]
    deadline = time.monotonic() + timeout_s
    while True:
        watch.look(await asyncio.to_thread(read_alarms, api, enterprises))
        if watch.seen(rule, devices):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every_s)


@dataclass
class AlarmCheck:
    """The intended alarms against the API's answer."""

    expected: int = 0
    raised: int = 0
    missing: list[dict[str, object]] = field(default_factory=list)
    #: Alarms of one (rule, device) raised while an earlier one of the same pair was active.
    raised_twice: list[dict[str, object]] = field(default_factory=list)
    #: Alarms by rule key over the probe enterprises, intended or not.
    by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.raised == self.expected and not self.missing and not self.raised_twice


def check_alarms(
    alarms: list[dict[str, Any]], enterprises: list[ProbeEnterprise], rules: tuple[str, ...]
) -> AlarmCheck:
    check = AlarmCheck()
    pairs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for alarm in alarms:
        key = rule_key(alarm)
        check.by_rule[key] = check.by_rule.get(key, 0) + 1
        pairs.setdefault((key, int(alarm["device_id"])), []).append(alarm)
    for device in (d for e in enterprises for d in e.devices):
        for rule in rules:
            check.expected += 1
            if (rule, device.id) in pairs:
                check.raised += 1
            else:
                check.missing.append({"rule": rule, "device": device.id})
    for (rule, device_id), group in pairs.items():
        group.sort(key=lambda a: _instant(a["raised_at"]))
        for earlier, later in itertools.pairwise(group):
            cleared = earlier.get("cleared_at")
            if cleared is None or _instant(cleared) > _instant(later["raised_at"]):
                check.raised_twice.append(
                    {"rule": rule, "device": device_id, "alarms": [earlier["id"], later["id"]]}
                )
    return check


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
