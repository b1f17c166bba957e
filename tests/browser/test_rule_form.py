"""An enterprise administrator makes an anomaly rule and a plant model in the console: choosing
the kind shows its fields and hides the others, the sensitivity's default follows the choices,
and the saved rule is listed with its limit in Chinese; then it is deleted from its page."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import Locator, Page, expect

from shugu.domain.timeutil import CHINA_TZ
from tests.browser.conftest import OpenPage
from tests.browser.demo import Api, Demo


def test_an_anomaly_rule_is_made_and_deleted_in_the_console(
    open_page: OpenPage, demo: Demo
) -> None:
    api = demo.api("mill-admin")
    enterprise = api.enterprise_id
    page = open_page("mill-admin", at=f"/e/{enterprise}/rules")
    page.locator("[data-testid=new-rule]").click()
    form = page.locator("form.own-rule-form")
    expect(form.locator("[data-testid=rule-above]")).to_be_visible()
    expect(form.locator("[data-testid=rule-sensitivity]")).to_be_hidden()

    form.locator("[data-testid=rule-kind]").select_option("anomaly")
    expect(form.locator("[data-testid=rule-above]")).to_be_hidden()
    expect(form.locator("[data-testid=rule-above]")).to_be_disabled()
    sensitivity = form.locator("[data-testid=rule-sensitivity]")
    expect(sensitivity).to_be_visible()
    expect(sensitivity).to_have_attribute("placeholder", "0.34")
    form.locator("[data-testid=rule-pattern]").select_option("no")
    expect(sensitivity).to_have_attribute("placeholder", "0.4")

    form.locator("#rf-label_zh").fill("车速异常")
    form.locator("#rf-label_en").fill("Unusual loom speed")
    form.locator("#rf-applies").select_option("profile:loom")
    form.locator("#rf-metric").select_option("speed_rpm")
    with page.expect_navigation():
        form.locator("[data-testid=rule-save]").click()

    own = page.locator("[data-testid=own-rules]")
    row = own.locator("tr", has_text="车速异常")
    expect(row).to_contain_text("异常检测")
    expect(row).to_contain_text("灵敏度 0.4，不判序列模式")
    expect(row).to_contain_text("车速")
    saved = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    made = next(r for r in saved if r["rule"]["label_zh"] == "车速异常")
    assert made["rule"]["kind"] == "anomaly" and made["rule"]["pattern"] is False

    with page.expect_navigation():
        row.locator("[data-testid=rule-edit]").click()
    expect(page.locator("[data-testid=rule-sensitivity]")).to_be_visible()
    expect(page.locator("[data-testid=rule-above]")).to_be_hidden()
    with page.expect_navigation():
        page.locator("[data-testid=rule-delete]").click()
    expect(page.locator("[data-testid=rules-page]")).to_be_visible()
    left = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    assert all(r["id"] != made["id"] for r in left)


def test_a_plant_model_of_the_loom_is_made_in_the_console(open_page: OpenPage, demo: Demo) -> None:
    """Choosing the plant model shows its sensors and fit and hides the single metric; the
    sensitivity's default is the plain detector's; the rule is judged while the loom runs."""
    api = demo.api("mill-admin")
    enterprise = api.enterprise_id
    page = open_page("mill-admin", at=f"/e/{enterprise}/rules")
    page.locator("[data-testid=new-rule]").click()
    form = page.locator("form.own-rule-form")
    sensors = form.locator("[data-testid=rule-metrics]")
    conditions = form.locator("[data-testid=rule-conditions]")
    expect(sensors).to_be_hidden()
    expect(conditions).to_be_hidden()
    form.locator("[data-testid=rule-kind]").select_option("plant")
    expect(sensors).to_be_visible()
    expect(conditions).to_be_visible()
    expect(form.locator("#rf-metric")).to_be_hidden()
    expect(form.locator("[data-testid=rule-fit_points]")).to_be_visible()
    expect(form.locator("[data-testid=rule-sensitivity]")).to_have_attribute("placeholder", "0.4")
    form.locator("#rf-label_zh").fill("织机运行模型")
    form.locator("#rf-label_en").fill("Loom running model")
    form.locator("#rf-applies").select_option("profile:loom")
    sensors.locator("input[value=speed_rpm]").check()
    sensors.locator("input[value=power_kw]").check()
    form.locator("[data-testid=rule-fit_points]").fill("8640")
    form.locator("[data-testid=rule-running]").select_option("running")
    # Fitted on the looms' readings of the last hour: too few rows for a day's fit, so the
    # list says how many looms learn the rest live.
    an_hour_ago = (datetime.now(CHINA_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form.locator("[data-testid=rule-fit_from]").fill(an_hour_ago)
    with page.expect_navigation():
        form.locator("[data-testid=rule-save]").click()
    notice = page.locator("[data-testid=fitted-notice]")
    expect(notice).to_contain_text("台设备已存数据均不足以完成拟合，将用此后收到的数据继续学习")

    row = page.locator("[data-testid=own-rules] tr", has_text="织机运行模型")
    expect(row).to_contain_text("多传感器设备模型")
    since = an_hour_ago.replace("T", " ")
    expect(row).to_contain_text(f"按 {since} 起的 8640 行拟合，灵敏度 0.4，仅在设备运行时判断")
    saved = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    made = next(r for r in saved if r["rule"]["label_zh"] == "织机运行模型")
    assert made["rule"]["metrics"] == ["speed_rpm", "power_kw"]
    assert made["rule"]["running_metric"] == "running"
    assert made["rule"]["fit_from"] == an_hour_ago + ":00+08:00"
    with page.expect_navigation():
        row.locator("[data-testid=rule-edit]").click()
    expect(page.locator("[data-testid=rule-metrics] input[value=power_kw]")).to_be_checked()
    with page.expect_navigation():
        page.locator("[data-testid=rule-delete]").click()


def _new_meter_model(
    open_page: OpenPage, demo: Demo, label_zh: str, label_en: str
) -> tuple[Api, Page, Locator]:
    """The mill administrator's new-rule form, made a plant model of the meters."""
    api = demo.api("mill-admin")
    page = open_page("mill-admin", at=f"/e/{api.enterprise_id}/rules")
    page.locator("[data-testid=new-rule]").click()
    form = page.locator("form.own-rule-form")
    form.locator("#rf-label_zh").fill(label_zh)
    form.locator("#rf-label_en").fill(label_en)
    form.locator("[data-testid=rule-kind]").select_option("plant")
    form.locator("#rf-applies").select_option("profile:power_meter")
    return api, page, form


