"""The shared-capacity pages between two weaving mills, as a browser uses them: A publishes from
its capacity page, C posts a request, sees A ranked and proposes, A accepts, C records the
outcome; faults come back beside their fields in Chinese; every table downloads as XLSX."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.analytics.capacity import LoomStatus
from shugu.domain.tenancy import Role
from shugu.store.registry.capacity import NewCapacityRequest
from tests.api.conftest import PASSWORD, World
from tests.web.conftest import sign_in


@dataclass
class Looms:
    fleet: list[LoomStatus]
    enterprise_id: int

    def looms(self, enterprise_id: int) -> list[LoomStatus]:
        return list(self.fleet) if enterprise_id == self.enterprise_id else []

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        return [16.0] * days


@pytest.fixture
def c_id(world: World) -> int:
    c = world.registry.create_enterprise(world.park_id, "丙织造", "91350100M0001TGQXM", "0502").id
    world.registry.create_user("admin_c", PASSWORD, Role.ENTERPRISE_ADMIN, c)
    app = world.client.app
    assert isinstance(app, FastAPI)
    fleet = [
        LoomStatus(world.device_a, "air_jet", 190, 600, False, 4, 0.45, 0.5),
        LoomStatus(world.device_a + 1000, "air_jet", 230, 700, True, None, 0.6, 0.75),
    ]
    app.state.loom_source = Looms(fleet, world.ent_a)
    return c


def post(world: World, url: str, csrf: str, form: dict[str, str]) -> int:
    answer = world.client.post(url, data={**form, "csrf_token": csrf}, follow_redirects=False)
    return answer.status_code


def test_two_mills_trade_through_the_console(world: World, c_id: int) -> None:
    client, a = world.client, world.ent_a
    csrf = sign_in(client, "admin_a")
    page = client.get(f"/e/{a}/capacity")
    assert page.status_code == 200
    assert "本企业闲置产能" in page.text and "当前待单" in page.text
    assert (
        post(world, f"/e/{a}/capacity/publish", csrf, {"days": "7", "hold_back_pct": "95"}) == 422
    )
    refused = client.post(
        f"/e/{a}/capacity/publish",
        data={"days": "7", "hold_back_pct": "95", "csrf_token": csrf},
    )
    assert "保留比例应在 0 到 90% 之间" in refused.text
    assert (
        post(world, f"/e/{a}/capacity/publish", csrf, {"days": "7", "hold_back_pct": "10"}) == 303
    )
    assert 'data-testid="published"' in client.get(f"/e/{a}/capacity").text

    csrf = sign_in(client, "admin_c")
    board = client.get("/capacity")
    assert board.status_code == 200 and "甲纺织" in board.text
    deadline = (datetime.now(UTC).date() + timedelta(days=6)).isoformat()
    form = {
        "fabric": "涤棉府绸",
        "loom_type": "air_jet",
        "min_width_cm": "180",
        "picks_per_cm": "30",
        "metres": "abc",
        "deadline": deadline,
    }
    bad = client.post(f"/e/{c_id}/capacity/requests", data={**form, "csrf_token": csrf})
    assert bad.status_code == 422 and "需求米数应大于 0" in bad.text
    posted = client.post(
        f"/e/{c_id}/capacity/requests",
        data={**form, "metres": "800", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    request_url = posted.headers["location"]
    offers = client.get(request_url)
    assert offers.status_code == 200 and "甲纺织" in offers.text and "得分构成" in offers.text
    assert post(world, f"{request_url}/propose", csrf, {"offerer_id": str(a), "note": "急"}) == 303
    assert 'data-testid="propose"' not in client.get(request_url).text
    workbook = load_workbook(io.BytesIO(client.get(f"{request_url}/offers.xlsx").content))
    sheet = workbook.active
    assert sheet.title == "产能排序"
    assert any(row[1] == "甲纺织" for row in sheet.iter_rows(values_only=True))

    csrf = sign_in(client, "admin_a")
    mine = client.get(f"/e/{a}/capacity")
    (match_id,) = re.findall(r'data-match="(\d+)"', mine.text)
    assert "涤棉府绸" in mine.text and "本方供给" in mine.text
    assert post(world, f"/e/{a}/capacity/matches/{match_id}/accept", csrf, {"note": ""}) == 303

    csrf = sign_in(client, "admin_c")
    outcome = {"delivered_m": "790", "on_time": "true", "note": "验收"}
    assert post(world, f"/e/{c_id}/capacity/matches/{match_id}/outcome", csrf, outcome) == 303
    done = client.get(f"/e/{c_id}/capacity")
    assert "已完成" in done.text and "790 米" in done.text
    matches = load_workbook(io.BytesIO(client.get(f"/e/{c_id}/capacity/matches.xlsx").content))
    rows = list(matches.active.iter_rows(values_only=True))
    assert any(r[4] == "涤棉府绸" and r[10] == 790 for r in rows)

    # The bureau sees the board and the counts, not the mills' pages.
    sign_in(client, "bureau")
    board = client.get("/capacity")
    assert 'data-testid="capacity-counts"' in board.text
    assert client.get(f"/e/{c_id}/capacity").status_code == 403


def test_the_idle_export_holds_no_machine(world: World, c_id: int) -> None:
    sign_in(world.client, "viewer_a")
    answer = world.client.get(f"/e/{world.ent_a}/capacity/idle.xlsx?days=3&picks_per_cm=40")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "喷气织机" in cells and str(world.device_a) not in cells
    assert "按纬密 40 根/厘米可织米数" in cells


def test_an_unknown_table_or_action_is_not_found(world: World, c_id: int) -> None:
    csrf = sign_in(world.client, "admin_a")
    assert world.client.get(f"/e/{world.ent_a}/capacity/secrets.xlsx").status_code == 404
    assert post(world, f"/e/{world.ent_a}/capacity/matches/999/accept", csrf, {}) == 404


@pytest.mark.parametrize("offerer", ["²", "٣", "9" * 30, "-1", ""])
def test_a_proposal_to_no_offer_is_refused_on_the_page(
    world: World, c_id: int, offerer: str
) -> None:
    new = NewCapacityRequest("府绸", None, 180.0, 30.0, 500.0, date.today() + timedelta(days=9))
    request_id = world.registry.add_capacity_request(c_id, new, "admin_c").id
    csrf = sign_in(world.client, "admin_c")
    url = f"/e/{c_id}/capacity/requests/{request_id}/propose"
    answer = world.client.post(url, data={"offerer_id": offerer, "csrf_token": csrf})
    assert answer.status_code == 422
    assert "该企业没有发布适合这条需求的产能" in answer.text
