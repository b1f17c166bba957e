"""Hostile shared-capacity inputs: a request for fabric, publishing terms and a match's outcome,
as a JSON body (any JSON value per field) or a console form (text per field) brings them.

Each is refused with a code and a message that names its field, or accepted only with values
that keep their promise: text that is text, finite numbers inside their ranges, a deadline
ahead; an accepted request is stored and read back unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from bench.fuzz_cases import ACCEPTED, Verdict, hostile_text, json_scalars, judge, mixture
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.analytics import capacity_input as ci
from shugu.analytics.capacity import LOOM_TYPES, day_start_ms, first_day
from shugu.domain.errors import ValidationError
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

NOW = day_start_ms(date(2026, 12, 1)) + 10 * 3_600_000
FIRST = first_day(NOW)

VALID: dict[str, st.SearchStrategy[Any]] = {
    "fabric": st.sampled_from(["涤棉府绸", "T/C 65/35 45×45 133×72", "=HYPERLINK(1)"]),
    "loom_type": st.sampled_from([*LOOM_TYPES, None, ""]),
    "min_width_cm": st.floats(10, 600),
    "picks_per_cm": st.floats(1, 200),
    "metres": st.floats(0.5, 1e7),
    "deadline": st.integers(2, 366).map(lambda d: (FIRST + timedelta(days=d - 1)).isoformat()),
}


def _field(name: str) -> st.SearchStrategy[Any]:
    """Mostly a good value, so that the other fields' checks are reached too."""
    return mixture((3, VALID[name]), (1, json_scalars), (1, VALID[name].map(str)))


request_cases = st.fixed_dictionaries({}, optional={name: _field(name) for name in VALID})
#: What a form sends: every field text.
form_cases = st.dictionaries(st.sampled_from(list(VALID)), hostile_text, max_size=6)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    opened = Registry(f"sqlite:///{tmp_path_factory.mktemp('fuzz-capacity') / 'r.sqlite'}")
    region = opened.create_region("350100", "福州市")
    park = opened.create_park(region.id, "长乐纺织园", "350112")
    opened.create_enterprise(park.id, "丙织造", "91350100M0001TGQXM", "0502")
    try:
        yield opened
    finally:
        opened.close()


def _fault_named(exc: ValidationError) -> Verdict | None:
    if not exc.code.startswith("capacity_") or not isinstance(exc.details.get("field"), str):
        return Verdict("unexplained", (exc.code,), f"a refusal without its field: {exc!r}")
    return None


def _check_request(registry: Registry, fields: dict[str, Any]) -> Verdict:
    try:
        new = ci.parse_request(fields, NOW)
    except ValidationError as exc:
        named = _fault_named(exc)
        if named is not None:
            return named
        raise
    numbers = (new.min_width_cm, new.picks_per_cm, new.metres)
    if not all(math.isfinite(n) for n in numbers) or not new.metres > 0:
        return Verdict("unexplained", (), f"accepted numbers out of range: {new!r}")
    if not new.fabric.strip() or any(0xD800 <= ord(c) <= 0xDFFF for c in new.fabric):
        return Verdict("unexplained", (), f"accepted a fabric that is no text: {new.fabric!r}")
    if not new.deadline > FIRST or new.loom_type not in (*LOOM_TYPES, None):
        return Verdict("unexplained", (), f"accepted a deadline or type it should not: {new!r}")
    enterprise = registry.list_enterprises()[0].id
    stored = registry.add_capacity_request(enterprise, new, "fuzz")
    back = registry.get_capacity_request(stored.id)
    kept = (back.fabric, back.loom_type, back.min_width_cm, back.picks_per_cm, back.metres)
    if kept != (new.fabric, new.loom_type, *numbers) or back.deadline != new.deadline:
        return Verdict("unexplained", (), f"stored {new!r}, read back {back!r}")
    return ACCEPTED


@fuzz()
@given(request_cases)
# An integer past a float's range raised OverflowError.
@example({"min_width_cm": 10**400})
@example({"fabric": "\ud800", "metres": 5})
@example({"deadline": "2026-02-30"})
def test_capacity_requests(registry: Registry, case: dict[str, Any]) -> None:
    sound(judge(lambda c: _check_request(registry, c), case))


@fuzz(0.5)
@given(form_cases)
def test_capacity_request_forms(registry: Registry, case: dict[str, str]) -> None:
    sound(judge(lambda c: _check_request(registry, c), case))


def _check_terms(case: tuple[Any, Any]) -> Verdict:
    days, hold_back = case
    try:
        parsed = (ci.parse_days(days), ci.parse_hold_back(hold_back))
    except ValidationError as exc:
        return _fault_named(exc) or Verdict("rejected", (exc.code,))
    if not 1 <= parsed[0] <= 14 or not 0 <= parsed[1] <= 0.9:
        return Verdict("unexplained", (), f"accepted terms {parsed!r}")
    return ACCEPTED


@fuzz()
@given(st.tuples(mixture((2, st.integers(1, 14)), (1, json_scalars)), json_scalars))
@example((2**70, 0.5))
@example((7, "0.5"))
def test_publishing_terms(case: tuple[Any, Any]) -> None:
    sound(judge(_check_terms, case))


def _check_outcome(fields: dict[str, Any]) -> Verdict:
    try:
        outcome = ci.parse_outcome(fields)
    except ValidationError as exc:
        return _fault_named(exc) or Verdict("rejected", (exc.code,))
    if not math.isfinite(outcome.delivered_m) or outcome.delivered_m < 0:
        return Verdict("unexplained", (), f"accepted {outcome!r}")
    return ACCEPTED


outcome_cases = st.fixed_dictionaries(
    {},
    optional={
        "delivered_m": mixture((2, st.floats(0, 1e7)), (1, json_scalars)),
        "on_time": mixture((2, st.booleans()), (1, json_scalars)),
        "note": mixture((2, st.text(max_size=40)), (1, hostile_text)),
    },
)


@fuzz()
@given(outcome_cases)
@example({"delivered_m": -0.0, "on_time": "on", "note": "a\x00b"})
def test_match_outcomes(case: dict[str, Any]) -> None:
    sound(judge(_check_outcome, case))
