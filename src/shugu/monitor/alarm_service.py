"""What people do to an alarm: acknowledge, clear, shelve.

Each call changes the alarm in the registry, records the event in its history and lets the
monitor's alarm book follow (reminders stop, a cleared condition may raise anew, notices go
out). Callers have already decided that ``by`` may act on ``alarm_id``.
"""

from __future__ import annotations

from shugu.monitor.service import Monitor
from shugu.store.registry.monitoring import AlarmRecord


def acknowledge(monitor: Monitor, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
    """Someone has seen the alarm and is on it: reminders stop. Only an active alarm."""
    return monitor.book.acknowledge(alarm_id, by, note)


def clear(monitor: Monitor, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
    """Clear by hand; a condition that still holds raises a new alarm."""
    return monitor.book.clear(alarm_id, by, note)


def shelve(monitor: Monitor, alarm_id: int, minutes: int, by: str, note: str = "") -> AlarmRecord:
    """Silence an open alarm's notices for ``minutes``; it stays listed, marked shelved."""
    return monitor.book.shelve(alarm_id, minutes, by, note)
