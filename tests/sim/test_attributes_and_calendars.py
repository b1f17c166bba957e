"""What the simulator tells shugu beyond telemetry: devices' client attributes (over the gateway's
``v1/gateway/attributes`` and the HTTP device API) and each enterprise's shift calendar (through
``PUT /api/enterprises/{id}/calendar``); and the district file's checks of both."""

from __future__ import annotations

import json
import logging
import re
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


DEFAULT_CALENDAR = {
    "shifts": [
        {"name": "白班", "start": "08:00", "end": "20:00"},
        {"name": "夜班", "start": "20:00", "end": "08:00"},
    ],
    "breaks": [],
    "rest_days": [],
    "holidays": [],
    "makeup_days": [],
    "downtime": [],
}


class World:
    """What the fake shugu keeps: calendar versions and accounts."""

    def __init__(self, calendars: bool = True) -> None:
        self.calendars = calendars
        #: path → every version put, in order, with who put it
        self.versions: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        #: username → (password, enterprise id)
        self.users: dict[str, tuple[str, int]] = {}
        #: what a GET of a path (its query left out) lists
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.next_id = 0


class FakeShugu(ShuguClient):
    """Answers the simulator's calls as shugu would, from memory; records what was sent. Shift
    calendars are the enterprise's administrators' to put, not the operator's."""

    def __init__(self, world: World | None = None, user: str = "operator") -> None:
        super().__init__("http://127.0.0.1:9")
        self.world = world or World()
        self.user = user
        self.attributes: list[tuple[str, Any]] = []
        self.unreachable = 0
        self.refuse_attributes = False

    def _new(self, path: str, **fields: Any) -> dict[str, Any]:
        self.world.next_id += 1
        item = {"id": self.world.next_id, **fields}
        self.world.lists.setdefault(path, []).append(item)
        return item

    def signed_in_as(self, username: str, password: str) -> ShuguClient:
        if self.world.users.get(username, ("",))[0] != password:
            raise ApiError(401, {"error": {"code": "bad_credentials"}})
        return FakeShugu(self.world, username)

    def get(self, path: str) -> Any:
        if path.endswith("/calendar"):
            if not self.world.calendars:
                raise ApiError(404, {"error": {"code": "not_found"}})
            versions = self.world.versions.get(path)
            kept = versions[-1][1] if versions else DEFAULT_CALENDAR
            return {"in_force": {"calendar": kept}}
        return list(self.world.lists.get(path.split("?")[0], []))

    def post(self, path: str, body: Any) -> Any:
        if path == "/api/users":
            enterprise = body["enterprise_id"]
            if any(e == enterprise for _, e in self.world.users.values()):
                raise ApiError(403, {"error": {"code": "enterprise_accounts_are_its_own"}})
            self.world.users[body["username"]] = (body["password"], enterprise)
            return {"username": body["username"]}
        if path.endswith("/devices"):
            return {"device": self._new(path, **body), "token": f"token-{body['name']}"}
        if path.endswith("/inspection-plans"):
            return self._new(path, plan=body)
        return self._new(path, **(body or {}))

    def put(self, path: str, body: Any) -> Any:
        enterprise = int(path.split("/")[3])
        if self.world.users.get(self.user, ("", None))[1] != enterprise:
            raise ApiError(403, {"error": {"code": "consent_required"}})
        kept = {k: v for k, v in body.items() if k not in ("effective_from", "note")}
        self.world.versions.setdefault(path, []).append((self.user, kept))
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


def provisioned(client: FakeShugu, state: Path, scale: float = 0.04) -> list[SimEnterprise]:
    return Provisioner(client, state).provision(load_district(CHANGLE), scale)