def test_a_meter_model_given_its_load_is_made_in_the_console(
    open_page: OpenPage, demo: Demo
) -> None:
    """A plant model of the mill's meters judges voltage, current and power factor against the
    load, ticked as a condition."""
    api, page, form = _new_meter_model(open_page, demo, "电表负荷模型", "Meter load model")
    enterprise = api.enterprise_id
    sensors = form.locator("[data-testid=rule-metrics]")
    for metric in ("voltage_v", "current_a", "power_factor"):
        sensors.locator(f"input[value={metric}]").check()
    load = form.locator("[data-testid=rule-conditions] label", has_text="active_power_kw")
    expect(load.locator("[data-testid=plant-role]")).to_have_text("工况")
    load.locator("input").check()
    with page.expect_navigation():
        form.locator("[data-testid=rule-save]").click()

    row = page.locator("[data-testid=own-rules] tr", has_text="电表负荷模型")
    expect(row).to_contain_text("对照工况 active_power_kw")
    saved = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    made = next(r for r in saved if r["rule"]["label_zh"] == "电表负荷模型")
    assert made["rule"]["conditions"] == ["active_power_kw"]
    with page.expect_navigation():
        row.locator("[data-testid=rule-edit]").click()
    given = page.locator("[data-testid=rule-conditions] input[value=active_power_kw]")
    expect(given).to_be_checked()
    with page.expect_navigation():
        page.locator("[data-testid=rule-delete]").click()


