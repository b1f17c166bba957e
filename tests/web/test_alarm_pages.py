"""The alarm pages: an enterprise's alarms (filters, live table), one alarm with its history,
and acknowledging, clearing and shelving with a note, in the user's language."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import cast

from fastapi import FastAPI

from shugu.api.services import Services
from shugu.store.registry.monitoring import AlarmRecord
from shugu.web.templating import LOCAL_TZ
from tests.web.conftest import World, csrf_headers, sign_in

_refs = itertools.count(1)


def raise_alarm(
    w: World,
    *,
    enterprise: str = "a",
    severity: str = "major",
    value: float = 31.5,
    raised_at: datetime | None = None,
    device_id: int | None = None,
    limits: dict[str, str] | None = None,
) -> AlarmRecord:
    """An open alarm as the monitor raises it, with its texts in both languages."""
    device = device_id or (w.device_a if enterprise == "a" else w.device_b)
    ent = w.ent_a if enterprise == "a" else w.ent_b
    record = w.registry.open_alarm(
        f"test.rule_{next(_refs)}",
        device,
        ent,
        severity,
        raised_at or datetime.now(UTC),
        value,
        {
            "rule_zh": "车间温度过高",
            "rule_en": "Workshop too hot",
            "text_zh": "温度 31.5 °C 高于 30",
            "text_en": "temperature 31.5 °C above 30",
            "limit": "≤ 30",
            "unit": "°C",
            **(limits or {}),
        },
    )
    assert record is not None
    return record


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def table(w: World, **params: str) -> str:
    answer = w.client.get(f"/e/{w.ent_a}/alarms/table", params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_page_lists_open_alarms_in_the_users_language(world: World) -> None:
    alarm = raise_alarm(world, severity="critical")
    sign_in(world.client, "viewer_a")
    page = world.client.get(f"/e/{world.ent_a}/alarms")
    assert page.status_code == 200
    html = page.text
    assert f'id="alarm-{alarm.id}"' in html
    assert "车间温度过高" in html and "Workshop too hot" not in html
    assert 'class="badge sev-critical">紧急<' in html
    assert f'href="/devices/{world.device_a}">loom-001<' in html
    assert "31.50" in html and "°C" in html and "≤ 30" in html
    assert ">未确认<" in html  # active
    world.client.get("/lang?to=en&next=/")
    html = world.client.get(f"/e/{world.ent_a}/alarms").text
    assert "Workshop too hot" in html and ">Active<" in html


def test_a_limit_in_words_reads_in_the_users_language(world: World) -> None:
    worded = raise_alarm(
        world, limits={"limit": "sensitivity 0.34", "limit_zh": "灵敏度 0.34"}, value=0.93
    )
    older = raise_alarm(world, limits={"limit": "fit 400 rows, sensitivity 0.4"})
    sign_in(world.client, "viewer_a")
    html = table(world)
    assert f'id="alarm-{worded.id}"' in html and "灵敏度 0.34" in html
    assert "sensitivity 0.34" not in html
    # Raised before the limit was kept in Chinese too: its one text is shown.
    assert f'id="alarm-{older.id}"' in html and "fit 400 rows, sensitivity 0.4" in html
    world.client.get("/lang?to=en&next=/")
    assert "sensitivity 0.34" in table(world) and "灵敏度" not in table(world)


def test_the_table_refetches_itself_on_alarm_changes(world: World) -> None:
    sign_in(world.client, "admin_a")
    html = world.client.get(f"/e/{world.ent_a}/alarms?severity=major").text
    assert "data-live-alarms" in html
    assert (
        f'hx-get="/e/{world.ent_a}/alarms/table?status=open&amp;severity=major" '
        'hx-trigger="shugu:alarms from:body"' in html
    )


def test_filters_by_status_severity_device_and_time(world: World) -> None:
    now = datetime.now(UTC)
    loom_2, _ = world.registry.create_device(world.ent_a, "loom-002", "loom")
    old = raise_alarm(world, severity="minor", raised_at=now - timedelta(days=3))
    recent = raise_alarm(world, severity="critical", device_id=loom_2.id)
    other = raise_alarm(world, enterprise="b")
    sign_in(world.client, "admin_a")

    def listed(**params: str) -> set[int]:
        html = table(world, **params)
        assert f'id="alarm-{other.id}"' not in html
        return {a for a in (old.id, recent.id) if f'id="alarm-{a}"' in html}

    assert listed() == {old.id, recent.id}
    assert listed(severity="critical") == {recent.id}
    assert listed(device="LOOM-002") == {recent.id}
    assert listed(device="%") == set()  # a LIKE wildcard is a character like any other
    assert listed(period="24h") == {recent.id}
    three_days_ago = (now - timedelta(days=3)).astimezone(LOCAL_TZ).date()
    assert listed(**{"from": three_days_ago.isoformat(), "to": three_days_ago.isoformat()}) == {
        old.id
    }
    services_of(world).monitor.book.acknowledge(recent.id, "admin_a")
    assert listed(status="active") == {old.id}
    assert listed(status="acknowledged") == {recent.id}
    assert listed(status="cleared") == set()


def test_a_filter_that_makes_no_sense_is_told_beside_its_field(world: World) -> None:
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/alarms", params={"from": "2026-13-40"})
    assert page.status_code == 422
    assert '<p class="field-error">筛选条件无效。</p>' in page.text
    fragment = world.client.get(
        f"/e/{world.ent_a}/alarms/table", params={"severity": "apocalyptic"}
    )
    assert fragment.status_code == 422
    assert "部分筛选条件有误" in fragment.text


def test_acknowledging_from_the_table_updates_every_alarm_fragment(world: World) -> None:
    alarm = raise_alarm(world)
    changed: list[int] = []
    services_of(world).monitor.book.add_change_listener(changed.append)
    csrf = sign_in(world.client, "viewer_a")
    answer = world.client.post(f"/alarms/{alarm.id}/ack", headers=csrf_headers(csrf))
    assert answer.status_code == 200, answer.text
    assert answer.headers["HX-Trigger"] == "shugu:alarms"
    # Every open page of the enterprise is told (the live stream carries it to them).
    assert changed == [world.ent_a]
    html = table(world)
    assert f'id="alarm-{alarm.id}" class="alarm-row status-acknowledged"' in html
    assert ">已确认<" in html and "viewer_a" in html


def test_the_history_shows_who_did_what_when_with_the_note(world: World) -> None:
    alarm = raise_alarm(world)
    csrf = sign_in(world.client, "admin_a")
    world.client.post(
        f"/alarms/{alarm.id}/ack", data={"note": "已派人检查空调"}, headers=csrf_headers(csrf)
    )
    detail = world.client.get(f"/alarms/{alarm.id}", headers={"HX-Request": "true"})
    assert detail.status_code == 200
    history = detail.text.split('data-testid="alarm-history"')[1]
    assert history.index("已确认") < history.index("告警产生")  # newest first
    assert "admin_a" in history and "已派人检查空调" in history
    page = world.client.get(f"/alarms/{alarm.id}")  # the same as a page of its own
    assert "<html" in page.text and "data-live-alarms" in page.text


def test_clearing_and_shelving_are_for_administrators(world: World) -> None:
    alarm = raise_alarm(world)
    csrf = sign_in(world.client, "viewer_a")
    assert 'data-testid="clear"' not in table(world)
    refused = world.client.post(f"/alarms/{alarm.id}/clear", headers=csrf_headers(csrf))
    assert refused.status_code == 403
    assert "您没有执行此操作的权限" in refused.text
    csrf = sign_in(world.client, "admin_a")
    assert 'data-testid="clear"' in table(world)
    cleared = world.client.post(
        f"/alarms/{alarm.id}/clear", data={"note": "误报"}, headers=csrf_headers(csrf)
    )
    assert cleared.status_code == 200
    assert world.registry.get_alarm(alarm.id).status == "cleared"
    again = world.client.post(f"/alarms/{alarm.id}/clear", headers=csrf_headers(csrf))
    assert again.status_code == 409 and "该告警已清除" in again.text


def test_shelving_needs_a_sensible_number_of_minutes_told_in_the_users_language(
    world: World,
) -> None:
    alarm = raise_alarm(world)
    csrf = sign_in(world.client, "admin_a")
    for minutes in ("0", "abc", "", str(7 * 24 * 60 + 1)):
        answer = world.client.post(
            f"/alarms/{alarm.id}/shelve",
            data={"minutes": minutes, "note": "检修"},
            headers=csrf_headers(csrf),
        )
        assert answer.status_code == 422, minutes
        assert 'data-testid="minutes-error">搁置时长无效。<' in answer.text
        assert ">检修</textarea>" in answer.text  # what was typed stays
    world.client.get("/lang?to=en&next=/")
    answer = world.client.post(
        f"/alarms/{alarm.id}/shelve", data={"minutes": "-5"}, headers=csrf_headers(csrf)
    )
    assert 'data-testid="minutes-error">The shelving time is not valid.<' in answer.text
    assert world.registry.get_alarm(alarm.id).shelved_until is None

    done = world.client.post(
        f"/alarms/{alarm.id}/shelve",
        data={"minutes": "90", "note": "planned maintenance"},
        headers=csrf_headers(csrf),
    )
    assert done.status_code == 200
    assert "planned maintenance" in done.text
    assert f'id="alarm-{alarm.id}"' in table(world, status="shelved")


def test_a_plain_form_post_returns_to_the_alarm(world: World) -> None:
    alarm = raise_alarm(world)
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/alarms/{alarm.id}/ack", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/alarms/{alarm.id}"


def test_another_enterprises_alarm_is_not_found(world: World) -> None:
    alarm = raise_alarm(world, enterprise="b")
    csrf = sign_in(world.client, "admin_a")
    assert world.client.get(f"/alarms/{alarm.id}").status_code == 404
    assert world.client.get(f"/e/{world.ent_b}/alarms").status_code == 404
    answer = world.client.post(f"/alarms/{alarm.id}/ack", headers=csrf_headers(csrf))
    assert answer.status_code == 404
    assert world.registry.get_alarm(alarm.id).status == "active"
    sign_in(world.client, "bureau")  # B has not granted the bureau consent
    assert world.client.get(f"/e/{world.ent_b}/alarms").status_code == 403
