"""The password page (修改密码): reachable from every role's top bar, field errors in Chinese and
English, and a change that keeps this browser signed in while every other session of the account
ends; an account made by someone else is sent here after signing in until it has changed it."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, World, sign_in

URL = "/account/password"
NEW = "a brand new passphrase"


def _post(
    client: TestClient, csrf: str, current: str, new: str, again: str | None = None
) -> httpx.Response:
    fields = {
        "csrf_token": csrf,
        "current_password": current,
        "new_password": new,
        "new_password_again": new if again is None else again,
    }
    return client.post(URL, data=fields, follow_redirects=False)


def _field_error(answer: httpx.Response, field: str) -> str:
    found = re.search(rf'id="e-{field}">([^<]+)<', answer.text)
    assert found, answer.text[-2000:]
    return found.group(1)


def test_every_role_reaches_the_page_from_the_top_bar(world: World) -> None:
    # A page of each role's with the top bar (the region's wall display has none).
    pages = {
        "operator": "/operator/enterprises",
        "bureau": "/region/enterprises",
        "park_official": "/region/enterprises",
        "park_other": "/region/enterprises",
        "admin_a": f"/e/{world.ent_a}/devices",
        "viewer_a": f"/e/{world.ent_a}/devices",
        "admin_b": f"/e/{world.ent_b}/devices",
    }
    assert set(pages) == set(world.tokens)
    for role, page in pages.items():
        sign_in(world.client, role)
        shown = world.client.get(page)
        assert shown.status_code == 200, (role, shown.status_code)
        assert f'href="{URL}"' in shown.text and "修改密码" in shown.text, role
        assert 'data-testid="password-form"' in world.client.get(URL).text, role


def test_a_too_short_password_is_refused_with_its_reason_in_both_languages(
    world: World,
) -> None:
    csrf = sign_in(world.client, "viewer_a")
    chinese = _post(world.client, csrf, PASSWORD, "short")
    assert chinese.status_code == 422
    assert _field_error(chinese, "new_password") == "新密码太短：至少 10 个字符。"
    world.client.get("/lang?to=en&next=/")
    english = _post(world.client, csrf, PASSWORD, "short")
    assert _field_error(english, "new_password") == (
        "The new password is too short: at least 10 characters."
    )
    wrong = _post(world.client, csrf, "not my password", NEW)
    assert wrong.status_code == 403
    assert _field_error(wrong, "current_password") == "The current password is wrong."
    differ = _post(world.client, csrf, PASSWORD, NEW, again=NEW + "!")
    assert _field_error(differ, "new_password_again") == "The two new passwords differ."
    assert "value=" + '"' + PASSWORD not in wrong.text  # passwords are never sent back


def test_a_change_keeps_this_browser_signed_in_and_ends_the_other_session(world: World) -> None:
    other = TestClient(world.client.app)
    sign_in(other, "admin_a")
    assert other.get(URL, follow_redirects=False).status_code == 200
    csrf = sign_in(world.client, "admin_a")

    changed = _post(world.client, csrf, PASSWORD, NEW)
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"] == f"{URL}?changed=1"
    done = world.client.get(changed.headers["location"], follow_redirects=False)
    assert done.status_code == 200 and 'data-testid="password-changed"' in done.text
    ended = other.get(URL, follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    refused = other.post(
        "/login", data={"username": "admin_a", "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 401
    sign_in(other, "admin_a", NEW)


def test_an_account_made_by_an_administrator_changes_its_password_first(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    made = world.client.post(
        f"/e/{world.ent_a}/accounts",
        data={"csrf_token": csrf, "username": "a-new", "role": "enterprise_viewer"},
    )
    assert made.status_code == 201, made.text
    found = re.search(r'data-testid="initial-password">([^<]+)<', made.text)
    assert found
    initial = found.group(1)
    for _ in range(2):  # every sign-in, until it is changed
        world.client.cookies.clear()
        first = world.client.post(
            "/login",
            data={"username": "a-new", "password": initial, "next": "/operator/health"},
            follow_redirects=False,
        )
        assert first.headers["location"] == URL
    page = world.client.get(URL)
    assert 'data-testid="must-change"' in page.text
    csrf = world.client.cookies.get("shugu_csrf")
    assert csrf
    assert _post(world.client, csrf, initial, NEW).status_code == 303
    assert 'data-testid="must-change"' not in world.client.get(URL).text
    world.client.cookies.clear()
    again = world.client.post(
        "/login", data={"username": "a-new", "password": NEW}, follow_redirects=False
    )
    assert again.headers["location"] == f"/e/{world.ent_a}/tree"
