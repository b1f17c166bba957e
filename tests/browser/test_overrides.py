"""A device's own limit edited with a value that is not one: the field says what is wrong, in
Chinese and, after the switch to English, in English; nothing is saved."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.console_log import ConsoleLog
from tests.browser.demo import Demo
from tests.browser.pending import awaiting

RULE = "loom.picks_stalled"
CJK = re.compile(r"[\u4e00-\u9fff]")


def first_loom(demo: Demo) -> int:
    api = demo.api("mill-admin")
    devices = api.get(f"/api/enterprises/{api.enterprise_id}/devices")
    return int(next(d["id"] for d in devices if d["profile"] == "loom"))


def submit_invalid_limit(page: Page) -> Locator:
    """Opens the rule's edit form, enters a limit that is no number and saves; the field error."""
    card = page.locator(f'[data-testid=rule-card][data-rule="{RULE}"]')
    card.locator("details.rule-edit > summary").click()
    field = card.locator("[data-testid=param-for_s]")
    field.fill("两分钟")
    with page.expect_response(lambda r: r.url.endswith("/override")) as answer:
        card.locator("[data-testid=override-save]").click()
    assert answer.value.status == 422
    card = page.locator(f'[data-testid=rule-card][data-rule="{RULE}"]')
    expect(card.locator("[data-testid=param-for_s]")).to_have_value("两分钟")
    expect(card.locator("[data-testid=param-for_s]")).to_have_attribute("aria-invalid", "true")
    error = card.locator("[data-testid=error-for_s]")
    expect(error).to_be_visible()
    return error


@awaiting("device")
def test_an_invalid_override_shows_its_field_error_in_chinese_and_in_english(
    open_page: OpenPage, demo: Demo, console_log: ConsoleLog
) -> None:
    console_log.allow(r"status of 422 .*/override\)$")  # the refused form, as it should be
    loom = first_loom(demo)
    page = open_page("mill-admin", at=f"/devices/{loom}")
    expect(page.locator("[data-testid=device-rules]")).to_be_visible()

    chinese = submit_invalid_limit(page).inner_text().strip()
    assert CJK.search(chinese), chinese

    with page.expect_navigation():
        page.click("header .lang-switch")  # "English", remembered from now on
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=device-rules]")).to_be_visible()

    english = submit_invalid_limit(page).inner_text().strip()
    assert english and not CJK.search(english), english
    assert re.search(r"[A-Za-z]{3}", english), english
    assert english != chinese

    rules = demo.api("mill-admin").get(f"/api/devices/{loom}/rules")
    stalled = next(r for r in rules if r["ref"] == RULE)
    assert stalled["overridden"] == {}, "nothing was saved"
