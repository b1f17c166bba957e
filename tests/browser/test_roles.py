"""Each role signs in, lands on its start page and opens every entry of its navigation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.demo import Demo
from tests.browser.pages import nav_links
from tests.browser.pending import param
from tests.browser.roles import ACCOUNT_MENU, ROLE_PAGES, page_path, role_paths

ROLES = list(ROLE_PAGES)
#: Accounts that land on the wall display, which has no sidebar: where their sidebar is.
WALL_FIRST = {
    "bureau": "/region/enterprises",
    "park-textile": "/region/enterprises",
    "park-digital": "/region/enterprises",
}


@pytest.mark.parametrize("username", [param(u, pages=(ROLE_PAGES[u][0],), id=u) for u in ROLES])
def test_a_role_lands_on_its_start_page_with_its_navigation(
    open_page: OpenPage, demo: Demo, username: str
) -> None:
    page = open_page(username, form=True)
    paths = role_paths(demo, username)
    expect(page).to_have_url(re.compile(re.escape(paths[0]) + r"$"))
    if username in WALL_FIRST:  # a wall display: no sidebar, a link on to the next page
        with page.expect_navigation():
            page.click(f'nav.wall-links a[href="{paths[1]}"]')
    assert [href for _, href in nav_links(page)] == paths
    assert all(label for label, _ in nav_links(page)), "every entry has a label"
    # Chinese first: nobody chose a language, and the navigation speaks Chinese.
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert re.search(r"[\u4e00-\u9fff]", page.locator("nav.sidebar").inner_text())
    expect(page.locator(".whoami")).to_contain_text(username)


@pytest.mark.parametrize(
    ("username", "target"),
    [
        # The sidebar is on the start page: a missing start page hides the others' links.
        param(u, p, pages=(ROLE_PAGES[u][0], p, f"{u}:{p}"), id=f"{u}-{p.strip('/')}")
        for u in ROLES
        for p in ROLE_PAGES[u]
    ],
)
def test_a_role_opens_each_page_of_its_navigation(
    open_page: OpenPage, demo: Demo, username: str, target: str
) -> None:
    page = open_page(username, at=WALL_FIRST.get(username, "/"))
    path = page_path(demo, username, target)
    link = page.locator(f'nav.sidebar a[href="{path}"]')
    assert link.count() == 1, f"{username}'s navigation has no {path}"
    with page.expect_navigation() as navigation:
        link.click()
    answer = navigation.value
    assert answer is not None and answer.status == 200, (path, answer and answer.status)
    expect(page).to_have_url(re.compile(re.escape(path) + r"$"))
    if path == "/region":  # the wall display fills the screen on its own
        expect(page.locator("[data-testid=region-wall]")).to_be_visible()
        return
    expect(link).to_have_attribute("aria-current", "page")
    expect(page.locator("nav.sidebar a[aria-current=page]")).to_have_count(1)
    expect(page.locator("main#page")).to_be_visible()
    assert page.locator("main#page").inner_text().strip(), f"{path} shows something"


@pytest.mark.parametrize("username", [param(u, pages=(ROLE_PAGES[u][0],), id=u) for u in ROLES])
def test_every_role_reaches_its_account_menu_from_the_top_bar(
    open_page: OpenPage, username: str
) -> None:
    page = open_page(username, at=WALL_FIRST.get(username, "/"))
    links = page.locator("nav.account-menu a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == list(ACCOUNT_MENU)
    with page.expect_navigation() as navigation:
        links.first.click()
    answer = navigation.value
    assert answer is not None and answer.status == 200
    expect(page.locator("[data-testid=password-form]")).to_be_visible()
    expect(page.locator("nav.account-menu a[aria-current=page]")).to_have_count(1)
