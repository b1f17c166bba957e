"""Hostile account changes, as ``PATCH /api/users/{id}`` and the accounts page bring them once
parsed: any user id, any role name, disabled or not, by an enterprise administrator.

Each is refused with a code, or accepted with exactly what was asked: an account of the caller's
own enterprise other than itself, keeping its enterprise and a role of an enterprise's kind; and
its tokens speak for what is stored (none, once disabled).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from bench.fuzz_cases import ACCEPTED, Verdict, judge, unexplained
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.domain.errors import ValidationError
from shugu.domain.tenancy import Access, Role
from shugu.store import account_service
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

_NAMES = itertools.count()

cases = st.tuples(
    st.one_of(st.integers(-3, 12), st.integers()),
    st.one_of(st.none(), st.sampled_from([r.value for r in Role]), st.text(max_size=20)),
    st.one_of(st.none(), st.booleans()),
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    path = tmp_path_factory.mktemp("fuzz-account-changes") / "r.sqlite"
    opened = Registry(f"sqlite:///{path}", password_hasher=cheap)
    region = opened.create_region("350100", "福州市")
    park = opened.create_park(region.id, "长乐纺织园", "350112")
    own = opened.create_enterprise(park.id, "丙织造", "91350100M0001TGQXM", "0502")
    other = opened.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
    opened.create_user("admin", "a long password", Role.ENTERPRISE_ADMIN, own.id)
    opened.create_user("bureau", "a long password", Role.BUREAU)
    for enterprise in (own, other):
        for n in range(3):
            opened.create_user(
                f"v{enterprise.id}-{n}", "a long password", "enterprise_viewer", enterprise.id
            )
    try:
        yield opened
    finally:
        opened.close()


def _admin(registry: Registry) -> Access:
    found = registry.user_by_username("admin")
    assert found is not None
    principal = registry.principal_for_token(registry.create_api_token(found.id, "fuzz"))
    assert principal is not None
    return Access(principal, lambda enterprise_id, grantee: False)


def _role(value: str) -> Role:
    """A role as the route's body parser gives it (a name it does not know is a 422 there)."""
    try:
        return Role(value)
    except ValueError:
        raise ValidationError(f"{value!r} is no role", code="unknown_role") from None


def _check(registry: Registry, case: tuple[Any, Any, Any]) -> Verdict:
    user_id, role, disabled = case
    access = _admin(registry)
    wanted_role = None if role is None else _role(role)
    before = registry.get_user(user_id) if 0 < user_id <= account_service.MAX_ID else None
    token = registry.create_api_token(before.id, f"fuzz-{next(_NAMES)}") if before else None
    after = account_service.update_account(
        registry, access, user_id, role=wanted_role, disabled=disabled
    )
    if before is None or before.enterprise_id != access.principal.enterprise_id:
        return unexplained(f"changed {after!r}, not of the caller's enterprise")
    if after.id == access.principal.user_id:
        return unexplained("the caller changed its own account")
    if after.enterprise_id != before.enterprise_id or not after.role.bound_to_enterprise:
        return unexplained(f"{before!r} became {after!r}")
    if wanted_role is not None and after.role is not wanted_role:
        return unexplained(f"asked {wanted_role}, stored {after.role}")
    if disabled is not None and after.disabled != disabled:
        return unexplained(f"asked disabled={disabled}, stored {after.disabled_at}")
    assert token is not None
    principal = registry.principal_for_token(token)
    if after.disabled != (principal is None):
        return unexplained(f"stored {after!r}, its token speaks for {principal!r}")
    if principal is not None and principal.role is not after.role:
        return unexplained(f"stored {after.role}, its token speaks as {principal.role}")
    return ACCEPTED


@fuzz(0.5)
@given(cases)
@example((1, "enterprise_viewer", True))
@example((3, "enterprise_admin", None))
@example((3, "bureau", False))
@example((6, None, True))
@example((2**63, None, True))
@example((10**30, "enterprise_viewer", None))
def test_account_changes(registry: Registry, case: tuple[Any, Any, Any]) -> None:
    sound(judge(lambda c: _check(registry, c), case))
