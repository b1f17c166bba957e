"""An alarm acknowledged on one open page changes on another open page, without a reload: the
mill's administrator acknowledges while the mill's viewer watches the same list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.demo import Demo
from tests.browser.pages import mark_document, open_live, still_same_document
from tests.browser.pending import awaiting
from tests.browser.scenarios import hot_device


@awaiting("alarms")
def test_an_acknowledged_alarm_changes_on_another_open_page(
    open_page: OpenPage, demo: Demo
) -> None:
    hot = hot_device(demo, "mill-admin")
    path = f"/e/{hot.enterprise_id}/alarms"
    watching = open_page("mill-viewer", at=path)
    acting = open_page("mill-admin", at=path)
    rows = {}
    for page in (watching, acting):
        open_live(page, path)
        rows[page] = page.locator(f"#alarm-{hot.alarm_id}")
        expect(rows[page]).to_have_attribute("data-status", "active")
        expect(rows[page]).to_contain_text(hot.name)
    mark_document(watching)

    rows[acting].locator("[data-testid=ack]").click()

    expect(rows[watching]).to_have_attribute("data-status", "acknowledged")
    expect(rows[watching].locator("[data-testid=alarm-status]")).to_have_text("已确认")
    expect(rows[watching]).to_contain_text("mill-admin")  # who acknowledged it
    assert still_same_document(watching), "the watching page was not reloaded"
    expect(rows[acting]).to_have_attribute("data-status", "acknowledged")
    expect(rows[acting].locator("[data-testid=ack]")).to_have_count(0)
    alarm = demo.api("mill-admin").get(f"/api/alarms/{hot.alarm_id}")
    assert alarm["status"] == "acknowledged" and alarm["acknowledged_by"] == "mill-admin"
