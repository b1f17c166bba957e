"""Monthly operation's scheduled work, idempotent so it can run as often as wanted: each day
from the 1st of a month, a reminder per enterprise still owing last month's report and a scan of
the warning rules; on the month's first working day (Monday to Friday), the district's report
for last month generated and kept.

``run_due`` does one pass; ``OperationSchedule`` runs it hourly on a thread of its own, started
and stopped by whoever owns the process's background work.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from shugu.region.operation import deadlines, months
from shugu.region.operation.service import OperationService

log = logging.getLogger(__name__)
INTERVAL_S: Final = 3600.0
#: The first pass waits this long after start: a process that starts and stops at once (a test,
#: a restart) does no month's work, and a server's start is not slowed by it.
FIRST_DELAY_S: Final = 60.0
SCHEDULE_USER: Final = "schedule"


def first_working_day(month: str) -> date:
    day = months.first_day(month)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class DueRun:
    month: str
    reminders: int
    warnings_new: int
    generated: bool


def run_due(service: OperationService) -> DueRun:
    today = service.today()
    month = months.due_month(today)
    reminders = deadlines.record_reminders(
        service.registry, month, today, service.settings.deadline_day
    )
    scanned = service.scan(month)
    generated = False
    kept = {r.month for r in service.registry.list_operation_reports() if r.report == "operation"}
    if (
        service.settings.report_on_first_working_day
        and month not in kept
        and today >= first_working_day(months.of_day(today))
    ):
        service.generate(month, SCHEDULE_USER)
        generated = True
    return DueRun(month, reminders, scanned.new, generated)


class OperationSchedule:
    def __init__(
        self,
        service: OperationService,
        interval_s: float = INTERVAL_S,
        first_delay_s: float = FIRST_DELAY_S,
    ) -> None:
        self._service = service
        self._interval_s = interval_s
        self._first_delay_s = first_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="operation-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        if self._stop.wait(self._first_delay_s):
            return
        while not self._stop.is_set():
            try:
                run_due(self._service)
                if self._failing:
                    log.info("monthly operation's scheduled work runs again")
                self._failing = False
            except Exception:
                if not self._failing:
                    log.exception("monthly operation's scheduled work failed; retrying hourly")
                self._failing = True
            self._stop.wait(self._interval_s)
