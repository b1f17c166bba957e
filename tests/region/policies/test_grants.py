"""Granted without applying (免申即享): a batch computed and frozen, approved in one step, an
objection within the window, upheld or rejected, every step recorded; rights on each step;
innovation points with their parts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.policies.service import PolicyService
from shugu.store.registry import Registry

TODAY = date(2025, 6, 2)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        yield opened
    finally:
        opened.close()


class World:
    def __init__(self, registry: Registry) -> None:
        region = registry.create_region("350100", "福州市")
        park = registry.create_park(region.id, "长乐纺织园", "350112")
        self.a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502").id
        self.b = registry.create_enterprise(park.id, "乙数据", "91110108551385082Q", "0405").id
        self.park = park.id
        self.facts: dict[int, dict[str, object]] = {
            self.a: {"devices_connected": 40, "rd_share": 6.0, "certifications": ["高企"]},
            self.b: {"devices_connected": 3},
        }
        # A: 30 devices first sent data inside the window, 10 before it.
        self.first: dict[int, list[date]] = {
            self.a: [date(2024, 3, 1)] * 30 + [date(2023, 1, 1)] * 10,
            self.b: [date(2024, 3, 1)] * 3,
        }
        self.service = PolicyService(
            registry,
            lambda e: self.facts[e],
            lambda e: self.first[e],
            today=lambda: TODAY,
        )

    def access(
        self, role: Role, enterprise_id: int | None = None, park: int | None = None
    ) -> Access:
        principal = Principal(1, role.value, role, enterprise_id, park_id=park)
        return Access(principal, lambda e, g: False, lambda e: self.park)


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def test_batch_computed_approved_objected_and_upheld(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    batch = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    # Only A has ≥ 10 devices connected; 30 × 0.2万 = 6万.
    assert [(line.enterprise_id, line.amount_wan) for line in batch.lines] == [(world.a, 6.0)]
    assert batch.status == "computed" and batch.total_wan == 6.0
    assert batch.lines[0].facts == {"devices_connected_in_window": 30}
    # Not yet approved: the enterprise sees nothing.
    admin_a = world.access(Role.ENTERPRISE_ADMIN, world.a)
    assert world.service.entitlements(admin_a, world.a) == []

    approved = world.service.decide(bureau, batch.id, "bureau", approve=True, objection_days=10)
    assert approved.status == "approved"
    assert approved.objections_until == date(2025, 6, 12)
    with pytest.raises(ConflictError):
        world.service.decide(bureau, batch.id, "bureau", approve=True)
    (line,) = world.service.entitlements(admin_a, world.a)
    assert line.status == "granted"

    objected = world.service.object(admin_a, line.id, "admin_a", "期前接入的 10 台应计入")
    assert objected.status == "objected"
    with pytest.raises(ConflictError):
        world.service.object(admin_a, line.id, "admin_a", "again")
    resolved = world.service.resolve(
        bureau, line.id, "bureau", upheld=True, amount_wan=8.0, note="按复核结果调整"
    )
    assert (resolved.status, resolved.amount_wan, resolved.computed_wan) == ("amended", 8.0, 6.0)
    kinds = [e.kind for e in resolved.events]
    assert kinds == ["objected", "upheld"]
    assert (resolved.events[-1].amount_before, resolved.events[-1].amount_after) == (6.0, 8.0)
    assert world.service.batch(bureau, batch.id).total_wan == 8.0
    assert [e.kind for e in world.service.batch(bureau, batch.id).events] == [
        "computed",
        "approved",
    ]


def test_an_objection_rejected_keeps_the_amount(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    batch = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    world.service.decide(bureau, batch.id, "bureau", approve=True)
    line = batch.lines[0].id
    admin_a = world.access(Role.ENTERPRISE_ADMIN, world.a)
    world.service.object(admin_a, line, "admin_a", "金额有误")
    with pytest.raises(ValidationError):
        world.service.resolve(bureau, line, "bureau", upheld=False, amount_wan=3.0, note="x")
    kept = world.service.resolve(
        bureau, line, "bureau", upheld=False, amount_wan=None, note="记录无误"
    )
    assert (kept.status, kept.amount_wan) == ("granted", 6.0)
    with pytest.raises(ConflictError):
        world.service.resolve(bureau, line, "bureau", upheld=False, amount_wan=None, note="again")


def test_objections_close_with_their_window(world: World, registry: Registry) -> None:
    bureau = world.access(Role.BUREAU)
    batch = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    world.service.decide(bureau, batch.id, "bureau", approve=True, objection_days=1)
    late = PolicyService(registry, lambda e: {}, lambda e: [], today=lambda: date(2025, 6, 4))
    admin_a = world.access(Role.ENTERPRISE_ADMIN, world.a)
    with pytest.raises(ConflictError) as closed:
        late.object(admin_a, batch.lines[0].id, "admin_a", "迟到的异议")
    assert closed.value.code == "objection_window_closed"


def test_a_new_batch_supersedes_one_not_approved(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    first = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    assert world.service.batch(bureau, first.id).status == "discarded"


def test_only_granted_policies_make_batches(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        world.service.compute_batch(world.access(Role.BUREAU), "dl-rd-major", "bureau")
    assert refused.value.code == "policy_not_granted"


def test_rights(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    batch = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    world.service.decide(bureau, batch.id, "bureau", approve=True)
    line = batch.lines[0].id
    operator = world.access(Role.OPERATOR)
    with pytest.raises(ForbiddenError):
        world.service.compute_batch(operator, "cl-cloud-devices", "operator")
    with pytest.raises(ForbiddenError):
        world.service.entitlements(operator, world.a)
    # B's people do not learn of A's entitlement; the bureau may not object for A.
    admin_b = world.access(Role.ENTERPRISE_ADMIN, world.b)
    with pytest.raises(NotFoundError):
        world.service.object(admin_b, line, "admin_b", "x")
    with pytest.raises(ForbiddenError):
        world.service.object(bureau, line, "bureau", "x")
    viewer_a = world.access(Role.ENTERPRISE_VIEWER, world.a)
    with pytest.raises(ForbiddenError):
        world.service.object(viewer_a, line, "viewer_a", "x")
    official = world.access(Role.PARK_OFFICIAL, park=world.park)
    assert len(world.service.entitlements(official, world.a)) == 1
    with pytest.raises(ForbiddenError):
        world.service.decide(official, batch.id, "official", approve=False)


def test_an_enterprise_sees_what_it_qualifies_for_and_what_it_nearly_does(world: World) -> None:
    found = world.service.for_enterprise(world.access(Role.BUREAU), world.a)
    by_code = {m.policy.code: m for m in found}
    assert by_code["cl-cloud-devices"].status == "qualifies"
    assert by_code["cl-cloud-devices"].amount_wan == 6.0
    assert found[0].status == "qualifies"
    reach = world.service.reach(world.access(Role.BUREAU), "cl-cloud-devices")
    assert [m.enterprise_id for m in reach.qualifying] == [world.a]
    assert reach.total_wan == 6.0


def test_a_bureau_edit_is_a_new_version_in_force(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    definition = dict(world.service.policy("cl-cloud-devices").policy.definition)
    definition["benefit"] = {**definition["benefit"], "per_device_wan": 0.1}
    saved = world.service.save_policy(bureau, definition, "bureau", code="cl-cloud-devices")
    assert saved.version == 1
    assert [e.version for e in world.service.versions("cl-cloud-devices")] == [0, 1]
    batch = world.service.compute_batch(bureau, "cl-cloud-devices", "bureau")
    assert batch.lines[0].amount_wan == 3.0 and batch.policy_version == 1
    with pytest.raises(ForbiddenError):
        world.service.save_policy(world.access(Role.OPERATOR), definition, "operator")


def test_innovation_points_with_parts(world: World) -> None:
    bureau = world.access(Role.BUREAU)
    score = world.service.points(bureau, world.a)
    parts = {p.key: p for p in score.parts}
    # rd_share 6 % on 0–8 % of 25 points: 18.75; 高企 8 of 20; no R&D spend, staff, patents.
    assert parts["rd_share"].points == 18.75
    assert parts["certifications"].points == 8
    assert parts["rd_spend"].points == 0 and parts["rd_spend"].note_en == "no data"
    assert score.points == 26.75
    ranking = world.service.points_ranking(bureau)
    assert [s.enterprise_id for s in ranking] == [world.a, world.b]
