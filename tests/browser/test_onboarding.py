"""Adding a device: the token is shown once with snippets for this server, and the device's
first message appears on the same page as it arrives, without a reload."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.demo import Demo, post_telemetry
from tests.browser.pages import mark_document, still_same_document
from tests.browser.pending import awaiting
from tests.browser.scenarios import new_device_name


@awaiting("onboard")
def test_a_new_device_shows_its_first_value_as_it_arrives(open_page: OpenPage, demo: Demo) -> None:
    mill = demo.api("mill-admin").enterprise_id
    page = open_page("mill-admin", at=f"/e/{mill}/onboard")
    name = new_device_name(demo.api("mill-admin"), "温湿度计")
    page.fill("#f-name", name)
    page.select_option("#f-profile", "generic")
    mark_document(page)
    # The result swaps in and the page starts streaming the new device's values.
    with page.expect_response(lambda r: "/live?" in r.url and "devices=" in r.url) as stream:
        page.click("[data-testid=onboard-submit]")
    assert stream.value.status == 200

    result = page.locator("[data-testid=onboard-result]")
    expect(result).to_contain_text(name)
    token = page.locator("[data-testid=device-token]").inner_text().strip()
    assert len(token) >= 20, token
    curl = page.locator("[data-testid=snippet-curl]").inner_text()
    assert token in curl and f"{demo.base}/api/v1/" in curl, curl
    assert token in page.locator("[data-testid=snippet-mqtt]").inner_text()
    expect(page.locator("[data-testid=onboard-waiting]")).to_be_visible()

    assert post_telemetry(demo.base, token, {"temp_c": 23.5, "humidity": 61}) == 200

    expect(page.locator("[data-testid=onboard-received]")).to_be_visible()
    expect(page.locator("[data-testid=onboard-waiting]")).to_be_hidden()
    expect(page.locator('tr[data-metric-row="temp_c"]')).to_contain_text("23.5")
    expect(page.locator('tr[data-metric-row="humidity"]')).to_contain_text("61")
    assert still_same_document(page), "the value arrived without a reload"
    devices = demo.api("mill-admin").get(f"/api/enterprises/{mill}/devices")
    assert name in {d["name"] for d in devices}
