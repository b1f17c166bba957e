"""Idle loom capacity and the ranking of offers, on cases computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from shugu.analytics.capacity import (
    CapacityCell,
    CapacityNeed,
    LoomStatus,
    LoomType,
    Offer,
    board_cells,
    day_start_ms,
    first_day,
    idle_capacity,
    metres_per_effective_hour,
    rank_offers,
    width_class,
)

START = date(2026, 12, 1)


def loom(
    device_id: int,
    loom_type: LoomType | None = "air_jet",
    width_cm: float | None = 190,
    rpm: float | None = 600,
    *,
    running: bool = True,
    cause: int | None = None,
    efficiency: float | None = 0.6,
    allocation: float | None = 0.75,
) -> LoomStatus:
    return LoomStatus(device_id, loom_type, width_cm, rpm, running, cause, efficiency, allocation)


def test_metres_per_effective_hour_follow_speed_and_weft_density() -> None:
    # 600 picks a minute are 36,000 an hour; 30 picks per cm are 3,000 a metre: 12 m an hour.
    assert metres_per_effective_hour(600, 30) == pytest.approx(12.0)
    assert metres_per_effective_hour(800, 40) == pytest.approx(12.0)


def test_width_classes_are_whole_tens_of_centimetres() -> None:
    assert width_class(190) == 190
    assert width_class(199.9) == 190
    assert width_class(230) == 230
    assert width_class(None) is None
    assert width_class(float("nan")) is None
    assert width_class(-5) is None


def test_idle_capacity_by_type_width_and_day() -> None:
    looms = [
        # Allocated three quarters of the last week: a quarter of its planned hours is idle.
        # It ran 60 % of the week, 80 % of the time it had an order.
        loom(1),
        # Waiting for an order now (stop cause 4): the whole first day is idle, then half.
        loom(2, width_cm=195, rpm=800, running=False, cause=4, efficiency=0.4, allocation=0.5),
    ]
    capacity = idle_capacity(looms, [24.0, 16.0], START)
    assert capacity.days == (START, date(2026, 12, 2))
    assert capacity.looms == 2 and capacity.waiting_now == 1
    first, second = capacity.cells
    assert (first.loom_type, first.width_class_cm, first.day) == ("air_jet", 190, START)
    # Loom 1: 24 h × 0.25 = 6 h, × 0.8 = 4.8 effective. Loom 2: 24 h, × 0.8 = 19.2 effective.
    assert first.loom_hours == pytest.approx(30.0)
    assert first.effective_hours == pytest.approx(24.0)
    assert first.picks == pytest.approx(4.8 * 600 * 60 + 19.2 * 800 * 60)
    assert first.efficiency == pytest.approx(0.8)
    # Day two: 16 h × 0.25 = 4 h and 16 h × 0.5 = 8 h.
    assert second.day == date(2026, 12, 2)
    assert second.loom_hours == pytest.approx(12.0)
    assert second.effective_hours == pytest.approx(3.2 + 6.4)
    # 30 picks per cm: loom 1's 3.2 h weave 38.4 m (12 m/h), loom 2's 6.4 h 102.4 m (16 m/h).
    assert second.metres(30) == pytest.approx(38.4 + 102.4)


def test_efficiency_while_allocated_leaves_out_the_wait_for_orders() -> None:
    # Ran 60 % of the week, waited for orders 25 %: 60 / 75 = 80 % while it had an order.
    assert loom(1, efficiency=0.6, allocation=0.75).working_efficiency == pytest.approx(0.8)
    assert loom(1, efficiency=None).working_efficiency is None
    assert loom(1, efficiency=0.6, allocation=None).working_efficiency == 0.6
    # A week without any order says nothing of how it runs with one.
    assert loom(1, efficiency=0.0, allocation=0.0).working_efficiency is None
    # Figures that do not add up are held to 100 %.
    assert loom(1, efficiency=0.9, allocation=0.5).working_efficiency == 1.0


def test_what_is_not_known_is_not_offered() -> None:
    looms = [
        # No allocation on record: nothing is offered that the record does not show free.
        loom(1, "rapier", None, None, efficiency=None, allocation=None),
        # No efficiency of its own: the mean of the looms that have one (0.8 and 0.9).
        loom(2, "water_jet", 230, 500, efficiency=None, allocation=0.0),
        loom(3, efficiency=0.6),
        loom(4, efficiency=0.675),
    ]
    capacity = idle_capacity(looms, [10.0], START)
    cells = {(c.loom_type, c.width_class_cm): c for c in capacity.cells}
    assert cells[("rapier", None)].loom_hours == 0.0
    water = cells[("water_jet", 230)]
    assert water.loom_hours == pytest.approx(10.0)
    assert water.effective_hours == pytest.approx(8.5)
    assert capacity.lacking == {"loom_type": 0, "width_cm": 1, "rated_speed_rpm": 1}


def test_planned_hours_outside_a_day_are_clamped() -> None:
    capacity = idle_capacity([loom(1, allocation=0.0)], [30.0, -2.0, float("nan")], START)
    assert [c.loom_hours for c in capacity.cells] == [24.0, 0.0, 0.0]


def test_holding_back_scales_every_cell() -> None:
    looms = [loom(1, efficiency=0.45, allocation=0.5)]
    capacity = idle_capacity(looms, [20.0], START).held_back(0.25)
    (cell,) = capacity.cells
    # 20 h × 0.5 idle = 10 h, a quarter held back: 7.5 h, × 0.9 while allocated.
    assert cell.loom_hours == pytest.approx(7.5)
    assert cell.effective_hours == pytest.approx(6.75)


def test_the_first_day_is_tomorrow_in_china_time() -> None:
    # 2026-11-30 23:30 China time is 15:30 UTC; tomorrow there is 1 December.
    now = day_start_ms(date(2026, 11, 30)) + 23 * 3_600_000 + 30 * 60_000
    assert first_day(now) == date(2026, 12, 1)
    assert first_day(day_start_ms(date(2026, 12, 1))) == date(2026, 12, 2)


def cell(
    loom_type: LoomType | None,
    width: int | None,
    day: date,
    hours: float,
    efficiency: float = 0.9,
    rpm: float = 600,
) -> CapacityCell:
    effective = hours * efficiency
    return CapacityCell(loom_type, width, day, hours, effective, effective * rpm * 60)


NEED = CapacityNeed(
    loom_type="air_jet",
    min_width_cm=180,
    picks_per_cm=30,
    metres=1000,
    deadline=date(2026, 12, 4),
)


def test_offers_are_ranked_by_cover_efficiency_and_fit() -> None:
    d1, d2, d3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
    offers = [
        # 100 h × 0.9 at 600 rpm: 90 effective hours × 12 m = 1,080 m; 190 cm for 180 asked.
        Offer(1, 11, [cell("air_jet", 190, d1, 50), cell("air_jet", 190, d2, 50)]),
        # Half the metres, on looms a little better.
        Offer(2, 12, [cell("air_jet", 180, d3, 50, efficiency=0.95)]),
        # Capacity on the deadline day and after counts for nothing.
        Offer(3, 13, [cell("air_jet", 190, date(2026, 12, 4), 100)]),
        Offer(4, 14, [cell("rapier", 190, d1, 100)]),
        Offer(5, 15, [cell("air_jet", 170, d1, 100)]),
    ]
    ranking = rank_offers(NEED, offers, d1)
    assert [o.enterprise_id for o in ranking.offers] == [11, 12]
    assert ranking.excluded == {"loom_type": 1, "width": 1, "deadline": 1}
    best = ranking.offers[0]
    assert best.metres == pytest.approx(1080)
    parts = {p.name: p for p in best.parts}
    assert parts["cover"].value == 1.0
    assert parts["efficiency"].value == pytest.approx(0.9)
    assert parts["fit"].value == pytest.approx(180 / 190)
    assert best.score == pytest.approx(50 + 27 + 20 * 180 / 190)
    assert best.score == pytest.approx(sum(p.points for p in best.parts))
    second = ranking.offers[1]
    assert second.metres == pytest.approx(50 * 0.95 * 12)
    assert {p.name: p.value for p in second.parts}["cover"] == pytest.approx(0.57)
    assert second.days == (d3,)


def test_a_request_for_any_loom_type_takes_every_type() -> None:
    need = CapacityNeed(None, 180, 30, 100, date(2026, 12, 4))
    offers = [Offer(1, 11, [cell("rapier", 190, START, 10), cell(None, 200, START, 10)])]
    (ranked,) = rank_offers(need, offers, START).offers
    assert set(ranked.groups) == {("rapier", 190), (None, 200)}


def test_capacity_before_the_first_day_is_not_counted() -> None:
    offers = [Offer(1, 11, [cell("air_jet", 190, date(2026, 11, 30), 100)])]
    assert rank_offers(NEED, offers, START).excluded["deadline"] == 1


def test_the_board_sums_publications_per_group_and_day() -> None:
    a = [cell("air_jet", 190, START, 10), cell("air_jet", 190, date(2026, 11, 30), 99)]
    b = [cell("air_jet", 190, START, 5), cell("rapier", 230, START, 7)]
    totals = board_cells([a, b], START)
    assert [(c.loom_type, c.width_class_cm, c.loom_hours) for c in totals] == [
        ("air_jet", 190, 15.0),
        ("rapier", 230, 7.0),
    ]