def test_mills_unlike_the_default_calendar_get_theirs_from_their_administrator(
    tmp_path: Path,
) -> None:
    client = FakeShugu()
    state = tmp_path / "state.json"
    enterprises = provisioned(client, state)
    mills = {e.id: e for e in enterprises if re.match(r"长乐\d+号织造", e.spec.name)}
    assert len(mills) == 40
    # Thirty mills work shugu's default (two 12-hour shifts every day): nothing to save.
    versions = client.world.versions
    assert len(versions) == 10
    for path, saved in versions.items():
        mill = mills[int(path.split("/")[3])]
        assert mill.spec.name[2:4] in {f"{n:02d}" for n in range(4, 41, 4)}
        assert mill.spec.uscc is not None
        ((who, kept),) = saved
        assert who == f"sim-{mill.spec.uscc}"
        assert kept == {
            "shifts": [
                {"name": "早班", "start": "08:00", "end": "16:00"},
                {"name": "中班", "start": "16:00", "end": "00:00"},
                {"name": "夜班", "start": "00:00", "end": "08:00"},
            ],
            "breaks": [],
            "rest_days": [7],
            "holidays": [],
            "makeup_days": [],
            "downtime": [],
        }
    kept_state = json.loads(state.read_text())
    assert sum(key.endswith("/@administrator") for key in kept_state) == 10
    # Again with the same state: nothing new, no version and no account.
    provisioned(client, state)
    assert len(versions) == 10 and all(len(v) == 1 for v in versions.values())
    assert len(client.world.users) == 10
    hall = next(e for e in enterprises if e.spec.name == "福州滨海云数据中心有限公司")
    assert {"机房总表", "IT负载总表"} <= set(hall.device_ids)
    assert {"机房总表", "IT负载总表"} <= set(hall.tokens)  # it posts over HTTP


def test_a_calendar_shugu_will_not_take_leaves_the_district_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shugu.sim.provision_calendar"):
        enterprises = provisioned(FakeShugu(World(calendars=False)), tmp_path / "a.json")
    assert len(enterprises) == 43
    assert "shift calendar of 长乐04号织造有限公司 was not set" in caplog.text
    assert "default holds" in caplog.text
    # An enterprise with an administrator of its own keeps its calendar: it is theirs to set.
    world = World(calendars=False)
    state = tmp_path / "b.json"
    mill = next(e for e in provisioned(FakeShugu(world), state) if e.spec.name[2:4] == "04")
    world.users["mill-admin"] = ("secret-password", mill.id)
    world.calendars = True
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shugu.sim.provision_calendar"):
        provisioned(FakeShugu(world), state)
    assert f"/api/enterprises/{mill.id}/calendar" not in world.versions
    assert "长乐04号织造有限公司 was not set" in caplog.text
    assert "enterprise_accounts_are_its_own" in caplog.text
    assert len(world.versions) == 9


def test_devices_on_http_post_their_attributes_until_shugu_has_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeShugu()
    district = load_district(CHANGLE)
    hall = next(e for e in provisioned(client, tmp_path / "s.json") if e.spec.transport == "http")
    runner = LiveRunner(client, Simulation(district, build_plants(district, [hall]), T0), "", None)
    (plant,) = hall.plants
    try:
        # Every rack and both meters post; the first tries find no one.
        client.unreachable = len(plant.devices) + 2
        runner._send(T0, runner.sim.step(T0 + 5000, 5.0))
        assert client.attributes == []
        runner._send(T0 + 5000, runner.sim.step(T0 + 10_000, 5.0))
        assert dict(client.attributes) == {
            hall.tokens["IT负载总表"]: {"meter_role": "it"},
            hall.tokens["机房总表"]: {"meter_role": "facility"},
            # What cools each rack (here the hall's one unit), to group the unit's alarms with
            # those of its racks.
            **{hall.tokens[rack]: {"cooled_by": plant.crahs} for rack in plant.devices},
        }
        assert plant.crahs == ["精密空调 01"]
        runner._send(T0 + 10_000, runner.sim.step(T0 + 15_000, 5.0))
        assert len(client.attributes) == len(plant.devices) + 2  # once is enough
    finally:
        runner.close()
    # Attributes shugu refuses are not sent again at every step.
    refused = FakeShugu()
    refused.refuse_attributes = True
    runner = LiveRunner(refused, Simulation(district, build_plants(district, [hall]), T0), "", None)
    try:
        with caplog.at_level(logging.WARNING, logger="shugu.sim.runner"):
            runner._send(T0, runner.sim.step(T0 + 5000, 5.0))
        assert f"refused the attributes of {len(plant.devices) + 2} devices" in caplog.text
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
