"""Shared capacity's inputs, from a JSON body or a console form alike: each field checked, each
fault refused with its own error code (translated in ``web/locale/*/errors.po``) and its field.

Numbers arrive as JSON numbers or as a form's text; both are read here, so the API and the
console accept and refuse the same things.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from shugu.analytics.capacity import LOOM_TYPES, MAX_DAYS, LoomType, first_day, today
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import utc_now_ms
from shugu.store.registry.capacity import NewCapacityRequest

MAX_HOLD_BACK: Final = 0.9
MAX_FABRIC_LENGTH: Final = 200
MAX_NOTE_LENGTH: Final = 2000
WIDTH_RANGE_CM: Final = (10.0, 600.0)
DENSITY_RANGE: Final = (1.0, 200.0)
MAX_METRES: Final = 10_000_000.0
#: How far ahead a deadline may lie.
MAX_DEADLINE_DAYS: Final = 366


def parse_days(value: object) -> int:
    days = number(value, "days", "capacity_days_invalid", 1, MAX_DAYS)
    if not float(days).is_integer():
        raise ValidationError(
            f"days must be a whole number from 1 to {MAX_DAYS}",
            code="capacity_days_invalid",
            field="days",
        )
    return int(days)


def parse_hold_back(value: object) -> float:
    return number(value, "hold_back", "capacity_hold_back_invalid", 0.0, MAX_HOLD_BACK)


def number(value: object, field: str, code: str, low: float, high: float) -> float:
    """A finite number in [low, high] from JSON (a number) or a form (its text)."""
    parsed: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An integer beyond a float's range is no number of any range here.
        parsed = float(value) if abs(value) < 1e300 else None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = float(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or not math.isfinite(parsed) or not low <= parsed <= high:
        raise ValidationError(
            f"{field} must be a number from {low:g} to {high:g}", code=code, field=field
        )
    return parsed


def text_field(value: object, field: str, code: str, *, required: bool, limit: int) -> str:
    """Text a person typed: trimmed; a required one not empty; no control characters but the
    line breaks and tabs of a note (an optional field)."""
    allowed = "" if required else "\n\r\t"
    text = value.strip() if isinstance(value, str) else None
    if value is None and not required:
        return ""
    if text is None or (required and not text) or len(text) > limit:
        wanted = "text" if not required else "text, not empty,"
        raise ValidationError(
            f"{field} must be {wanted} of at most {limit} characters", code=code, field=field
        )
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cs", "Co") or (category == "Cc" and char not in allowed):
            raise ValidationError(
                f"{field} contains the character U+{ord(char):04X}, which is not text",
                code=code,
                field=field,
            )
    return text


def parse_loom_type(value: object) -> LoomType | None:
    if value is None or value in ("", "any"):
        return None
    for loom_type in LOOM_TYPES:
        if value == loom_type:
            return loom_type
    raise ValidationError(
        f"loom_type must be one of {', '.join(LOOM_TYPES)}, or empty for any",
        code="capacity_loom_type_invalid",
        field="loom_type",
    )


def _deadline(value: object, now_ms: int) -> date:
    first = first_day(now_ms)
    latest = today(now_ms) + timedelta(days=MAX_DEADLINE_DAYS)
    deadline: date | None = None
    if isinstance(value, str) and len(value) <= 10:
        try:
            deadline = date.fromisoformat(value)
        except ValueError:
            deadline = None
    if deadline is None or not first < deadline <= latest:
        raise ValidationError(
            f"deadline must be a day (YYYY-MM-DD, China time) after {first.isoformat()} and "
            f"at most {MAX_DEADLINE_DAYS} days ahead",
            code="capacity_deadline_invalid",
            field="deadline",
        )
    return deadline


def parse_request(fields: Mapping[str, object], now_ms: int | None = None) -> NewCapacityRequest:
    """A request's fields from a JSON body or a form, checked; each fault has its own code."""
    now = utc_now_ms() if now_ms is None else now_ms
    return NewCapacityRequest(
        fabric=text_field(
            fields.get("fabric"),
            "fabric",
            "capacity_fabric_invalid",
            required=True,
            limit=MAX_FABRIC_LENGTH,
        ),
        loom_type=parse_loom_type(fields.get("loom_type")),
        min_width_cm=number(
            fields.get("min_width_cm"), "min_width_cm", "capacity_width_invalid", *WIDTH_RANGE_CM
        ),
        picks_per_cm=number(
            fields.get("picks_per_cm"), "picks_per_cm", "capacity_density_invalid", *DENSITY_RANGE
        ),
        metres=_metres(fields.get("metres")),
        deadline=_deadline(fields.get("deadline"), now),
    )


def _metres(value: object) -> float:
    metres = number(value, "metres", "capacity_metres_invalid", 0.0, MAX_METRES)
    if metres <= 0:
        raise ValidationError(
            "metres must be more than 0", code="capacity_metres_invalid", field="metres"
        )
    return metres


def parse_note(value: object) -> str:
    return text_field(value, "note", "capacity_note_invalid", required=False, limit=MAX_NOTE_LENGTH)


def _on_time(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "on", "off", "1", "0"):
        return value.strip().lower() in ("true", "on", "1")
    raise ValidationError(
        "on_time must be true or false", code="capacity_on_time_invalid", field="on_time"
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered_m: float
    on_time: bool
    note: str


def parse_outcome(fields: Mapping[str, object]) -> Outcome:
    return Outcome(
        delivered_m=number(
            fields.get("delivered_m"), "delivered_m", "capacity_delivered_invalid", 0.0, MAX_METRES
        ),
        on_time=_on_time(fields.get("on_time")),
        note=parse_note(fields.get("note")),
    )
