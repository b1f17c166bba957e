"""The shift calendar page: the default and its week in Chinese and English, a new version saved
from the form (blank rows left out), refusals shown beside their row, and who may edit."""

from __future__ import annotations

import re

from shugu.analytics import calendar_service
from tests.api.conftest import World
from tests.web.conftest import sign_in


def page_of(w: World) -> str:
    return f"/e/{w.ent_a}/calendar"


FORM: dict[str, str | list[str]] = {
    "effective_from": "2026-12-15",
    "note": "冬季两班",
    "shift_name": ["早班", "中班", ""],
    "shift_start": ["06:00", "14:00", ""],
    "shift_end": ["14:00", "22:00", ""],
    "break_name": ["午餐", ""],
    "break_start": ["11:30", ""],
    "break_end": ["12:00", ""],
    "rest_day": ["7"],
    "holidays": "2026-12-25\n2027-01-01",
    "makeup_days": "2026-12-27",
    "downtime_start": ["2026-12-16T06:00"],
    "downtime_end": ["2026-12-16T10:00"],
    "downtime_note": ["检修"],
}


def post(w: World, csrf: str, form: dict[str, str | list[str]]) -> tuple[int, str]:
    answer = w.client.post(page_of(w), data={**form, "csrf_token": csrf}, follow_redirects=False)
    return answer.status_code, answer.text


def test_the_default_calendar_and_its_week(world: World) -> None:
    sign_in(world.client, "viewer_a")
    page = world.client.get(page_of(world) + "?start=2026-12-01")
    assert page.status_code == 200
    assert "班次日历" in page.text and 'data-testid="default-calendar"' in page.text
    assert page.text.count('data-testid="day"') == 7
    assert re.findall(r'data-testid="planned-hours">([^<]+)<', page.text) == ["24"] * 7
    # A viewer reads it; the form is for administrators.
    assert 'data-testid="calendar-form"' not in page.text
    assert 'data-testid="read-only"' in page.text
    world.client.cookies.set("shugu_lang", "en")
    english = world.client.get(page_of(world) + "?start=2026-12-01")
    assert "Shift calendar" in english.text and "Working day" in english.text


def test_an_administrator_saves_a_version_from_the_form(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    form_page = world.client.get(page_of(world))
    assert 'data-testid="calendar-form"' in form_page.text
    status, _ = post(world, csrf, FORM)
    assert status == 303
    versions = calendar_service.get_calendar(world.registry, world.ent_a)
    (saved,) = versions.saved
    assert saved.saved_by == "admin_a" and saved.note == "冬季两班"
    assert [s.name for s in saved.calendar.shifts] == ["早班", "中班"]
    assert len(saved.calendar.breaks) == 1 and saved.calendar.rest_days == {7}
    assert len(saved.calendar.holidays) == 2 and len(saved.calendar.downtime) == 1
    week = world.client.get(page_of(world) + "?start=2026-12-14")
    hours = re.findall(r'data-testid="planned-hours">([^<]+)<', week.text)
    assert hours == ["16", "15.5", "11.5", "15.5", "15.5", "15.5", "0"]
    assert f'data-version-id="{saved.id}"' in week.text


def test_a_refusal_is_shown_beside_its_row_and_nothing_is_saved(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    form = {**FORM, "shift_start": ["06:00", "13:00", ""]}  # 中班 13:00 overlaps 早班
    status, text = post(world, csrf, form)
    assert status == 422
    assert 'data-field="shifts.1"' in text and "班次之间不能重叠" in text
    # The form comes back as it was sent.
    assert 'value="13:00" selected' in text and "冬季两班" in text
    assert calendar_service.get_calendar(world.registry, world.ent_a).is_default
    status, text = post(world, csrf, {**FORM, "holidays": "2026-12-25 圣诞"})
    assert status == 422 and 'data-field="holidays"' in text and "圣诞" in text


def test_a_viewer_may_not_save(world: World) -> None:
    csrf = sign_in(world.client, "viewer_a")
    status, _ = post(world, csrf, FORM)
    assert status == 403
    assert calendar_service.get_calendar(world.registry, world.ent_a).is_default
