"""The consent page: the enterprise grants the bureau or the operator consent with a note,
revokes it, and everyone who may know of the enterprise reads the history; an account the
operator made is told why it cannot consent to the operator."""

from __future__ import annotations

import re

from shugu.domain.tenancy import Role
from tests.api.conftest import PASSWORD, World
from tests.web.conftest import sign_in


def page_of(w: World, ent: int | None = None) -> str:
    return f"/e/{ent or w.ent_a}/consents"


def grant(w: World, token: str, grantee: str, note: str = "", ent: int | None = None) -> int:
    answer = w.client.post(
        page_of(w, ent),
        data={"csrf_token": token, "grantee": grantee, "note": note},
        follow_redirects=False,
    )
    return answer.status_code


def card(html: str, grantee: str) -> str:
    found = re.search(rf'data-testid="consent-{grantee}".*?</section>', html, re.S)
    assert found, grantee
    return found.group(0)


def test_an_administrator_grants_and_revokes_with_a_note_and_the_history_shows_it(
    world: World,
) -> None:
    token = sign_in(world.client, "admin_a")
    page = world.client.get(page_of(world)).text
    assert "未授权" in card(page, "bureau") and 'data-testid="grant"' in card(page, "bureau")
    assert grant(world, token, "bureau", "2026 年度产业运行监测") == 303
    assert world.registry.has_consent(world.ent_a, "bureau")
    page = world.client.get(page_of(world)).text
    bureau = card(page, "bureau")
    assert "已授权" in bureau and "2026 年度产业运行监测" in bureau and "admin_a" in bureau
    [consent] = world.registry.list_consents(world.ent_a)
    assert f'action="/e/{world.ent_a}/consents/{consent.id}/revoke"' in bureau
    revoked = world.client.post(
        f"{page_of(world)}/{consent.id}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert not world.registry.has_consent(world.ent_a, "bureau")
    page = world.client.get(page_of(world)).text
    [row] = re.findall(rf'<tr data-consent-id="{consent.id}" class="revoked">.*?</tr>', page, re.S)
    assert "区工信局" in row and "admin_a" in row and "2026 年度产业运行监测" in row
    assert "生效中" not in row  # a revocation time instead


def test_granting_twice_is_refused_with_the_reason(world: World) -> None:
    token = sign_in(world.client, "admin_a")
    assert grant(world, token, "operator", "排查断纱") == 303
    answer = world.client.post(
        page_of(world), data={"csrf_token": token, "grantee": "operator", "note": "again"}
    )
    assert answer.status_code == 409 and "该授权已生效" in answer.text
    answer = world.client.post(page_of(world), data={"csrf_token": token, "grantee": "everyone"})
    assert answer.status_code == 422 and 'data-field="grantee"' in answer.text
    assert len(world.registry.list_consents(world.ent_a)) == 1


def test_an_account_the_operator_made_is_told_why_it_cannot_consent_to_the_operator(
    world: World,
) -> None:
    world.registry.create_user(
        "first_admin", PASSWORD, Role.ENTERPRISE_ADMIN, world.ent_a, made_by_operator=True
    )
    token = sign_in(world.client, "first_admin")
    page = world.client.get(page_of(world)).text
    operator = card(page, "operator")
    assert 'data-testid="grant"' not in operator
    assert "此账号由平台运营方创建，不能向运营方授权" in operator
    assert 'data-testid="grant"' in card(page, "bureau")  # the bureau's it may give
    assert grant(world, token, "operator") == 403
    assert not world.registry.has_consent(world.ent_a, "operator")
    world.client.cookies.set("shugu_lang", "en")
    operator = card(world.client.get(page_of(world)).text, "operator")
    assert "made by the platform operator" in operator


def test_others_read_the_history_but_do_not_grant(world: World) -> None:
    world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "月报", "bureau")
    for who in ("viewer_a", "bureau", "operator"):
        token = sign_in(world.client, who)
        page = world.client.get(page_of(world))
        assert page.status_code == 200, who
        assert "月报" in page.text and 'data-testid="grant"' not in page.text
        # Who granted it is an account name: for those who may list the accounts (the API's).
        assert ("admin_a" in page.text) is (who == "operator"), who
        assert 'data-testid="revoke"' not in page.text
        assert grant(world, token, "operator") == 403
    sign_in(world.client, "admin_b")
    assert world.client.get(page_of(world)).status_code == 404


def test_the_operator_gives_up_its_own_consent(world: World) -> None:
    consent = world.registry.grant_consent(
        world.ent_a, world.user_ids["admin_a"], "排查", "operator"
    )
    token = sign_in(world.client, "operator")
    page = world.client.get(page_of(world)).text
    assert 'data-testid="revoke"' in card(page, "operator")
    answer = world.client.post(
        f"{page_of(world)}/{consent.id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert not world.registry.has_consent(world.ent_a, "operator")


def test_a_consent_of_another_enterprise_is_not_found_here(world: World) -> None:
    theirs = world.registry.grant_consent(world.ent_b, world.user_ids["admin_b"], "x", "bureau")
    token = sign_in(world.client, "admin_a")
    answer = world.client.post(f"{page_of(world)}/{theirs.id}/revoke", data={"csrf_token": token})
    assert answer.status_code == 404
    assert world.registry.has_consent(world.ent_b, "bureau")
