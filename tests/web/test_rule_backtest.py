"""A plant model's back-test (回测) before it is saved: from the rule form, the model fitted on
the stored readings from its fit start judges the rows after the fit; the page shows the alarms
it would have raised, device by device, and nothing is saved. The API does the same."""

from __future__ import annotations

from shugu.domain.timeutil import to_iso, utc_now_ms
from tests.web.conftest import World, sign_in
from tests.web.test_rule_pages import air_model, own_rules, post_plant_form

STEP_MS = 30_000


def send_readings(w: World, start_ms: int, rows: int, warm_from: int) -> None:
    """B's air handler every 30 s from ``start_ms``; the supply air 3 °C warm from row
    ``warm_from`` on."""
    payload = [
        {
            "ts": start_ms + i * STEP_MS,
            "values": {
                "supply_air_c": 18.0 + 0.05 * (i % 7) + (3.0 if i >= warm_from else 0.0),
                "return_air_c": 24.0 + 0.1 * (i % 3),
            },
        }
        for i in range(rows)
    ]
    answer = w.client.post(f"/api/v1/{w.device_token_b}/telemetry", json=payload)
    assert answer.status_code == 200, answer.text


def raised_at(start: int, row: int) -> str:
    """A row's time as the page shows it."""
    iso = to_iso(start + row * STEP_MS)
    return f"{iso[:10]} {iso[11:19]}"


def result_of(page: str) -> str:
    return page.split('data-testid="backtest-result"')[1].split("</section>")[0]


def test_a_back_test_shows_the_alarms_the_model_would_have_raised_and_saves_nothing(
    world: World,
) -> None:
    start = utc_now_ms() // 60_000 * 60_000 - 3 * 3_600_000
    send_readings(world, start, 200, warm_from=170)
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    when = to_iso(start)[:19]
    page = world.client.get(url).text
    button = page.split('data-testid="rule-backtest"')[0].rsplit("<button", 1)[1]
    assert 'name="do" value="backtest"' in button and 'data-kinds="plant"' in button
    assert "回测（不保存）" in page

    tried = post_plant_form(world, csrf, url, fit_points="100", fit_from=when, do="backtest")
    assert tried.status_code == 200, tried.text[:300]
    shown = result_of(tried.text)
    assert "1 台设备中 1 台已按已存数据拟合" in shown
    assert "100 行" in shown  # rows 100 to 199 judged
    assert "会告警 1 次，涉及 1 台设备。" in shown
    row = shown.split('data-testid="backtest-devices"')[1].split("</tbody>")[0]
    assert "crah-01" in row and "100 / 100" in row
    # Raised within the model's entry rows of the first warm one (170).
    shown_first = row.split("</td><td>")[-1].split("</td>")[0]
    assert any(shown_first == raised_at(start, k) for k in range(170, 181)), shown_first
    # Nothing saved; the form comes back as sent, open, to change and try again.
    assert own_rules(world) == []
    assert f'value="{when}"' in tried.text.split('id="rf-fit_from"')[1].split(">")[0]
    assert '<details class="rule-edit" open>' in tried.text

    world.client.get("/lang?to=en&next=/")
    english = post_plant_form(world, csrf, url, fit_points="100", fit_from=when, do="backtest")
    assert "it would have raised 1 alarm(s) on 1 device(s)." in result_of(english.text)
    world.client.get("/lang?to=zh-CN&next=/")

    # Saved, then tried again from its edit page with another label: the rule keeps its own.
    made = post_plant_form(world, csrf, url, fit_points="100", fit_from=when)
    assert made.headers["location"] == f"{url}?fitted=1&of=1&alarms=1&alarmed=1"
    notice = world.client.get(made.headers["location"]).text
    assert (
        "回测：在拟合之后的已存数据上，它会告警 1 次，涉及 1 台设备；模型从那里接着判断。" in notice
    )
    [own] = own_rules(world)
    again = post_plant_form(
        world, csrf, f"{url}/{own['id']}", fit_points="100", fit_from=when, label_zh="试一试",
        do="backtest",
    )  # fmt: skip
    assert again.status_code == 200
    assert 'data-testid="rule-edit-page"' in again.text
    assert "会告警 1 次" in result_of(again.text)
    assert [r["rule"]["label_zh"] for r in own_rules(world)] == [own["rule"]["label_zh"]]


def test_a_back_test_without_a_fit_start_is_refused_where_it_can_be_read(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    plant = post_plant_form(world, csrf, url, do="backtest")
    assert plant.status_code == 422
    error = plant.text.split('data-testid="error-fit_from">')[1].split("</p>")[0]
    assert "请选“多传感器设备模型”类型，并填写拟合起点" in error
    limit = post_plant_form(
        world, csrf, url, kind="threshold", above="30", metric="supply_air_c", metrics=[],
        do="backtest",
    )  # fmt: skip
    assert limit.status_code == 422
    assert 'class="form-error"' in limit.text and "拟合起点" in limit.text
    assert 'data-testid="backtest-result"' not in limit.text
    assert own_rules(world) == []


def test_the_api_back_tests_a_new_rule_and_a_changed_one(world: World) -> None:
    start = utc_now_ms() // 1000 * 1000 - 3 * 3_600_000
    send_readings(world, start, 200, warm_from=170)
    body = air_model(world, start, 100)
    tried = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules/backtest", json=body, headers=world.as_("admin_b")
    )
    assert tried.status_code == 200, tried.text
    answer = tried.json()
    assert (answer["devices"], answer["fitted"]) == (1, 1)
    back = answer["backtest"]
    assert (back["rows"], back["alarms"], back["complete"]) == (100, 1, True)
    [device] = back["devices"]
    assert device["device_id"] == world.device_b and device["alarms"] == 1
    firsts = [to_iso(start + k * STEP_MS)[:19] for k in range(170, 181)]
    assert device["first_alarm_at"][:19] in firsts
    assert own_rules(world) == []

    made = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules", json=body, headers=world.as_("admin_b")
    ).json()
    saved = made["history_fit"]["backtest"]
    # The same back-test, up to the save's now.
    assert {**saved, "judged_until": None} == {**back, "judged_until": None}
    changed = world.client.post(
        f"/api/rules/{made['id']}/backtest", json=body, headers=world.as_("admin_b")
    )
    assert changed.status_code == 200 and changed.json()["backtest"]["alarms"] == 1
    # Another enterprise's administrator, and a viewer, may not.
    other = world.client.post(
        f"/api/rules/{made['id']}/backtest", json=body, headers=world.as_("admin_a")
    )
    assert other.status_code == 404
    viewer = world.client.post(
        f"/api/enterprises/{world.ent_a}/rules/backtest", json=body, headers=world.as_("viewer_a")
    )
    assert viewer.status_code == 403
    no_fit = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules/backtest",
        json=air_model(world, None, 100),
        headers=world.as_("admin_b"),
    )
    assert no_fit.status_code == 422
    assert no_fit.json()["error"]["code"] == "backtest_needs_fit_from"


def test_a_back_test_of_a_rule_over_no_device_says_so(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    # An asset of B with no device under it.
    asset = world.registry.create_asset(world.ent_b, "site", "乙二厂区")
    tried = post_plant_form(
        world, csrf, url, applies=f"asset:{asset.id}", fit_from="2026-01-01T00:00", do="backtest"
    )
    assert tried.status_code == 200, tried.text[:300]
    assert "这条规则还没有适用的设备，无可回测。" in result_of(tried.text)
