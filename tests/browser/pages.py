"""What a person does on the console, in a browser: sign in, read the navigation, open a page."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, Response, expect

from tests.browser.demo import PASSWORDS

LANG_COOKIE = "shugu_lang"


def sign_in(page: Page, username: str, then: str = "/") -> None:
    """Through the sign-in form, as a person does; lands on ``then`` (``/``: the account's
    start page), as a person sent to sign in on the way to a page does."""
    page.goto("/login" if then == "/" else f"/login?next={quote(then, safe='/')}")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    with page.expect_navigation():
        page.click("form button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def nav_links(page: Page) -> list[tuple[str, str]]:
    """The sidebar's entries as (label, path)."""
    links = page.locator("nav.sidebar a")
    return [
        (links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href") or "")
        for i in range(links.count())
    ]


def visit(page: Page, path: str) -> Response:
    """Open ``path`` and wait until the page and its live parts have settled."""
    answer = page.goto(path)
    assert answer is not None, path
    page.wait_for_load_state("load")
    return answer


#: Every chart has drawn (ECharts puts a canvas in its element) and no htmx request is open.
_SETTLED = """() =>
  [...document.querySelectorAll("[data-chart-src], [data-chart-device], [data-region-chart]")]
    .every((el) => el.querySelector("canvas"))
  && !document.querySelector(".htmx-request")"""


def settle(page: Page) -> None:
    """Wait until the page has drawn what it loads after itself (charts, fragments), then let
    the charts' entry animation end, for a screenshot that shows the page as a person sees it."""
    page.wait_for_function(_SETTLED)
    page.wait_for_timeout(1200)


def open_live(page: Page, path: str) -> Response:
    """Open ``path`` and wait until its live stream (``GET /live``) is connected: the server
    subscribes the page before it answers, so from then on no change is missed."""
    with page.expect_response(lambda r: "/live?" in r.url) as stream:
        answer = visit(page, path)
    assert stream.value.status == 200, stream.value.url
    return answer


def mark_document(page: Page) -> None:
    """Marks the loaded document; ``still_same_document`` is false after any reload."""
    page.evaluate("() => { window.shuguTestMark = true; }")


def still_same_document(page: Page) -> bool:
    return bool(page.evaluate("() => window.shuguTestMark === true"))
