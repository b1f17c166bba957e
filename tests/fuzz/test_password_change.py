"""Hostile password changes, as ``POST /api/auth/password`` and the password page bring them once
parsed: any current password (the right one or not), any new one (empty, huge, control
characters, lone surrogates, the username, the current one).

Each is refused with a code, or accepted with exactly what was asked: a new password that keeps
every rule, after which only it signs in and the account's earlier tokens are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from bench.fuzz_cases import ACCEPTED, Verdict, judge, unexplained
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.domain.errors import AuthError
from shugu.domain.tenancy import Access, Role
from shugu.store import account_service
from shugu.store.registry import Registry
from shugu.store.registry.passwords import MAX_PASSWORD_LENGTH, MIN_CHOSEN_PASSWORD_LENGTH
from tests.fuzz.fuzzing import fuzz, sound

USERNAME = "holder-of-a-name"
passwords = st.one_of(
    st.text(max_size=40),
    st.text(min_size=250, max_size=300),
    st.sampled_from([USERNAME, USERNAME.upper(), f" {USERNAME} ", "", "\x00" * 12, "\ud800" * 10]),
)
#: (give the right current password?, a wrong one to give otherwise, the new one)
cases = st.tuples(st.booleans(), passwords, passwords)


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, list[str]]]:
    """The registry and, in a list the cases update, the account's current password."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    path = tmp_path_factory.mktemp("fuzz-password-change") / "r.sqlite"
    opened = Registry(f"sqlite:///{path}", password_hasher=cheap)
    opened.create_user(USERNAME, "the first password", Role.BUREAU, must_change_password=True)
    try:
        yield opened, ["the first password"]
    finally:
        opened.close()


def _keeps_the_rules(new: str, current: str) -> bool:
    return (
        MIN_CHOSEN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH
        and new.strip().casefold() != USERNAME
        and new != current
    )


def _signs_in(registry: Registry, password: str) -> bool:
    try:
        registry.authenticate_password(USERNAME, password)
    except AuthError:
        return False
    return True


def _check(registry: Registry, state: list[str], case: tuple[Any, Any, Any]) -> Verdict:
    right, wrong, new = case
    current = state[0] if right else wrong
    found = registry.user_by_username(USERNAME)
    assert found is not None
    token = registry.create_api_token(found.id, "fuzz")
    principal = registry.principal_for_token(token)
    assert principal is not None
    access = Access(principal, lambda enterprise_id, grantee: False)
    after = account_service.change_own_password(registry, access, current, new)
    if current != state[0]:
        return unexplained("changed with a wrong current password")
    if not _keeps_the_rules(new, current):
        return unexplained(f"accepted {new!r}, which breaks a rule")
    old, state[0] = state[0], new
    if after.must_change_password:
        return unexplained("the flag survived the change")
    if registry.principal_for_token(token) is not None:
        return unexplained("a token of before the change still works")
    if _signs_in(registry, old) or not _signs_in(registry, new):
        return unexplained("the old password signs in, or the new one does not")
    return ACCEPTED


@fuzz(0.3)
@given(cases)
@example((True, "", "short"))
@example((True, "", USERNAME.upper()))
@example((True, "", "x" * 257))
@example((False, "wrong password", "a fine new password"))
@example((True, "", "\ud800" * 12))
@example((True, "", "a fine new password"))
def test_password_changes(holder: tuple[Registry, list[str]], case: tuple[Any, Any, Any]) -> None:
    registry, state = holder
    sound(judge(lambda c: _check(registry, state, c), case))
