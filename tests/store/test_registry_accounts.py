"""Users, passwords, bearer tokens, consents and aggregates, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from shugu.domain.errors import AuthError, ConflictError, NotFoundError, ValidationError
from shugu.domain.tenancy import Principal, Role
from shugu.store.registry import Registry, TokenKind
from shugu.store.registry.models import User


@pytest.fixture
def enterprise_id(registry: Registry) -> int:
    region = registry.create_region("210200", "大连市")
    park = registry.create_park(region.id, "高新区")
    return registry.create_enterprise(park.id, "A", "91110000600037341L").id


def test_users_and_password_sign_in(registry: Registry, enterprise_id: int) -> None:
    operator = registry.create_user("ops", "correct horse", Role.OPERATOR)
    admin = registry.create_user("张工", "battery staple", "enterprise_admin", enterprise_id)
    assert admin.role is Role.ENTERPRISE_ADMIN and admin.enterprise_id == enterprise_id
    assert registry.get_user(operator.id) == operator
    assert registry.user_by_username("张工") == admin
    assert registry.user_by_username("nobody") is None
    assert registry.list_users() == [operator, admin]
    assert registry.list_users(enterprise_id=enterprise_id) == [admin]

    principal = registry.authenticate_password("张工", "battery staple")
    assert principal == Principal(admin.id, "张工", Role.ENTERPRISE_ADMIN, enterprise_id)


def test_bad_credentials_look_the_same(registry: Registry) -> None:
    registry.create_user("ops", "correct horse", Role.OPERATOR)
    answers = []
    for username, password in [("ops", "wrong password"), ("ghost", "correct horse")]:
        with pytest.raises(AuthError) as caught:
            registry.authenticate_password(username, password)
        answers.append((caught.value.code, caught.value.message))
    assert answers[0] == answers[1]
    assert answers[0][0] == "bad_credentials"


def test_set_password(registry: Registry) -> None:
    user = registry.create_user("ops", "correct horse", Role.OPERATOR)
    registry.set_password(user.id, "new password!")
    with pytest.raises(AuthError):
        registry.authenticate_password("ops", "correct horse")
    assert registry.authenticate_password("ops", "new password!").user_id == user.id


def test_weak_password_hashes_are_upgraded_on_sign_in(registry_url: str) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    first = Registry(registry_url, password_hasher=weak)
    first.create_user("ops", "correct horse", Role.OPERATOR)
    first.close()
    second = Registry(registry_url, password_hasher=stronger)
    try:
        second.authenticate_password("ops", "correct horse")
        with second._session() as session:
            stored = session.scalar(select(User.password_hash))
        assert stored is not None and not stronger.check_needs_rehash(stored)
    finally:
        second.close()


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"role": "enterprise_viewer"}, "enterprise_required", "enterprise_id"),
        ({"role": "bureau", "enterprise_id": 1}, "enterprise_not_allowed", "enterprise_id"),
        ({"role": "king"}, "unknown_role", "role"),
        ({"role": "operator", "password": "short"}, "password_too_short", "password"),
        ({"role": "operator", "username": "two words"}, "username_invalid", "username"),
        ({"role": "operator", "username": ""}, "name_required", "username"),
    ],
)
def test_user_validation(
    registry: Registry, enterprise_id: int, kwargs: dict[str, object], code: str, field: str
) -> None:
    arguments: dict[str, object] = {"username": "u", "password": "long enough"}
    arguments.update(kwargs)
    with pytest.raises(ValidationError) as caught:
        registry.create_user(**arguments)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.details["field"]) == (code, field)


def test_username_taken_and_missing_enterprise(registry: Registry) -> None:
    registry.create_user("ops", "correct horse", Role.OPERATOR)
    with pytest.raises(ConflictError) as caught:
        registry.create_user("ops", "correct horse", Role.BUREAU)
    assert caught.value.code == "username_taken"
    with pytest.raises(NotFoundError) as missing:
        registry.create_user("v", "correct horse", Role.ENTERPRISE_VIEWER, 999)
    assert missing.value.details["field"] == "enterprise_id"


def test_api_tokens(registry: Registry) -> None:
    user = registry.create_user("ops", "correct horse", Role.OPERATOR)
    issued = registry.issue_api_token(user.id, "nightly export", ttl_seconds=3600)
    assert issued.record.kind is TokenKind.API
    assert issued.record.expires_at is not None
    principal = registry.principal_for_token(issued.token)
    assert principal is not None and principal.user_id == user.id
    plain = registry.create_api_token(user.id, "forever")
    assert registry.principal_for_token(plain) is not None
    assert [t.name for t in registry.list_api_tokens(user.id)] == ["nightly export", "forever"]
    assert registry.get_api_token(issued.record.id) == issued.record

    revoked = registry.revoke_api_token(issued.record.id)
    assert revoked.revoked_at is not None
    assert registry.principal_for_token(issued.token) is None  # at once, despite the cache
    assert registry.revoke_api_token(issued.record.id).revoked_at == revoked.revoked_at
    assert registry.principal_for_token("made-up") is None
    with pytest.raises(NotFoundError):
        registry.revoke_api_token(999)


def test_token_validation(registry: Registry) -> None:
    user = registry.create_user("ops", "correct horse", Role.OPERATOR)
    with pytest.raises(ValidationError) as caught:
        registry.issue_api_token(user.id, "x", ttl_seconds=0)
    assert caught.value.details["field"] == "ttl_seconds"
    with pytest.raises(ValidationError):
        registry.issue_api_token(user.id, "x", kind="forever")
    with pytest.raises(NotFoundError):
        registry.issue_api_token(999, "x")


def test_expired_tokens_stop_working(registry_url: str, password_hasher: PasswordHasher) -> None:
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    registry = Registry(
        registry_url, password_hasher=password_hasher, cache_ttl_s=0, now=lambda: clock[0]
    )
    try:
        user = registry.create_user("ops", "correct horse", Role.OPERATOR)
        token = registry.create_api_token(user.id, "login", ttl_seconds=60, kind="session")
        assert registry.principal_for_token(token) is not None
        clock[0] += timedelta(seconds=61)
        assert registry.principal_for_token(token) is None
    finally:
        registry.close()


def test_cached_principal_never_outlives_its_token(
    registry_url: str, password_hasher: PasswordHasher
) -> None:
    wall = [datetime(2026, 1, 1, tzinfo=UTC)]
    monotonic = [0.0]
    registry = Registry(
        registry_url,
        password_hasher=password_hasher,
        now=lambda: wall[0],
        monotonic=lambda: monotonic[0],
    )
    try:
        user = registry.create_user("ops", "correct horse", Role.OPERATOR)
        token = registry.create_api_token(user.id, "short", ttl_seconds=1)
        assert registry.principal_for_token(token) is not None
        # Well inside the cache's 5 s, but past the token's 1 s of life.
        wall[0] += timedelta(seconds=2)
        monotonic[0] += 2.0
        assert registry.principal_for_token(token) is None
    finally:
        registry.close()


def test_changes_by_another_process_show_after_the_cache_ttl(
    registry_url: str, password_hasher: PasswordHasher
) -> None:
    monotonic = [0.0]
    here = Registry(registry_url, password_hasher=password_hasher, monotonic=lambda: monotonic[0])
    there = Registry(registry_url, password_hasher=password_hasher)
    try:
        user = here.create_user("ops", "correct horse", Role.OPERATOR)
        issued = here.issue_api_token(user.id, "t")
        region = here.create_region("210200", "大连市")
        park = here.create_park(region.id, "高新区")
        ent = here.create_enterprise(park.id, "A", "91110000600037341L")
        _, device_token = here.create_device(ent.id, "d", "loom")
        assert here.principal_for_token(issued.token) is not None
        assert here.device_for_token(device_token) is not None
        assert not here.has_consent(ent.id)

        there.revoke_api_token(issued.record.id)
        there.rotate_device_token(here.list_devices(ent.id)[0].id)
        there.grant_consent(ent.id, user.id)
        # Within the TTL this process still answers from its cache ...
        assert here.principal_for_token(issued.token) is not None
        assert here.device_for_token(device_token) is not None
        assert not here.has_consent(ent.id)
        # ... and after it, from the database.
        monotonic[0] += 6.0
        assert here.principal_for_token(issued.token) is None
        assert here.device_for_token(device_token) is None
        assert here.has_consent(ent.id)
    finally:
        here.close()
        there.close()


def test_consent_lifecycle(registry: Registry, enterprise_id: int) -> None:
    admin = registry.create_user("admin", "correct horse", "enterprise_admin", enterprise_id)
    assert not registry.has_consent(enterprise_id)  # cached as False now
    consent = registry.grant_consent(enterprise_id, admin.id, "  月度运行分析  ")
    assert consent.active and consent.note == "月度运行分析"
    assert registry.has_consent(enterprise_id)  # the grant cleared the cached False
    with pytest.raises(ConflictError) as caught:
        registry.grant_consent(enterprise_id, admin.id)
    assert caught.value.code == "consent_active"

    revoked = registry.revoke_consent(consent.id)
    assert not revoked.active
    assert not registry.has_consent(enterprise_id)
    again = registry.grant_consent(enterprise_id, admin.id)
    assert [c.id for c in registry.list_consents(enterprise_id)] == [consent.id, again.id]
    assert registry.get_consent(again.id) == again
    with pytest.raises(NotFoundError):
        registry.revoke_consent(999)
    with pytest.raises(NotFoundError):
        registry.grant_consent(999, admin.id)


def test_count_summary(registry: Registry, enterprise_id: int) -> None:
    region = registry.get_enterprise(enterprise_id)
    park = registry.get_park(region.park_id)
    empty_park = registry.create_park(park.region_id, "空园区")
    other = registry.create_enterprise(park.id, "B", "91110108551385082Q")
    registry.create_device(enterprise_id, "d1", "loom")
    registry.create_device(enterprise_id, "d2", "loom")
    registry.create_device(other.id, "d1", "power_meter")
    summary = {row.park_id: row for row in registry.count_summary()}
    assert (summary[park.id].enterprises, summary[park.id].devices) == (2, 3)
    assert (summary[empty_park.id].enterprises, summary[empty_park.id].devices) == (0, 0)
    assert summary[park.id].park_name == park.name
