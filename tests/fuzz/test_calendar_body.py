"""Hostile shift calendars (the body of ``PUT /api/enterprises/{id}/calendar`` and of the
console's calendar form): refused with a code and a message, or accepted and then sound: saved,
read back to the same calendar, and making planned time that only grows and never exceeds the
span it is counted over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from bench.fuzz_cases import (
    ACCEPTED,
    Verdict,
    hostile_numbers,
    hostile_text,
    json_scalars,
    judge,
    mixture,
    unexplained,
)
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.analytics import calendar_service
from shugu.analytics.calendar import DAY_MS, day_plans, day_start_ms
from shugu.analytics.calendar_body import calendar_json, parse_calendar
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

NAMES = ["白班", "夜班", "早班", "中班", "午餐", "白班 ", "", " "]
ODD_TIMES = ["24:00", "23:59", "00:00", "12:30", "7:00", "08:00:00", "25:00", "-1:00", "０８:00"]

#: What a JSON parser can hand over: scalars with hostile parts, in lists and objects.
json_parsed = st.recursive(
    json_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(hostile_text, kids, max_size=4)
    ),
    max_leaves=12,
)
anything = st.one_of(hostile_text, hostile_numbers, st.none(), st.booleans(), json_parsed)
hours = st.integers(0, 24).map(lambda h: f"{h:02d}:00")
minutes = st.integers(0, 24 * 60).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
times = mixture((8, hours), (4, minutes), (1, st.sampled_from(ODD_TIMES)), (1, anything))
names = mixture((8, st.sampled_from(NAMES)), (1, anything))
days = mixture(
    (12, st.dates(date(1998, 1, 1), date(2101, 1, 1)).map(date.isoformat)),
    (1, anything),
)
moments = mixture(
    (
        4,
        st.datetimes(datetime(1995, 1, 1), datetime(2105, 1, 1)).map(
            lambda d: d.isoformat(timespec="minutes")
        ),
    ),
    (1, st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1)).map(datetime.isoformat)),
    (1, anything),
)


def windows(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    entry = mixture((15, st.fixed_dictionaries(fields)), (1, anything))
    return mixture((15, st.lists(entry, max_size=5)), (1, anything))


calendar_bodies = st.fixed_dictionaries(
    {
        "effective_from": days,
        "shifts": windows({"name": names, "start": hours, "end": times}),
    },
    optional={
        "note": names,
        "breaks": windows({"name": names, "start": times, "end": times}),
        "rest_days": mixture(
            (6, st.lists(st.integers(0, 8), max_size=8)), (1, st.lists(anything, max_size=3))
        ),
        "holidays": mixture((6, st.lists(days, max_size=6)), (1, anything)),
        "makeup_days": mixture((6, st.lists(days, max_size=4)), (1, anything)),
        "downtime": windows({"start": moments, "end": moments, "note": names}),
    },
)
#: Now and then a field no calendar has, or one left out.
odd_bodies = st.tuples(calendar_bodies, hostile_text, anything, st.booleans()).map(
    lambda t: {**t[0], t[1]: t[2]} if t[3] else {k: v for k, v in t[0].items() if k != t[1]}
)
cases = mixture((8, calendar_bodies), (1, odd_bodies), (1, json_parsed))


class CalendarWorld:
    """One enterprise in an in-memory registry, to save every accepted calendar into."""

    def __init__(self) -> None:
        self.registry = Registry("sqlite://")
        region = self.registry.create_region("350100", "福州市")
        park = self.registry.create_park(region.id, "长乐纺织园", "350112")
        self.enterprise = self.registry.create_enterprise(
            park.id, "甲纺织", "91110000600037341L", "0502"
        ).id

    def check(self, body: Any) -> Verdict:
        saved = calendar_service.save_calendar(self.registry, self.enterprise, body, "fuzz")
        calendar = saved.calendar
        if parse_calendar(calendar_json(calendar)) != calendar:
            return unexplained(f"the calendar does not read back as saved: {calendar!r}")
        versions = calendar_service.get_calendar(self.registry, self.enterprise)
        if versions.in_force(saved.effective_from).id != saved.id:
            return unexplained("the version just saved is not in force from its date")
        start = day_start_ms(saved.effective_from) - DAY_MS
        clock = versions.clock(start, start + 32 * DAY_MS)
        probes = np.sort(start + np.linspace(0, 32 * DAY_MS, 97).astype(np.int64))
        counted = clock.cumulative(probes)
        if (np.diff(counted) < 0).any() or (np.diff(counted) > np.diff(probes)).any():
            return unexplained("planned time shrinks, or grows faster than time")
        week = day_plans(versions, saved.effective_from, 7)
        if any(not 0 <= d.planned_ms <= 2 * DAY_MS for d in week):
            return unexplained(f"a day plans more than its shifts can hold: {week!r}")
        return ACCEPTED

    def close(self) -> None:
        self.registry.close()


@pytest.fixture(scope="module")
def calendar_world() -> Iterator[CalendarWorld]:
    world = CalendarWorld()
    try:
        yield world
    finally:
        world.close()


VALID = {
    "effective_from": "2026-12-01",
    "shifts": [{"name": "夜班", "start": "20:00", "end": "08:00"}],
    "breaks": [{"name": "夜宵", "start": "23:50", "end": "00:10"}],
}


@fuzz()
@given(cases)
@example(VALID)
@example({**VALID, "effective_from": "2099-12-31"})
@example({**VALID, "downtime": [{"start": "2099-12-31T23:00", "end": "2100-01-01T01:00"}]})
@example({**VALID, "shifts": [{"name": "全天", "start": "08:00", "end": "08:00"}], "breaks": []})
@example({**VALID, "holidays": [str(date(2026, 12, 1) + timedelta(days=k)) for k in range(40)]})
@example({**VALID, "rest_days": list(range(1, 8)), "makeup_days": ["2026-12-02"]})
def test_calendar_bodies(calendar_world: CalendarWorld, case: Any) -> None:
    sound(judge(calendar_world.check, case))