def test_a_profile_s_gauges_are_ticked_as_it_declares_them_when_it_is_chosen(
    open_page: OpenPage, demo: Demo
) -> None:
    """Scoped to the meters, the plant model is offered the meter's gauges only, ticked as the
    profile declares them: voltage, current and power factor judged, the load a condition. What
    the engineer unticks stays unticked when the scope changes and comes back."""
    api, page, form = _new_meter_model(open_page, demo, "电表预设模型", "Meter preset model")
    enterprise = api.enterprise_id
    sensors = form.locator("[data-testid=rule-metrics]")
    conditions = form.locator("[data-testid=rule-conditions]")
    meter_sensors = sensors.locator(".sensor-group[data-profile=power_meter]")
    expect(meter_sensors).to_be_visible()
    expect(sensors.locator(".sensor-group[data-profile=loom]")).to_be_hidden()
    for metric in ("voltage_v", "current_a", "power_factor"):
        expect(meter_sensors.locator(f"input[value={metric}]")).to_be_checked()
    expect(meter_sensors.locator("input[value=active_power_kw]")).not_to_be_checked()
    given = conditions.locator(".sensor-group[data-profile=power_meter]")
    expect(given.locator("input[value=active_power_kw]")).to_be_checked()
    expect(given.locator("input[value=voltage_v]")).not_to_be_checked()
    # Left empty, the fit is a day of the scoped profile's rows: the placeholder says how many.
    fit = form.locator("[data-testid=rule-fit_points]")
    expect(fit).to_have_attribute("placeholder", "2880")

    meter_sensors.locator("input[value=current_a]").uncheck()
    form.locator("#rf-applies").select_option("profile:loom")
    expect(meter_sensors).to_be_hidden()
    loom_sensors = sensors.locator(".sensor-group[data-profile=loom]")
    expect(loom_sensors.locator("input[value=speed_rpm]")).to_be_checked()
    expect(fit).to_have_attribute("placeholder", "8640")
    form.locator("#rf-applies").select_option("profile:power_meter")
    expect(meter_sensors.locator("input[value=current_a]")).not_to_be_checked()
    with page.expect_navigation():
        form.locator("[data-testid=rule-save]").click()

    saved = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    made = next(r for r in saved if r["rule"]["label_zh"] == "电表预设模型")
    # The loom's ticks, hidden with its group, were not sent.
    assert made["rule"]["metrics"] == ["voltage_v", "power_factor"]
    assert made["rule"]["conditions"] == ["active_power_kw"]
    assert made["rule"]["fit_points"] == 2880
    row = page.locator("[data-testid=own-rules] tr", has_text="电表预设模型")
    with page.expect_navigation():
        row.locator("[data-testid=rule-edit]").click()
    with page.expect_navigation():
        page.locator("[data-testid=rule-delete]").click()


def test_a_plant_model_is_back_tested_in_the_console_without_saving(
    open_page: OpenPage, demo: Demo
) -> None:
    """The back-test button shows only for a plant model; it answers with the form as filled in
    and, in view, what the model fitted on the last hour's first rows would have raised since."""
    api = demo.api("mill-admin")
    enterprise = api.enterprise_id
    page = open_page("mill-admin", at=f"/e/{enterprise}/rules")
    page.locator("[data-testid=new-rule]").click()
    form = page.locator("form.own-rule-form")
    button = form.locator("[data-testid=rule-backtest]")
    expect(button).to_be_hidden()
    form.locator("[data-testid=rule-kind]").select_option("plant")
    expect(button).to_be_visible()
    form.locator("#rf-label_zh").fill("织机回测模型")
    form.locator("#rf-label_en").fill("Loom back-test model")
    form.locator("#rf-applies").select_option("profile:loom")
    sensors = form.locator("[data-testid=rule-metrics]")
    sensors.locator("input[value=speed_rpm]").check()
    sensors.locator("input[value=power_kw]").check()
    form.locator("[data-testid=rule-fit_points]").fill("10")
    an_hour_ago = (datetime.now(CHINA_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form.locator("[data-testid=rule-fit_from]").fill(an_hour_ago)
    with page.expect_navigation():
        button.click()
    result = page.locator("[data-testid=backtest-result]")
    expect(result).to_be_in_viewport()
    expect(result.locator("[data-testid=backtest-summary]")).to_contain_text("已按已存数据拟合")
    expect(result.locator("[data-testid=backtest-devices] tbody tr").first).to_contain_text("/ 10")
    # The form came back as filled in; nothing was saved.
    expect(page.locator("#rf-label_zh")).to_have_value("织机回测模型")
    expect(page.locator("[data-testid=rule-fit_from]")).to_have_value(an_hour_ago)
    saved = [r for r in api.get(f"/api/enterprises/{enterprise}/rules") if r["id"] is not None]
    assert all(r["rule"]["label_zh"] != "织机回测模型" for r in saved)
    # Another kind hides the button and the result with the plant model's fields.
    page.locator("[data-testid=rule-kind]").select_option("threshold")
    expect(page.locator("[data-testid=rule-backtest]")).to_be_hidden()
    expect(result).to_be_hidden()
