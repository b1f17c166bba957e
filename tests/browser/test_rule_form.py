"""An enterprise administrator makes an anomaly rule in the console: choosing the kind shows
its fields and hides the limits, the sensitivity's default follows the pattern choice, and the
saved rule is listed with its limit in Chinese; then it is deleted from its page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.demo import Demo


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
