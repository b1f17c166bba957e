"""The repeat/escalation plan as a table: (state, acknowledged, cleared, now) → what is sent."""

from __future__ import annotations

import pydantic
import pytest

from shugu.domain.errors import ValidationError
from shugu.monitor.model import NoticeEvent
from shugu.monitor.notify.escalation import (
    EscalationPolicy,
    EscalationState,
    audience,
    parse_policy,
    plan,
    plan_all,
)

MIN = 60_000
T0 = 1_782_885_785_000

POLICY = EscalationPolicy(
    first=["dd-duty", "mail-duty"], repeat_every_min=15, escalate_after_min=60, second=["dd-lead"]
)


def state(last_sent_min: int = 0, escalated: bool = False) -> EscalationState:
    return EscalationState(
        raised_at_ms=T0, last_sent_ms=T0 + last_sent_min * MIN, escalated=escalated
    )


# (case, state, acknowledged, cleared, now in minutes after raising,
#  expected event, expected channels, expected state)
CASES = [
    ("just raised", state(), False, False, 0, None, [], state()),
    ("before the first reminder", state(), False, False, 14, None, [], state()),
    (
        "reminder due",
        state(),
        False,
        False,
        15,
        NoticeEvent.repeated,
        ["dd-duty", "mail-duty"],
        state(15),
    ),
    ("reminder just sent", state(15), False, False, 29, None, [], state(15)),
    (
        "second reminder, counted from the first",
        state(15),
        False,
        False,
        30,
        NoticeEvent.repeated,
        ["dd-duty", "mail-duty"],
        state(30),
    ),
    (
        "ticker paused for 40 min: one reminder, not three",
        state(0),
        False,
        False,
        55,
        NoticeEvent.repeated,
        ["dd-duty", "mail-duty"],
        state(55),
    ),
    (
        "escalation due, before a reminder due at the same time",
        state(45),
        False,
        False,
        60,
        NoticeEvent.escalated,
        ["dd-lead"],
        state(45, escalated=True),
    ),
    (
        "after escalation the first group is still reminded",
        state(45, escalated=True),
        False,
        False,
        60,
        NoticeEvent.repeated,
        ["dd-duty", "mail-duty"],
        state(60, escalated=True),
    ),
    ("escalated once only", state(60, escalated=True), False, False, 70, None, [], state(60, True)),
    ("acknowledged: silence", state(), True, False, 15, None, [], state()),
    ("acknowledged: no escalation either", state(45), True, False, 90, None, [], state(45)),
    ("cleared unacknowledged: silence", state(), False, True, 120, None, [], state()),
]


@pytest.mark.parametrize(
    ("case", "before", "acknowledged", "cleared", "now_min", "event", "channels", "after"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_plan(
    case: str,
    before: EscalationState,
    acknowledged: bool,
    cleared: bool,
    now_min: int,
    event: NoticeEvent | None,
    channels: list[str],
    after: EscalationState,
) -> None:
    assert plan(POLICY, before, acknowledged, cleared, T0 + now_min * MIN) == (
        event,
        channels,
        after,
    )


def test_a_policy_without_reminders_or_escalation_stays_silent() -> None:
    quiet = EscalationPolicy(first=["dd-duty"])
    assert plan(quiet, state(), False, False, T0 + 10_000 * MIN) == (None, [], state())


def test_a_day_of_ticks_every_minute() -> None:
    """Walk an unacknowledged alarm minute by minute, then acknowledge it at 100 min."""
    current = EscalationState.opened(T0)
    sent: list[tuple[int, NoticeEvent, list[str]]] = []
    for minute in range(1, 24 * 60):
        acknowledged = minute >= 100
        due, current = plan_all(POLICY, current, acknowledged, False, T0 + minute * MIN)
        sent += [(minute, event, names) for event, names in due]
    duty, lead = ["dd-duty", "mail-duty"], ["dd-lead"]
    assert sent == [
        (15, NoticeEvent.repeated, duty),
        (30, NoticeEvent.repeated, duty),
        (45, NoticeEvent.repeated, duty),
        (60, NoticeEvent.escalated, lead),
        (60, NoticeEvent.repeated, duty),
        (75, NoticeEvent.repeated, duty),
        (90, NoticeEvent.repeated, duty),
    ]
    assert audience(POLICY, current) == ["dd-duty", "mail-duty", "dd-lead"]
    assert audience(POLICY, EscalationState.opened(T0)) == ["dd-duty", "mail-duty"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first": []}, "first"),
        ({"first": ["a"], "repeat_every_min": 0}, "repeat_every_min"),
        ({"first": ["a"], "escalate_after_min": 30}, "needs a second group"),
        ({"first": ["a"], "second": ["b"]}, "needs escalate_after_min"),
        ({"first": ["a", "a"]}, "named twice"),
        ({"first": ["a"], "repeat_every_min": 15, "retry": 1}, "retry"),
    ],
)
def test_policy_validation_names_the_problem(fields: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        EscalationPolicy.model_validate(fields)


def test_parse_policy_gives_a_shugu_error_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_policy({"first": ["a"], "repeat_every_min": "often"})
    assert caught.value.code == "notify_policy_invalid"
    assert caught.value.details["field"] == "policy.repeat_every_min"
    assert "policy.repeat_every_min:" in caught.value.message
    assert parse_policy({"first": ["a"], "repeat_every_min": 5}).repeat_every_min == 5


def test_unknown_channels() -> None:
    assert POLICY.unknown_channels({"dd-duty", "mail-duty"}) == ["dd-lead"]
