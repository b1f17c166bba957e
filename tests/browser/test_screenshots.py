"""The README's screenshots: each main page in Chinese and in English, written to
docs/screenshots/ (``screenshots.py``) every time the suite runs."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LAPTOP, WALL, OpenPage
from tests.browser.demo import Demo
from tests.browser.pages import settle, visit
from tests.browser.pending import param
from tests.browser.roles import page_path
from tests.browser.scenarios import hot_line, inspection_round
from tests.browser.screenshots import LANGS, SHOTS, Shot, folder, save


def first_machine(demo: Demo, username: str) -> int:
    api = demo.api(username)
    devices = api.get(f"/api/enterprises/{api.enterprise_id}/devices")
    return int(next(d["id"] for d in devices if not d["is_gateway"]))


def shot_path(demo: Demo, shot: Shot) -> str:
    if shot.page == "device":
        assert shot.username is not None
        return f"/devices/{first_machine(demo, shot.username)}{shot.query}"
    if shot.username is None:
        return shot.page + shot.query
    return page_path(demo, shot.username, shot.page) + shot.query


def prepare(demo: Demo, shot: Shot) -> None:
    """What the page shows when someone has worked with it: an incident of a few alarms, a
    round."""
    if shot.page == "alarms" and shot.username is not None:
        api = demo.api(shot.username)
        incidents = api.get(f"/api/incidents?enterprise={api.enterprise_id}")
        if not any(i["alarm_count"] > 1 for i in incidents):
            hot_line(demo, shot.username)
    if shot.page == "inspection" and shot.username is not None:
        inspection_round(demo, shot.username)


@pytest.mark.parametrize("shot", [param(s, pages=(s.page,), id=s.name) for s in SHOTS])
def test_screenshot(open_page: OpenPage, demo: Demo, shot: Shot) -> None:
    target = folder()
    if target is None:
        pytest.skip("SHUGU_SCREENSHOTS=off")
    path = shot_path(demo, shot)
    prepare(demo, shot)
    for lang in LANGS:
        page = open_page(shot.username, lang, WALL if shot.wall else LAPTOP, at=path)
        assert visit(page, path).status == 200, path
        settle(page)
        if shot.page == "alarms":
            # The largest incident unfolded: its alarms under it, the probable cause marked.
            counts = page.locator("[data-testid=incident-count]").all_inner_texts()
            largest = max(
                range(len(counts)), key=lambda i: int("".join(filter(str.isdigit, counts[i])))
            )
            page.locator("details.incident .incident-cause").nth(largest).click()
            settle(page)
        size = save(page.screenshot(animations="disabled"), target / f"{shot.name}-{lang}.png")
        assert size > 10_000, f"{shot.name}-{lang}.png is nearly empty ({size} bytes)"
