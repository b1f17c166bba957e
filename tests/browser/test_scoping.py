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


def test_a_park_official_sees_its_park_s_enterprises_and_figures_not_their_machines(
    open_page: OpenPage, demo: Demo, console_log: ConsoleLog
) -> None:
    """The textile park's official: the mill (its park) in the enterprise list and on its KPI
    dashboard, the data centre (the digital park) nowhere, and no machine of either."""
    mill, dc = demo.api("mill-admin").enterprise_id, demo.api("dc-admin").enterprise_id
    mill_device = _first_device(demo, "mill-admin")
    page = open_page("park-textile", at="/region/enterprises")
    listed = page.locator("main").inner_text()
    assert "长乐01号织造有限公司" in listed
    assert "福州滨海云数据中心有限公司" not in listed
    # Enterprise-level figures of its park's mill.
    assert visit(page, f"/e/{mill}/kpi").status == 200
    console_log.allow(r"status of 40[34]")
    # Another park's enterprise is not there at all.
    assert visit(page, f"/e/{dc}/kpi").status == 404
    expect(page.locator(".error-message")).to_have_attribute("data-code", "not_found")
    # Its own park's machines: refused, though the mill lets the bureau read them.
    assert visit(page, f"/devices/{mill_device}").status == 403
    assert visit(page, f"/e/{mill}/alarms").status == 403
    # The wall display shows no machine states to a park official.
    visit(page, "/region")
    expect(page.locator("[data-testid^='tile-']")).to_have_count(0)
    # The other park's official sees its own park's data centre, not the mill.
    other = open_page("park-digital", at="/region/enterprises")
    listed = other.locator("main").inner_text()
    assert "福州滨海云数据中心有限公司" in listed and "长乐01号织造有限公司" not in listed


#: The bureau's system's pages under an enterprise (another enterprise's: not found).
BUREAU_ENTERPRISE_PAGES = ("file", "monthly-reports", "policies")
#: The bureau's and the parks' own pages: an enterprise account is refused them (the list of
#: policies is not among them: policies are public documents).
BUREAU_ONLY_PAGES = (
    "/bureau/files",
    "/bureau/tiers",
    "/bureau/operation",
    "/bureau/operation/watch",
    "/bureau/grants",
    "/region/targets",
)


@awaiting("file")
def test_the_bureau_s_records_of_another_enterprise_are_not_found(
    open_page: OpenPage, demo: Demo, console_log: ConsoleLog
) -> None:
    """An enterprise's file, monthly reports and entitlements open for its own people; another
    enterprise's answer 404 as if they did not exist; the bureau's own pages are refused."""
    mill, dc = demo.api("mill-admin").enterprise_id, demo.api("dc-admin").enterprise_id
    page = open_page("mill-admin", at=f"/e/{mill}/file")
    for name in BUREAU_ENTERPRISE_PAGES:
        assert visit(page, f"/e/{mill}/{name}").status == 200, name
    console_log.allow(r"status of 40[34]")
    for name in BUREAU_ENTERPRISE_PAGES:
        assert visit(page, f"/e/{dc}/{name}").status == 404, name
        expect(page.locator(".error-message")).to_have_attribute("data-code", "not_found")
    for path in BUREAU_ONLY_PAGES:
        assert visit(page, path).status == 403, path
    # A park official finds another park's enterprise file as missing as an enterprise does.
    official = open_page("park-textile", at=f"/e/{mill}/file")
    assert visit(official, f"/e/{mill}/file").status == 200
    assert visit(official, f"/e/{dc}/file").status == 404
    assert visit(official, "/bureau/grants").status == 403
