"""An enterprise's shift calendar read, and a new version checked and saved, in one call each, so
that the API, the console and the analytics engine see the same calendar.

After a save, the calendar listeners are told the enterprise and the instant the new version
takes effect (its local midnight), so that the figures made with planned time (availability,
utilisation) are recomputed from there. Callers have already authorised the enterprise.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from datetime import date
from typing import Any, Final

from shugu.analytics.calendar import (
    CalendarVersion,
    CalendarVersions,
    DayPlan,
    day_plans,
    day_start_ms,
    local_day,
)
from shugu.analytics.calendar_body import calendar_json, parse_calendar, parse_version
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import utc_now_ms
from shugu.store.registry import Registry
from shugu.store.registry.calendars import CalendarRecord

log = logging.getLogger(__name__)

#: (enterprise id, instant from which planned time changed, ms since 1970) → None
CalendarListener = Callable[[int, int], None]
#: Days the calendar's preview shows.
PREVIEW_DAYS: Final = 7

_lock = threading.Lock()
#: Listeners of every registry, and listeners of one registry only.
_everywhere: list[CalendarListener] = []
_per_registry: weakref.WeakKeyDictionary[Registry, list[CalendarListener]] = (
    weakref.WeakKeyDictionary()
)


def add_calendar_listener(
    listener: CalendarListener, *, registry: Registry | None = None
) -> Callable[[], None]:
    """Call ``listener(enterprise_id, from_ms)`` after every saved calendar version (of
    ``registry`` only, when given: a process with several registries, such as the tests).
    Returns the call that removes the listener again."""
    with _lock:
        if registry is None:
            _everywhere.append(listener)
        else:
            _per_registry.setdefault(registry, []).append(listener)

    def remove() -> None:
        with _lock:
            found = _everywhere if registry is None else _per_registry.get(registry, [])
            if listener in found:
                found.remove(listener)

    return remove


def _notify(registry: Registry, enterprise_id: int, from_ms: int) -> None:
    with _lock:
        listeners = [*_everywhere, *_per_registry.get(registry, [])]
    for listener in listeners:
        try:
            listener(enterprise_id, from_ms)
        except Exception:
            # The version is saved; a listener's failure must not turn the save into an error.
            log.exception("a calendar listener failed for enterprise %d", enterprise_id)


def _version(record: CalendarRecord) -> CalendarVersion | None:
    try:
        calendar = parse_calendar(record.body)
    except ValidationError as exc:
        # Saved by an older shugu that checked less: left out rather than failing every read.
        log.warning("calendar version %d is not valid any more (%s); ignored", record.id, exc)
        return None
    return CalendarVersion(
        effective_from=record.effective_from,
        calendar=calendar,
        id=record.id,
        saved_at=record.saved_at,
        saved_by=record.saved_by,
        note=record.note,
    )


def get_calendar(registry: Registry, enterprise_id: int) -> CalendarVersions:
    """The enterprise's saved versions (none: the default calendar holds)."""
    versions = (_version(r) for r in registry.calendar_versions(enterprise_id))
    return CalendarVersions(enterprise_id, tuple(v for v in versions if v is not None))


def save_calendar(
    registry: Registry, enterprise_id: int, body: dict[str, Any], by: str
) -> CalendarVersion:
    """Check ``body`` (see ``calendar_body``) and keep it as a new version; listeners then
    hear of it. A version with the same ``effective_from`` as an earlier one replaces it from
    that date on; the earlier one stays in the history."""
    asked = parse_version(body)
    record = registry.add_calendar_version(
        enterprise_id,
        asked.effective_from,
        calendar_json(asked.calendar),
        saved_by=by,
        note=asked.note,
    )
    log.info(
        "enterprise %d: calendar version %d from %s saved by %s",
        enterprise_id,
        record.id,
        record.effective_from,
        by,
    )
    _notify(registry, enterprise_id, day_start_ms(asked.effective_from))
    return CalendarVersion(
        effective_from=record.effective_from,
        calendar=asked.calendar,
        id=record.id,
        saved_at=record.saved_at,
        saved_by=record.saved_by,
        note=record.note,
    )


def today() -> date:
    """Today's local date."""
    return local_day(utc_now_ms())


def preview(versions: CalendarVersions, first: date | None = None) -> list[DayPlan]:
    """The next ``PREVIEW_DAYS`` production days from ``first`` (today)."""
    return day_plans(versions, first or today(), PREVIEW_DAYS)
