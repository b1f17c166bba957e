"""Repeat and escalation as a pure plan: given an open alarm's state and the time, what to send.

The alarm book keeps one ``EscalationState`` per open alarm, sends the ``raised`` notice to
``policy.first`` itself, and on each tick calls ``plan`` (or ``plan_all``):

- while the alarm is neither acknowledged nor cleared, the first group hears ``repeated`` every
  ``repeat_every_min`` minutes (counted from the last notice to that group);
- once ``escalate_after_min`` minutes have passed since it was raised, the second group hears
  ``escalated``, once;
- after acknowledgement or clearing, nothing more: the book sends those notices itself, to
  ``audience(policy, state)`` so that an escalated group also learns the alarm is handled.

No clock, no I/O: the whole behaviour is a table of inputs and outputs (tests/monitor/
test_escalation.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shugu.monitor.model import NoticeEvent

from .errors import describe_invalid

_MINUTE_MS = 60_000
#: A week: a longer repeat or escalation delay is surely a unit mistake (hours for minutes).
_MAX_MINUTES = 7 * 24 * 60


class EscalationPolicy(BaseModel):
    """Who hears about an alarm and when, by channel name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: list[str] = Field(min_length=1)
    #: Remind the first group every N minutes until acknowledged; None: no reminders.
    repeat_every_min: int | None = Field(default=None, ge=1, le=_MAX_MINUTES)
    #: Tell the second group once after M minutes unacknowledged; None: never escalate.
    escalate_after_min: int | None = Field(default=None, ge=1, le=_MAX_MINUTES)
    second: list[str] = Field(default_factory=list)

    @field_validator("first", "second")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("channel names must not be empty")
        if len(set(value)) != len(value):
            raise ValueError("a channel is named twice")
        return value

    @model_validator(mode="after")
    def _second_group(self) -> EscalationPolicy:
        if self.escalate_after_min is not None and not self.second:
            raise ValueError("escalate_after_min needs a second group of channels to escalate to")
        if self.second and self.escalate_after_min is None:
            raise ValueError("a second group needs escalate_after_min, the delay before it hears")
        return self

    def unknown_channels(self, known: Collection[str]) -> list[str]:
        """Names the policy uses that are not among ``known`` (to reject a policy on save)."""
        return [name for name in (*self.first, *self.second) if name not in known]


def parse_policy(raw: Mapping[str, Any], *, field: str = "policy") -> EscalationPolicy:
    """Validate a policy mapping; raises shugu's ``ValidationError`` naming each bad field
    (``policy.second: Value error, ...``)."""
    try:
        return EscalationPolicy.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_invalid(
            exc, field, "the escalation policy is", "notify_policy_invalid"
        ) from exc


@dataclass(frozen=True, slots=True)
class EscalationState:
    """What the alarm book stores per open alarm (three plain values, easy to persist)."""

    raised_at_ms: int
    #: The last notice to the first group (the ``raised`` one, then each reminder).
    last_sent_ms: int
    escalated: bool = False

    @classmethod
    def opened(cls, raised_at_ms: int) -> EscalationState:
        """The state right after the ``raised`` notice went to the first group."""
        return cls(raised_at_ms=raised_at_ms, last_sent_ms=raised_at_ms, escalated=False)


def plan(
    policy: EscalationPolicy,
    state: EscalationState,
    acknowledged: bool,
    cleared: bool,
    now_ms: int,
) -> tuple[NoticeEvent | None, list[str], EscalationState]:
    """One step: (event to send or None, channel names, the state to store).

    Escalation comes before a reminder due at the same moment; the reminder then follows on the
    next call (``plan_all`` makes those calls).
    """
    if acknowledged or cleared:
        return None, [], state
    open_ms = now_ms - state.raised_at_ms
    if (
        not state.escalated
        and policy.escalate_after_min is not None
        and open_ms >= policy.escalate_after_min * _MINUTE_MS
    ):
        # The first group's reminder clock is left alone: escalation is news to the second
        # group only.
        return NoticeEvent.escalated, list(policy.second), replace(state, escalated=True)
    if (
        policy.repeat_every_min is not None
        and now_ms - state.last_sent_ms >= policy.repeat_every_min * _MINUTE_MS
    ):
        # From now, not from the due time: after a pause of the ticker (a restart) this sends
        # one reminder, not a burst of the ones missed.
        return NoticeEvent.repeated, list(policy.first), replace(state, last_sent_ms=now_ms)
    return None, [], state


def plan_all(
    policy: EscalationPolicy,
    state: EscalationState,
    acknowledged: bool,
    cleared: bool,
    now_ms: int,
) -> tuple[list[tuple[NoticeEvent, list[str]]], EscalationState]:
    """Everything due at ``now_ms`` (at most an escalation and a reminder) and the new state."""
    due: list[tuple[NoticeEvent, list[str]]] = []
    # Each step either sets ``escalated`` or moves ``last_sent_ms`` to now, so two steps are the
    # most there can be; the bound only guards against a future edit breaking that.
    for _ in range(3):
        event, names, state = plan(policy, state, acknowledged, cleared, now_ms)
        if event is None:
            break
        due.append((event, names))
    return due, state


def audience(policy: EscalationPolicy, state: EscalationState) -> list[str]:
    """Who hears ``acknowledged`` and ``cleared``: the first group, and the second one if the
    alarm was escalated to it."""
    names = list(policy.first)
    if state.escalated:
        names += [name for name in policy.second if name not in names]
    return names
