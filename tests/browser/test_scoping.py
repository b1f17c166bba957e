"""An enterprise user who edits the URL to another enterprise's device or pages gets 404, the
same answer as for a device that does not exist: nothing says the other enterprise is there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.console_log import ConsoleLog
from tests.browser.demo import Demo
from tests.browser.pages import visit
from tests.browser.pending import awaiting


def _first_device(demo: Demo, username: str) -> int:
    api = demo.api(username)
    devices = api.get(f"/api/enterprises/{api.enterprise_id}/devices")
    return int(devices[0]["id"])


@pytest.mark.parametrize(
    ("lang", "message"),
    [("zh-CN", "找不到该对象，或您无权查看。"), ("en", "Not found, or not yours to see.")],
    ids=["zh-CN", "en"],
)
@awaiting("device")
def test_another_enterprises_device_is_not_found(
    open_page: OpenPage, demo: Demo, console_log: ConsoleLog, lang: str, message: str
) -> None:
    own = _first_device(demo, "mill-admin")
    foreign = _first_device(demo, "dc-admin")
    page = open_page("mill-admin", lang, at=f"/devices/{own}")
    # Their own device opens: the 404 below is the scope's answer, not a missing page.
    assert visit(page, f"/devices/{own}").status == 200
    console_log.allow(r"status of 404")
    answer = visit(page, f"/devices/{foreign}")
    assert answer.status == 404
    expect(page.locator(".error-message")).to_have_attribute("data-code", "not_found")
    expect(page.locator(".error-message")).to_have_text(message)
    # The other enterprise's pages, by the same edit of the URL.
    mill, dc = demo.api("mill-admin").enterprise_id, demo.api("dc-admin").enterprise_id
    assert visit(page, f"/e/{mill}/alarms").status == 200
    assert visit(page, f"/e/{dc}/alarms").status == 404
    expect(page.locator(".error-message")).to_have_attribute("data-code", "not_found")
    # The same as for a device nobody has.
    assert visit(page, "/devices/999999").status == 404
