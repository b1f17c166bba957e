"""The bureau's wall display (区域总览) on a 1920×1080 screen: it renders, draws its charts and
refreshes itself without a console error (``console_log`` fails the test on one)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import WALL, OpenPage
from tests.browser.demo import Demo
from tests.browser.pages import settle, visit
from tests.browser.pending import awaiting

CHARTS = ("online", "alarms", "ingest", "machines")
#: The wall refetches its figures every 10 s (``region_pages.REFRESH_S``); one beat and slack.
REFRESH_WAIT_MS = 25_000


@awaiting("/region")
def test_the_wall_display_renders_and_refreshes_without_console_errors(
    open_page: OpenPage, demo: Demo
) -> None:
    page = open_page("bureau", viewport=WALL, at="/region")
    assert visit(page, "/region").status == 200
    settle(page)
    wall = page.locator("[data-testid=region-wall]")
    expect(wall).to_contain_text("区域总览")
    for chart in CHARTS:
        expect(page.locator(f"[data-testid=chart-{chart}] canvas").first).to_be_visible()
    mill = demo.api("mill-admin").enterprise_id
    # The mill consents: its machines are on the wall, counted in the figures with the rest.
    expect(page.locator(f"[data-testid=tile-{mill}]")).to_be_visible()
    assert int(page.locator("[data-testid=figure-enterprises]").inner_text()) >= 3
    # Fills the screen without a scroll bar either way.
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size[0] <= WALL["width"] and size[1] <= WALL["height"], size

    with page.expect_response(
        lambda r: "/region/figures" in r.url, timeout=REFRESH_WAIT_MS
    ) as refreshed:
        pass
    assert refreshed.value.status == 200
    expect(page.locator("[data-testid=wall-figures]")).to_be_visible()
    expect(page.locator("body")).not_to_have_class("refresh-failed")
