"""Signing in and out of the console, the language switch, and the HTML error pages."""

from __future__ import annotations

from shugu.web.i18n import Translator
from tests.web.conftest import World, sign_in


def test_a_page_without_a_session_leads_to_the_sign_in_page(world: World) -> None:
    world.client.cookies.clear()
    answer = world.client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/"
    page = world.client.get("/login")
    assert page.status_code == 200
    assert "登录" in page.text and 'lang="zh-CN"' in page.text


def test_signing_in_returns_to_the_page_asked_for_with_all_its_filters(world: World) -> None:
    world.client.cookies.clear()
    asked = f"/e/{world.ent_a}/alarms?status=all&severity=major"
    answer = world.client.get(asked, follow_redirects=False)
    assert answer.status_code == 303
    login = world.client.get(answer.headers["location"])
    assert f'name="next" value="{asked.replace("&", "&amp;")}"' in login.text
    signed = world.client.post(
        "/login",
        data={"username": "admin_a", "password": "correct horse battery", "next": asked},
        follow_redirects=False,
    )
    assert signed.headers["location"] == asked


def test_a_wrong_password_is_told_in_the_users_language(world: World) -> None:
    world.client.cookies.clear()
    answer = world.client.post("/login", data={"username": "admin_a", "password": "nope"})
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text
    world.client.get("/lang?to=en&next=/login")
    answer = world.client.post("/login", data={"username": "admin_a", "password": "nope"})
    assert 'lang="en"' in answer.text


def test_each_role_lands_on_its_own_start_page(world: World) -> None:
    expected = {
        "operator": "/operator/health",
        "bureau": "/region",
        "admin_a": f"/e/{world.ent_a}/tree",
        "viewer_a": f"/e/{world.ent_a}/tree",
    }
    for username, home in expected.items():
        sign_in(world.client, username)
        answer = world.client.get("/", follow_redirects=False)
        assert answer.headers["location"] == home, username


def test_sign_in_returns_only_to_a_path_of_this_site(world: World) -> None:
    world.client.cookies.clear()
    for target, expected in (("/e/1/alarms", "/e/1/alarms"), ("//evil.example/x", None)):
        answer = world.client.post(
            "/login",
            data={"username": "admin_a", "password": "correct horse battery", "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == (expected or f"/e/{world.ent_a}/tree")


def test_signing_out_needs_the_csrf_token_and_ends_the_session(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    refused = world.client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    answer = world.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert world.client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_an_unknown_page_is_an_html_404_in_the_chosen_language(world: World) -> None:
    sign_in(world.client, "admin_a")
    answer = world.client.get("/no/such/page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    world.client.get("/lang?to=en&next=/")
    assert 'lang="en"' in world.client.get("/no/such/page").text
    assert world.client.get("/api/no/such").json()["error"]["code"] == "not_found"


def test_a_number_too_large_for_the_database_is_told_on_an_error_page(world: World) -> None:
    sign_in(world.client, "admin_a")
    for path in ("/devices/99999999999999999999", f"/e/{world.ent_a}/alarms?to=9999-12-31"):
        answer = world.client.get(path)
        assert answer.status_code == 422, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert Translator("zh-CN").error("number_out_of_range") in answer.text
    api = world.client.get("/api/devices/99999999999999999999")
    assert api.json()["error"]["code"] == "number_out_of_range"


def test_console_pages_load_scripts_from_this_origin_only(world: World) -> None:
    page = world.client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "connect-src 'self'" in policy
    # The page's inline JSON (its messages) is data: no inline script is allowed, so one
    # injected into a page would not run either.
    assert '<script type="application/json" id="shugu-i18n">' in page.text
    assert "script-src 'self';" in policy


def test_the_navigation_offers_each_role_only_pages_it_may_open(world: World) -> None:
    sign_in(world.client, "viewer_a")
    page = world.client.get(f"/e/{world.ent_a}/devices").text
    assert f"/e/{world.ent_a}/alarms" in page
    assert f"/e/{world.ent_a}/notifications" not in page
    assert f"/e/{world.ent_a}/consents" not in page
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/devices").text
    assert f"/e/{world.ent_a}/notifications" in page


def test_one_navigation_item_is_current_even_below_another(world: World) -> None:
    sign_in(world.client, "bureau")
    page = world.client.get("/region/enterprises").text
    assert page.count('aria-current="page"') == 1
    assert 'href="/region/enterprises" class="active"' in page


def test_another_sites_form_cannot_sign_the_browser_in(world: World) -> None:
    """Login CSRF: a form on another site posting a known account's password would leave the
    victim signed in as that account."""
    world.client.cookies.clear()
    form = {"username": "admin_a", "password": "correct horse battery"}
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        answer = world.client.post("/login", data=form, headers=headers, follow_redirects=False)
        assert answer.status_code == 403, headers
        assert "shugu_session" not in answer.headers.get("set-cookie", "")
    own = world.client.post(
        "/login",
        data=form,
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert own.status_code == 303


def test_the_language_switch_of_a_page_answered_to_a_post_returns_to_the_form(
    world: World,
) -> None:
    world.client.cookies.clear()
    answer = world.client.post(
        "/login",
        data={"username": "admin_a", "password": "wrong"},
        headers={"Referer": "http://testserver/login?next=/e/1/alarms"},
    )
    assert answer.status_code == 401
    assert "next=/login%3Fnext%3D/e/1/alarms" in answer.text
