"""What the simulator tells shugu beyond telemetry: devices' client attributes (over the gateway's
``v1/gateway/attributes`` and the HTTP device API) and each enterprise's shift calendar (through
``PUT /api/enterprises/{id}/calendar``); and the district file's checks of both."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from shugu.sim.build import build_plants
from shugu.sim.client import ApiError, ShuguClient
from shugu.sim.district import DistrictError, expand_enterprises, load_district
from shugu.sim.provision import Provisioner, SimEnterprise, layout
from shugu.sim.runner import GatewayLink, LiveRunner, Simulation

CHANGLE = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"
T0 = 1_800_000_000_000


class FakeShugu(ShuguClient):
    """Answers the simulator's calls as shugu would, from memory; records what was sent."""

    def __init__(self, refuse_calendar: int | None = None) -> None:
        super().__init__("http://127.0.0.1:9")
        self.refuse_calendar = refuse_calendar
        self.calendars: dict[str, Any] = {}
        self.attributes: list[tuple[str, Any]] = []
        self.unreachable = 0
        self.refuse_attributes = False
        self._next_id = 0

    def _new(self, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        return {"id": self._next_id, **fields}

    def get(self, path: str) -> Any:
        return []

    def post(self, path: str, body: Any) -> Any:
        if path.endswith("/devices"):
            return {"device": self._new(**body), "token": f"token-{body['name']}"}
        return self._new(**(body or {}))

    def put(self, path: str, body: Any) -> Any:
        if self.refuse_calendar is not None:
            raise ApiError(self.refuse_calendar, {"error": {"code": "not_found"}})
        self.calendars[path] = body
        return body

    def device_attributes(self, token: str, attributes: Any) -> Any:
        if self.unreachable:
            self.unreachable -= 1
            raise ConnectionRefusedError("shugu is not there")
        if self.refuse_attributes:
            raise ApiError(422, {"error": {"code": "bad_attribute"}})
        self.attributes.append((token, attributes))
        return {"accepted": len(attributes)}

    def device_telemetry(self, token: str, payload: Any) -> Any:
        return {"accepted": len(payload["values"])}


def provisioned(client: FakeShugu, tmp_path: Path, scale: float = 0.04) -> list[SimEnterprise]:
    return Provisioner(client, tmp_path / "tokens.json").provision(load_district(CHANGLE), scale)


def test_each_mill_gets_its_calendar_and_the_hall_both_meters(tmp_path: Path) -> None:
    client = FakeShugu()
    enterprises = provisioned(client, tmp_path)
    mills = [e for e in enterprises if e.spec.name.endswith("织造有限公司")]
    assert len(mills) == 40 and len(client.calendars) == 40
    bodies = [client.calendars[f"/api/enterprises/{m.id}/calendar"] for m in mills]
    assert bodies[0] == {
        "effective_from": "2024-01-01",
        "shifts": [
            {"name": "白班", "start": "08:00", "end": "20:00"},
            {"name": "夜班", "start": "20:00", "end": "08:00"},
        ],
        "breaks": [],
        "rest_days": [],
        "holidays": [],
        "workdays": [],
        "downtime": [],
    }
    assert sum(len(b["shifts"]) == 3 and b["rest_days"] == [7] for b in bodies) == 10
    hall = next(e for e in enterprises if e.spec.name == "福州滨海云数据中心有限公司")
    assert {"机房总表", "IT负载总表"} <= set(hall.device_ids)
    assert {"机房总表", "IT负载总表"} <= set(hall.tokens)  # it posts over HTTP


def test_a_platform_without_calendars_still_runs_the_district(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shugu.sim.provision"):
        enterprises = provisioned(FakeShugu(refuse_calendar=404), tmp_path)
    assert len(enterprises) == 42
    assert "shift calendar of 长乐01号织造有限公司 was not set" in caplog.text
    assert "every hour counts as planned" in caplog.text


def test_devices_on_http_post_their_attributes_until_shugu_has_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeShugu()
    district = load_district(CHANGLE)
    hall = next(e for e in provisioned(client, tmp_path) if e.spec.transport == "http")
    runner = LiveRunner(client, Simulation(district, build_plants(district, [hall]), T0), "", None)
    try:
        client.unreachable = 2  # both meters' first tries find no one
        runner._send(T0, runner.sim.step(T0 + 5000, 5.0))
        assert client.attributes == []
        runner._send(T0 + 5000, runner.sim.step(T0 + 10_000, 5.0))
        assert sorted(client.attributes) == [
            (hall.tokens["IT负载总表"], {"meter_role": "it"}),
            (hall.tokens["机房总表"], {"meter_role": "facility"}),
        ]
        runner._send(T0 + 10_000, runner.sim.step(T0 + 15_000, 5.0))
        assert len(client.attributes) == 2  # once is enough
    finally:
        runner.close()
    # Attributes shugu refuses are not sent again at every step.
    refused = FakeShugu()
    refused.refuse_attributes = True
    runner = LiveRunner(refused, Simulation(district, build_plants(district, [hall]), T0), "", None)
    try:
        with caplog.at_level(logging.WARNING, logger="shugu.sim.runner"):
            runner._send(T0, runner.sim.step(T0 + 5000, 5.0))
        assert "refused the attributes of 2 devices" in caplog.text
        assert runner._unsent_attributes == []
    finally:
        runner.close()


def test_a_gateway_tells_its_devices_attributes_whenever_it_connects() -> None:
    district = load_district(CHANGLE)
    spec = expand_enterprises(district.parks[0], district.region.code, 0)[3]
    mill = SimEnterprise(4, spec, layout(spec, 0.25))
    (attributes,) = Simulation(district, build_plants(district, [mill]), T0).attributes().values()
    link = GatewayLink("127.0.0.1", 9, "gateway-token", "test", attributes)
    sent: list[tuple[str, dict[str, Any]]] = []
    link.client.publish = lambda topic, payload, qos: sent.append((topic, json.loads(payload)))  # type: ignore[assignment,method-assign,misc]
    try:
        refused = ReasonCode(PacketTypes.CONNACK, "Not authorized")
        link._connected(link.client, None, None, refused, None)
        assert sent == []
        link._connected(link.client, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)
        assert [topic for topic, _ in sent] == ["v1/gateway/attributes"]
        assert sent[0][1]["织机 001"] == {
            "loom_type": "air_jet",
            "width_cm": 280,
            "rated_speed_rpm": 550.0,
        }
        assert sent[0][1]["织造车间电表"] == {"meter_role": "line"}
        assert len(sent[0][1]) == len(mill.plants[0].devices) + 1
        link._connected(link.client, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)
        assert len(sent) == 2  # and again after a reconnection
    finally:
        link.disconnect()
        link.join()


DISTRICT_HEAD = (
    'name: x\nregion: {code: "350112", name: y}\nparks:\n  - name: p\n    enterprises:\n'
    "      - name: e\n"
)


@pytest.mark.parametrize(
    ("enterprise", "where", "message"),
    [
        (
            '        plants:\n          - {kind: loom_shed, line: l, devices: "a {i}", count: 1,'
            " meter: m, it_meter: i}\n",
            "8: parks.0.enterprises.0.plants.0",
            "only a data hall has an IT meter",
        ),
        (
            '        plants:\n          - {kind: data_hall, line: l, devices: "r {i}", count: 4,'
            ' crahs: "c {i}", crah_count: 1, meter: m, it_meter: m}\n',
            "8: parks.0.enterprises.0.plants.0",
            "need different names",
        ),
        (
            '        plants:\n          - {kind: cooling_tower_site, line: l, devices: "t {i}",'
            " count: 1, looms: [{loom_type: rapier}]}\n",
            "8: parks.0.enterprises.0.plants.0",
            "only a loom shed has looms",
        ),
        (
            '        plants:\n          - {kind: loom_shed, line: l, devices: "a {i}", count: 1,'
            " looms: [{loom_type: jacquard}]}\n",
            "8: parks.0.enterprises.0.plants.0.looms.0.loom_type",
            "'air_jet', 'rapier' or 'water_jet'",
        ),
        (
            '        plants:\n          - {kind: loom_shed, line: l, devices: "a {i}", count: 1,'
            " looms: [{rated_speed_rpm: 500}], params: {speed_rpm: 600}}\n",
            "8: parks.0.enterprises.0.plants.0",
            "rated for 500 rpm cannot run at up to 650 rpm",
        ),
        (
            '        plants:\n          - {kind: loom_shed, line: l, devices: "a {i}", count: 1}\n'
            "        calendar:\n          shifts: [{name: a, start: '8', end: '20:00'}]\n",
            "10: parks.0.enterprises.0.calendar.0.shifts.0.start",
            "HH:MM",
        ),
        (
            '        plants:\n          - {kind: loom_shed, line: l, devices: "a {i}", count: 1}\n'
            "        calendar: [{shifts: [{name: a, start: '08:00', end: '20:00'}]}, 7]\n",
            "9: parks.0.enterprises.0.calendar.1",
            "valid dictionary",
        ),
    ],
)
def test_the_district_file_checks_looms_meters_and_calendars(
    tmp_path: Path, enterprise: str, where: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DISTRICT_HEAD + enterprise)
    with pytest.raises(DistrictError) as info:
        load_district(bad)
    assert f"{bad}:{where}" in info.value.message
    assert message in info.value.message
