"""Shared capacity between two weaving mills through the service: publish, request, rank,
propose, answer, record the outcome; and what each party, the bureau and the operator see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher

from shugu.analytics import capacity_service as cs
from shugu.analytics.capacity import LoomStatus, day_start_ms, first_day
from shugu.domain.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from shugu.domain.tenancy import Access, Principal, Role
from shugu.domain.timeutil import utc_datetime
from shugu.store.registry import Registry
from tests.pg import PostgresServer

#: 2026-12-01 10:00 China time.
NOW = day_start_ms(date(2026, 12, 1)) + 10 * 3_600_000
HOUR = 3_600_000


@dataclass
class FakeLooms:
    """Looms per enterprise and a flat shift calendar (hours per loom per day)."""

    fleets: dict[int, list[LoomStatus]] = field(default_factory=dict)
    hours_per_day: float = 16.0
    asked: list[tuple[int, int, int]] = field(default_factory=list)

    def looms(self, enterprise_id: int) -> list[LoomStatus]:
        return list(self.fleets.get(enterprise_id, []))

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        self.asked.append((enterprise_id, day_start_ms, days))
        return [self.hours_per_day] * days


def air_jet(device_id: int, *, allocation: float = 0.5, waiting: bool = False) -> LoomStatus:
    return LoomStatus(
        device_id=device_id,
        loom_type="air_jet",
        width_cm=190,
        rated_speed_rpm=600,
        running=not waiting,
        stop_cause=4 if waiting else None,
        efficiency=0.45,
        allocation=allocation,
    )


@dataclass
class Mills:
    registry: Registry
    looms: FakeLooms
    a: int
    b: int
    c: int
    people: dict[str, Access]
    #: The registry's clock (ms): what it records as now.
    clock: list[int]


def _access(registry: Registry, user_id: int, name: str, role: Role, ent: int | None) -> Access:
    principal = Principal(user_id, name, role, ent)
    return Access(principal, lambda e, g: registry.has_consent(e, g))


def _mills(url: str, password_hasher: PasswordHasher) -> Mills:
    clock = [NOW]
    registry = Registry(url, password_hasher=password_hasher, now=lambda: utc_datetime(clock[0]))
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    a = registry.create_enterprise(park.id, "长乐01号织造", "91110000600037341L", "0502").id
    b = registry.create_enterprise(park.id, "长乐02号织造", "91110108551385082Q", "0502").id
    c = registry.create_enterprise(park.id, "丙织造", "91350100M0001TGQXM", "0502").id
    accounts = {
        "admin_a": (Role.ENTERPRISE_ADMIN, a),
        "viewer_a": (Role.ENTERPRISE_VIEWER, a),
        "admin_b": (Role.ENTERPRISE_ADMIN, b),
        "admin_c": (Role.ENTERPRISE_ADMIN, c),
        "bureau": (Role.BUREAU, None),
        "operator": (Role.OPERATOR, None),
    }
    people = {}
    for name, (role, ent) in accounts.items():
        user = registry.create_user(name, "a long password", role, ent)
        people[name] = _access(registry, user.id, name, role, ent)
    looms = FakeLooms({a: [air_jet(1), air_jet(2, waiting=True)], b: [air_jet(3, allocation=0)]})
    return Mills(registry, looms, a, b, c, people, clock)


@pytest.fixture
def mills(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Mills]:
    made = _mills(f"sqlite:///{tmp_path / 'r.sqlite'}", password_hasher)
    try:
        yield made
    finally:
        made.registry.close()


def request_fields(**changes: object) -> dict[str, object]:
    deadline = (first_day(NOW) + timedelta(days=5)).isoformat()
    fields: dict[str, object] = {
        "fabric": "涤棉府绸 T/C 65/35",
        "loom_type": "air_jet",
        "min_width_cm": 180,
        "picks_per_cm": 30,
        "metres": 500,
        "deadline": deadline,
    }
    fields.update(changes)
    return fields


def test_idle_capacity_asks_the_calendar_from_tomorrow(mills: Mills) -> None:
    view = cs.idle_view(mills.registry, mills.looms, mills.a, 3, NOW)
    assert mills.looms.asked == [(mills.a, day_start_ms(date(2026, 12, 2)), 3)]
    first = view.capacity.cells[0]
    # Loom 1: 16 h × 0.5; loom 2 waits for an order now: all 16 h on the first day.
    assert first.day == date(2026, 12, 2) and first.loom_hours == pytest.approx(24.0)
    assert view.publication is None


def test_without_a_loom_source_nothing_is_idle(mills: Mills) -> None:
    view = cs.idle_view(mills.registry, None, mills.a, 7, NOW)
    assert not view.source_available and view.capacity.looms == 0
    assert view.capacity.totals() == (0.0, 0.0, 0.0)


def test_a_publication_holds_sums_only(mills: Mills) -> None:
    record = cs.publish(mills.registry, mills.looms, mills.people["admin_a"], mills.a, 2, 0.25, NOW)
    assert record.active and record.days == 2 and record.hold_back == 0.25
    assert record.published_by == "admin_a"
    stored = json.dumps(record.cells)
    assert all(
        set(c) == {"loom_type", "width_class_cm", "day", "loom_hours", "effective_hours", "picks"}
        for c in record.cells
    )
    assert "device" not in stored
    # 24 loom-hours idle on the first day, a quarter held back.
    assert record.cells[0]["loom_hours"] == pytest.approx(18.0)


@pytest.mark.parametrize("who", ["viewer_a", "bureau", "operator", "admin_b"])
def test_only_the_enterprise_s_administrators_publish(mills: Mills, who: str) -> None:
    with pytest.raises((ForbiddenError, NotFoundError)):
        cs.publish(mills.registry, mills.looms, mills.people[who], mills.a, 7, 0, NOW)
    assert mills.registry.get_publication(mills.a) is None


@pytest.mark.parametrize(
    ("days", "hold_back", "code"),
    [
        (0, 0, "capacity_days_invalid"),
        (15, 0, "capacity_days_invalid"),
        (2.5, 0, "capacity_days_invalid"),
        ("x", 0, "capacity_days_invalid"),
        (7, 0.95, "capacity_hold_back_invalid"),
        (7, -0.1, "capacity_hold_back_invalid"),
        (7, float("nan"), "capacity_hold_back_invalid"),
        (7, True, "capacity_hold_back_invalid"),
    ],
)
def test_publishing_terms_are_checked(
    mills: Mills, days: object, hold_back: object, code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        cs.publish(mills.registry, mills.looms, mills.people["admin_a"], mills.a, days, hold_back)
    assert caught.value.code == code


def test_the_board_refreshes_a_publication_after_an_hour_and_drops_withdrawn_ones(
    mills: Mills,
) -> None:
    cs.publish(mills.registry, mills.looms, mills.people["admin_a"], mills.a, 2, 0, NOW)
    board = cs.board(mills.registry, mills.looms, NOW)
    assert [o.enterprise_name for o in board.offers] == ["长乐01号织造"]
    assert board.totals[0].loom_hours == pytest.approx(24.0)
    # The loom that waited took an order: an hour later the board shows less.
    mills.looms.fleets[mills.a] = [air_jet(1), air_jet(2)]
    mills.clock[0] = NOW + HOUR - 1
    assert cs.board(mills.registry, mills.looms, NOW + HOUR - 1).totals[0].loom_hours == 24.0
    mills.clock[0] = NOW + HOUR
    later = cs.board(mills.registry, mills.looms, NOW + HOUR)
    assert later.totals[0].loom_hours == pytest.approx(16.0)
    cs.withdraw(mills.registry, mills.people["admin_a"], mills.a)
    assert cs.board(mills.registry, mills.looms, NOW).offers == ()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"fabric": "  "}, "capacity_fabric_invalid"),
        ({"fabric": "x" * 201}, "capacity_fabric_invalid"),
        ({"fabric": "府绸\x00"}, "capacity_fabric_invalid"),
        ({"fabric": 5}, "capacity_fabric_invalid"),
        ({"loom_type": "jacquard"}, "capacity_loom_type_invalid"),
        ({"min_width_cm": 0}, "capacity_width_invalid"),
        ({"min_width_cm": "wide"}, "capacity_width_invalid"),
        ({"picks_per_cm": float("inf")}, "capacity_density_invalid"),
        ({"metres": 0}, "capacity_metres_invalid"),
        ({"metres": -5}, "capacity_metres_invalid"),
        ({"deadline": "2026-12-02"}, "capacity_deadline_invalid"),
        ({"deadline": "2030-01-01"}, "capacity_deadline_invalid"),
        ({"deadline": "soon"}, "capacity_deadline_invalid"),
        ({"deadline": None}, "capacity_deadline_invalid"),
    ],
)
def test_a_request_s_faults_each_have_a_code(
    mills: Mills, changes: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        cs.post_request(
            mills.registry, mills.people["admin_b"], mills.b, request_fields(**changes), NOW
        )
    assert caught.value.code == code
    assert caught.value.details["field"] == next(iter(changes))


def test_form_text_is_read_as_numbers() -> None:
    fields = request_fields(min_width_cm=" 185 ", picks_per_cm="28.5", metres="1200", loom_type="")
    new = cs.parse_request(fields, NOW)
    assert (new.min_width_cm, new.picks_per_cm, new.metres, new.loom_type) == (
        185.0,
        28.5,
        1200.0,
        None,
    )


def _trade(mills: Mills) -> tuple[int, cs.MatchView]:
    """A publishes; B asks for fabric and proposes to A."""
    cs.publish(mills.registry, mills.looms, mills.people["admin_a"], mills.a, 7, 0, NOW)
    request = cs.post_request(
        mills.registry, mills.people["admin_b"], mills.b, request_fields(), NOW
    )
    view = cs.request_view(mills.registry, mills.looms, mills.people["admin_b"], request.id, NOW)
    assert [o.enterprise_name for o in view.offers] == ["长乐01号织造"]
    match = cs.propose(
        mills.registry, mills.looms, mills.people["admin_b"], request.id, mills.a, "急单", NOW
    )
    return request.id, match


def test_a_match_from_proposal_to_outcome(mills: Mills) -> None:
    _proposal_to_outcome(mills)


def test_a_match_from_proposal_to_outcome_on_postgresql(
    postgres_server: PostgresServer, password_hasher: PasswordHasher
) -> None:
    made = _mills(postgres_server.create_database(), password_hasher)
    try:
        _proposal_to_outcome(made)
    finally:
        made.registry.close()


def _proposal_to_outcome(mills: Mills) -> None:
    request_id, proposed = _trade(mills)
    assert proposed.match.status == "proposed" and proposed.side == "requester"
    assert proposed.match.ranking["score"] > 0
    assert {p["name"] for p in proposed.match.ranking["parts"]} == {"cover", "efficiency", "fit"}
    registry, people = mills.registry, mills.people
    seen_by_a = cs.match_view(registry, people["admin_a"], proposed.match.id)
    assert seen_by_a.side == "offerer" and seen_by_a.can_answer
    assert seen_by_a.request.fabric == "涤棉府绸 T/C 65/35"
    with pytest.raises(ForbiddenError) as caught:
        cs.answer(registry, people["admin_b"], proposed.match.id, True)
    assert caught.value.code == "capacity_offerer_only"
    with pytest.raises(ConflictError) as conflict:
        cs.record_outcome(
            registry, people["admin_b"], proposed.match.id, {"delivered_m": 1, "on_time": True}
        )
    assert conflict.value.code == "capacity_match_not_accepted"
    accepted = cs.answer(registry, people["admin_a"], proposed.match.id, True, "可以")
    assert accepted.match.status == "accepted"
    with pytest.raises(ConflictError) as again:
        cs.answer(registry, people["admin_a"], proposed.match.id, False)
    assert again.value.code == "capacity_match_not_proposed"
    done = cs.record_outcome(
        registry, people["admin_b"], proposed.match.id, {"delivered_m": "480", "on_time": "true"}
    )
    assert done.match.status == "completed"
    assert (done.match.delivered_m, done.match.on_time) == (480.0, True)
    corrected = cs.record_outcome(
        registry, people["admin_a"], proposed.match.id, {"delivered_m": 500, "on_time": False}
    )
    steps = [(e.kind, e.by, e.side) for e in corrected.match.events]
    assert steps == [
        ("proposed", "admin_b", "requester"),
        ("accepted", "admin_a", "offerer"),
        ("outcome", "admin_b", "requester"),
        ("outcome", "admin_a", "offerer"),
    ]
    assert corrected.match.delivered_m == 500.0 and corrected.match.on_time is False
    # Both parties list it; the third mill does not see it.
    assert [m.match.id for m in cs.list_matches(registry, people["viewer_a"], mills.a)] == [
        proposed.match.id
    ]
    assert [m.match.id for m in cs.list_matches(registry, people["admin_b"], mills.b)] == [
        proposed.match.id
    ]
    assert cs.list_matches(registry, people["admin_c"], mills.c) == []
    counts = cs.match_counts(registry, people["bureau"])
    assert counts.by_status == {"completed": 1} and counts.delivered_m == 500.0
    assert (counts.late, counts.open_requests, counts.publications) == (1, 1, 1)
    assert request_id


def test_others_do_not_see_a_match_or_a_request(mills: Mills) -> None:
    request_id, proposed = _trade(mills)
    registry, people = mills.registry, mills.people
    with pytest.raises(NotFoundError):
        cs.match_view(registry, people["admin_c"], proposed.match.id)
    for who in ("bureau", "operator"):
        with pytest.raises(ForbiddenError):
            cs.match_view(registry, people[who], proposed.match.id)
        with pytest.raises(ForbiddenError):
            cs.list_requests(registry, people[who], mills.b)
    # A mill the request was proposed to sees it through the match, not on its own.
    with pytest.raises(NotFoundError):
        cs.request_view(registry, mills.looms, people["admin_a"], request_id, NOW)
    with pytest.raises(ForbiddenError):
        cs.match_counts(registry, people["admin_a"])


def test_proposals_go_only_to_fitting_offers_of_others_once(mills: Mills) -> None:
    request_id, proposed = _trade(mills)
    registry, people, looms = mills.registry, mills.people, mills.looms
    codes = []
    for offerer in (mills.b, mills.c, "A", mills.a):
        try:
            cs.propose(registry, looms, people["admin_b"], request_id, offerer, "", NOW)
        except (ValidationError, ConflictError) as exc:
            codes.append(exc.code)
    assert codes == [
        "capacity_own_offer",
        "capacity_offer_unknown",
        "capacity_offer_unknown",
        "capacity_match_exists",
    ]
    # Declined, it may be proposed again; once the request is closed, not any more.
    cs.answer(registry, people["admin_a"], proposed.match.id, False)
    again = cs.propose(registry, looms, people["admin_b"], request_id, mills.a, "", NOW)
    assert again.match.status == "proposed"
    cs.close_request(registry, people["admin_b"], request_id)
    cs.answer(registry, people["admin_a"], again.match.id, False)
    with pytest.raises(ConflictError) as closed:
        cs.propose(registry, looms, people["admin_b"], request_id, mills.a, "", NOW)
    assert closed.value.code == "capacity_request_closed"


def test_an_unfitting_request_ranks_nothing_and_says_why(mills: Mills) -> None:
    cs.publish(mills.registry, mills.looms, mills.people["admin_a"], mills.a, 7, 0, NOW)
    wide = cs.post_request(
        mills.registry, mills.people["admin_b"], mills.b, request_fields(min_width_cm=280), NOW
    )
    view = cs.request_view(mills.registry, mills.looms, mills.people["admin_b"], wide.id, NOW)
    assert view.offers == () and view.excluded["width"] == 1


def test_a_viewer_reads_requests_but_does_not_post(mills: Mills) -> None:
    with pytest.raises(ForbiddenError) as caught:
        cs.post_request(mills.registry, mills.people["viewer_a"], mills.a, request_fields(), NOW)
    assert caught.value.code == "capacity_admins_only"
    assert cs.list_requests(mills.registry, mills.people["viewer_a"], mills.a) == []


def test_stored_cells_read_back_as_written(mills: Mills) -> None:
    capacity = cs.compute_idle(mills.looms, mills.a, 2, NOW)
    again = [cs.cell_from_json(cs.cell_to_json(c)) for c in capacity.cells]
    assert [replace(c, picks=round(c.picks)) for c in capacity.cells] == pytest.approx(again)
    assert isinstance(cs.cell_to_json(capacity.cells[0])["day"], str)


def test_the_loom_source_is_found_on_the_application_state() -> None:
    running, fake = FakeLooms(), FakeLooms()
    state = SimpleNamespace(services=SimpleNamespace(analytics=SimpleNamespace(looms=running)))
    assert cs.loom_source_of(state) is running
    state.loom_source = fake
    assert cs.loom_source_of(state) is fake
    assert cs.loom_source_of(SimpleNamespace(services=SimpleNamespace(analytics=None))) is None
    assert cs.loom_source_of(SimpleNamespace(loom_source="not a source")) is None
