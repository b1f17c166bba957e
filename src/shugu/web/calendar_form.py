"""The calendar page's form: a calendar version shown as rows of inputs, the posted rows read
back into the API's JSON body, and the service's errors placed beside the row they concern.

Rows left wholly blank are dropped, so the page can offer empty rows to fill in; an error's field
(``shifts.2.start``) names the body's entry, which ``CalendarForm`` maps back to its row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from itertools import zip_longest
from typing import Any, Final

from starlette.datastructures import FormData

from shugu.analytics.calendar import CalendarVersion, local_minutes_text
from shugu.analytics.calendar_body import MAX_BREAKS, MAX_DOWNTIME, MAX_SHIFTS, local_datetime_text
from shugu.domain.errors import ShuguError
from shugu.web.i18n import Translator

#: Empty rows offered below the filled ones.
SPARE_ROWS: Final = {"shifts": 2, "breaks": 2, "downtime": 1}
ROW_FIELDS: Final = {
    "shifts": ("name", "start", "end"),
    "breaks": ("name", "start", "end"),
    "downtime": ("start", "end", "note"),
}
#: Form field name prefix of each row section.
PREFIX: Final = {"shifts": "shift", "breaks": "break", "downtime": "downtime"}
MOST_ROWS: Final = {"shifts": MAX_SHIFTS, "breaks": MAX_BREAKS, "downtime": MAX_DOWNTIME}
_DAY_SPLIT = re.compile(r"[\s,，、;；]+")
#: Every field the form posts: for the fuzz suite and the tests.
FORM_FIELDS: Final = (
    "effective_from",
    "note",
    "rest_day",
    "holidays",
    "makeup_days",
    *(f"{PREFIX[s]}_{f}" for s, names in ROW_FIELDS.items() for f in names),
)


@dataclass
class CalendarForm:
    effective_from: str = ""
    note: str = ""
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    rest_days: set[int] = field(default_factory=set)
    holidays: str = ""
    makeup_days: str = ""
    #: "effective_from", "note", "rest_days", "holidays", "makeup_days", "<section>.<row>" or
    #: "_form" → the message shown there.
    errors: dict[str, str] = field(default_factory=dict)
    #: Per section, the form row of each body entry (blank rows are not sent).
    sent_rows: dict[str, list[int]] = field(default_factory=dict)

    def with_spare_rows(self) -> CalendarForm:
        for section, spare in SPARE_ROWS.items():
            blank = dict.fromkeys(ROW_FIELDS[section], "")
            rows = self.rows.setdefault(section, [])
            rows.extend(dict(blank) for _ in range(spare))
        return self


def form_of(version: CalendarVersion, effective_from: date) -> CalendarForm:
    """The form filled in with a version's calendar, to become a new version from a date."""
    calendar = version.calendar
    return CalendarForm(
        effective_from=effective_from.isoformat(),
        rows={
            "shifts": [
                {
                    "name": s.name,
                    "start": local_minutes_text(s.start_min),
                    "end": local_minutes_text(s.end_min),
                }
                for s in calendar.shifts
            ],
            "breaks": [
                {
                    "name": b.name,
                    "start": local_minutes_text(b.start_min),
                    "end": local_minutes_text(b.end_min),
                }
                for b in calendar.breaks
            ],
            "downtime": [
                {
                    "start": local_datetime_text(d.start_ms),
                    "end": local_datetime_text(d.end_ms),
                    "note": d.note,
                }
                for d in calendar.downtime
            ],
        },
        rest_days=set(calendar.rest_days),
        holidays="\n".join(d.isoformat() for d in sorted(calendar.holidays)),
        makeup_days="\n".join(d.isoformat() for d in sorted(calendar.makeup_days)),
    ).with_spare_rows()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _texts(form: FormData, name: str, most: int) -> list[str]:
    # One more than allowed, so that the service refuses too many instead of the page dropping.
    values = form.getlist(name)[: most + 1]
    return [v.strip() if isinstance(v, str) else "" for v in values]


def read_form(form: FormData) -> tuple[CalendarForm, dict[str, Any]]:
    """The form as posted, and the body it asks the service to save."""
    shown = CalendarForm(
        effective_from=_text(form, "effective_from"),
        note=_text(form, "note"),
        holidays=_text(form, "holidays"),
        makeup_days=_text(form, "makeup_days"),
    )
    for value in form.getlist("rest_day")[:7]:
        if isinstance(value, str) and value.strip() in {"1", "2", "3", "4", "5", "6", "7"}:
            shown.rest_days.add(int(value))
    body: dict[str, Any] = {
        "effective_from": shown.effective_from,
        "note": shown.note,
        "rest_days": sorted(shown.rest_days),
        "holidays": [d for d in _DAY_SPLIT.split(shown.holidays) if d],
        "makeup_days": [d for d in _DAY_SPLIT.split(shown.makeup_days) if d],
    }
    for section, names in ROW_FIELDS.items():
        columns = [_texts(form, f"{PREFIX[section]}_{n}", MOST_ROWS[section]) for n in names]
        rows = [
            dict(zip(names, cells, strict=True)) for cells in zip_longest(*columns, fillvalue="")
        ]
        shown.rows[section] = rows
        sent = [i for i, row in enumerate(rows) if any(row.values())]
        shown.sent_rows[section] = sent
        body[section] = [_entry(section, rows[i]) for i in sent]
    return shown, body


def _entry(section: str, row: dict[str, str]) -> dict[str, str]:
    if section == "downtime":
        # A datetime-local input sends "2026-12-10T08:00"; a typed one may use a space.
        return {k: (v.replace(" ", "T", 1) if k != "note" else v) for k, v in row.items()}
    return dict(row)


def place_error(tr: Translator, form: CalendarForm, exc: ShuguError) -> None:
    """The error beside the input it concerns, in the user's language, naming the entry."""
    where = str(exc.details.get("field") or "")
    message = tr.error(exc.code, exc.message)
    parts = where.split(".")
    section = parts[0]
    if section in ROW_FIELDS and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        sent = form.sent_rows.get(section, [])
        if index < len(sent):
            form.errors[f"{section}.{sent[index]}"] = message
            return
    if section in ("holidays", "makeup_days") and len(parts) > 1 and parts[1].isdigit():
        days = [d for d in _DAY_SPLIT.split(getattr(form, section)) if d]
        index = int(parts[1])
        if index < len(days):
            form.errors[section] = f"{days[index][:40]}: {message}"
            return
    if section in ("effective_from", "note", "rest_days", "holidays", "makeup_days"):
        form.errors[section] = message
    elif section in ROW_FIELDS:
        form.errors[f"{section}._all"] = message
    else:
        form.errors["_form"] = message
