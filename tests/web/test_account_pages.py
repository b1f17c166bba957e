"""The accounts pages: the operator registers an enterprise (errors beside their fields, in
Chinese and English) and makes its first administrator; an enterprise administrator makes
accounts with a one-time password, changes roles and disables accounts, whose session cookie then
stops working at once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, World, sign_in


def _form(token: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": token, **fields}


def test_the_operator_registers_an_enterprise_with_field_errors_in_both_languages(
    world: World,
) -> None:
    token = sign_in(world.client, "operator")
    bad = {"park_id": str(world.park_id), "name": "丙", "uscc": "91350100M0001TGQX"}
    refused = world.client.post("/operator/enterprises", data=_form(token, **bad))
    assert refused.status_code == 422
    error = re.search(r'id="e-uscc">([^<]+)<', refused.text)
    assert error and re.search(r"[\u4e00-\u9fff]", error.group(1)), refused.text[-2000:]
    assert 'value="丙"' in refused.text  # what was typed stays
    world.client.get("/lang?to=en&next=/")
    english = world.client.post("/operator/enterprises", data=_form(token, **bad))
    error = re.search(r'id="e-uscc">([^<]+)<', english.text)
    assert error and not re.search(r"[\u4e00-\u9fff]", error.group(1))
    good = {**bad, "uscc": "91350100M0001TGQXM", "nbs_category": "0502"}
    made = world.client.post(
        "/operator/enterprises", data=_form(token, **good), follow_redirects=False
    )
    assert made.status_code == 303, made.text
    enterprise_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert world.registry.get_enterprise(enterprise_id).nbs_category == "0502"
    # The operator makes the first administrator, and nothing more.
    page = world.client.get(f"/e/{enterprise_id}/accounts")
    assert (
        'data-testid="account-form"' in page.text and 'value="enterprise_viewer"' not in page.text
    )
    first = world.client.post(
        f"/e/{enterprise_id}/accounts",
        data=_form(token, username="c-admin", role="enterprise_admin"),
    )
    assert first.status_code == 201, first.text
    password = re.search(r'data-testid="initial-password">([^<]+)<', first.text)
    assert password and first.headers["cache-control"] == "no-store"
    assert world.client.get(f"/e/{enterprise_id}/accounts").text.count("initial-password") == 0
    assert 'data-testid="account-form"' not in world.client.get(f"/e/{enterprise_id}/accounts").text
    sign_in(world.client, "c-admin", password.group(1))


def test_an_administrator_disables_an_account_and_its_session_cookie_stops_working(
    world: World,
) -> None:
    token = sign_in(world.client, "admin_a")
    made = world.client.post(
        f"/e/{world.ent_a}/accounts",
        data=_form(token, username="a-new", role="enterprise_viewer"),
    )
    assert made.status_code == 201, made.text
    password = re.search(r'data-testid="initial-password">([^<]+)<', made.text)
    assert password
    user = world.registry.user_by_username("a-new")
    assert user is not None
    assert account_state(world.client.get(f"/e/{world.ent_a}/accounts").text, "a-new") == "启用"
    # The new account's browser, signed in.
    # A second browser on the same app (not entered: the app's lifespan runs once).
    other = TestClient(world.client.app)
    sign_in(other, "a-new", password.group(1))
    assert other.get(f"/e/{world.ent_a}/devices").status_code == 200
    changed = world.client.post(
        f"/e/{world.ent_a}/accounts/{user.id}",
        data=_form(token, disabled="true"),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    gone = other.get(f"/e/{world.ent_a}/devices", follow_redirects=False)
    assert gone.status_code == 303 and "/login" in gone.headers["location"]
    again = other.post(
        "/login",
        data={"username": "a-new", "password": password.group(1)},
        follow_redirects=False,
    )
    assert again.status_code != 303
    assert "停用" in again.text
    assert account_state(world.client.get(f"/e/{world.ent_a}/accounts").text, "a-new") == "已停用"


def account_state(page: str, username: str) -> str:
    """The state badge's text in the account's row (its buttons say 停用 too)."""
    row = re.search(rf'data-user="{username}".*?</tr>', page, re.S)
    assert row, username
    state = re.search(r'data-testid="account-state">(.*?)</td>', row.group(0), re.S)
    assert state, row.group(0)
    return re.sub(r"<[^>]+>", "", state.group(1)).strip()


def test_a_viewer_changes_no_role_and_an_admin_no_other_enterprise_s_account(
    world: World,
) -> None:
    b_viewer = world.registry.create_user("b-viewer", PASSWORD, "enterprise_viewer", world.ent_b)
    token = sign_in(world.client, "admin_a")
    other = world.client.post(
        f"/e/{world.ent_b}/accounts/{b_viewer.id}", data=_form(token, role="enterprise_admin")
    )
    assert other.status_code == 404
    # Naming B's account under A's own URL is no way round.
    smuggled = world.client.post(
        f"/e/{world.ent_a}/accounts/{b_viewer.id}", data=_form(token, role="enterprise_admin")
    )
    assert smuggled.status_code == 404
    own = world.client.post(
        f"/e/{world.ent_a}/accounts/{world.user_ids['admin_a']}",
        data=_form(token, disabled="true"),
    )
    assert own.status_code == 403
    token = sign_in(world.client, "viewer_a")
    viewer = world.client.post(
        f"/e/{world.ent_a}/accounts/{world.user_ids['admin_a']}",
        data=_form(token, role="enterprise_viewer"),
    )
    assert viewer.status_code == 403
    assert world.registry.get_user(world.user_ids["admin_a"]).role.value == "enterprise_admin"
    assert world.registry.get_user(b_viewer.id).role.value == "enterprise_viewer"


def test_a_park_that_is_no_number_is_a_field_error(world: World) -> None:
    """The characters "²" and "٣" pass str.isdigit but not int(): they answered 500."""
    token = sign_in(world.client, "operator")
    for park in ("²", "٣", "9" * 40, ""):
        form = {"park_id": park, "name": "丙", "uscc": "91350100M0001TGQXM"}
        refused = world.client.post("/operator/enterprises", data=_form(token, **form))
        assert refused.status_code == 422, (park, refused.status_code)
        assert 'id="e-park_id"' in refused.text
