"""Time in shugu: milliseconds since 1970 UTC; calendars in China Standard Time.

Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so calendar days are fixed
24-hour windows starting at 16:00 UTC, and buckets align to local midnight by a fixed offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from shugu.domain.errors import ValidationError

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
CHINA_OFFSET_MS = 8 * 3600 * 1000

MAX_BUCKET_MS = 366 * 86_400_000
#: The instants shugu reads: 1970 up to the end of year 9999.
MAX_INSTANT_MS = 253_402_300_799_999
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_BUCKET = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")


def parse_bucket(text: str, field: str = "bucket") -> int:
    """'1m', '15m', '1h', '1d' … → width in ms."""
    match = _BUCKET.match(text)
    if not match:
        raise ValidationError(
            f"{field} must be a whole number and a unit s, m, h, d or w, "
            f"such as 1m, 15m, 1h, 1d; got {text!r}",
            code="bad_bucket",
            field=field,
        )
    count = int(match.group(1)) if len(match.group(1)) <= 9 else 10**9
    unit = "m" if match.group(2) == "min" else match.group(2)
    width = count * _UNIT_MS[unit]
    if not 0 < width <= MAX_BUCKET_MS:
        raise ValidationError(
            f"{field} must be between 1 s and 366 d", code="bad_bucket", field=field
        )
    return width


def parse_instant(text: str, field: str) -> int:
    """Milliseconds since 1970, or ISO 8601; an ISO time without offset is China time."""
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        value = int(stripped) if len(stripped) <= 20 else MAX_INSTANT_MS + 1
        if not 0 <= value <= MAX_INSTANT_MS:
            raise ValidationError(
                f"{field} must lie between 1970 and the year 9999", code="bad_time", field=field
            )
        return value
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field} must be milliseconds since 1970 or an ISO 8601 time such as "
            f"2026-11-22T08:00:00+08:00; got {text!r}",
            code="bad_time",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA_TZ)
    return int(parsed.timestamp() * 1000)


def to_iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, CHINA_TZ).isoformat(timespec="milliseconds")


def china_datetime(ts_ms: int) -> datetime:
    """An aware China-time datetime from milliseconds since the epoch."""
    return datetime.fromtimestamp(ts_ms / 1000, CHINA_TZ)


def utc_datetime(ts_ms: int) -> datetime:
    """An aware UTC datetime from milliseconds since the epoch."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def utc_now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
