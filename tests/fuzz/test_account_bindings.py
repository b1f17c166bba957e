"""Hostile account bindings: any role with any enterprise and any park, as ``POST /api/users``
brings them once its body is parsed (a role name, two optional ids).

Each is refused with a code, or accepted with the binding its role asks for: an enterprise
account bound to an existing enterprise and no park, a park official to an existing park and no
enterprise, every other role to neither; what is stored reads back the same, in the account and
in the principal its token speaks for.
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

from shugu.domain.tenancy import Role
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

_NAMES = itertools.count()

ids = st.one_of(st.none(), st.integers(-3, 5), st.integers())
cases = st.tuples(
    st.one_of(st.sampled_from([r.value for r in Role]), st.text(max_size=20)), ids, ids
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    path = tmp_path_factory.mktemp("fuzz-accounts") / "r.sqlite"
    opened = Registry(f"sqlite:///{path}", password_hasher=cheap)
    region = opened.create_region("350100", "福州市")
    park = opened.create_park(region.id, "长乐纺织园", "350112")
    opened.create_enterprise(park.id, "丙织造", "91350100M0001TGQXM", "0502")
    try:
        yield opened
    finally:
        opened.close()


def _check(registry: Registry, case: tuple[Any, Any, Any]) -> Verdict:
    role, enterprise_id, park_id = case
    user = registry.create_user(
        f"fuzz-{next(_NAMES)}", "a long password", role, enterprise_id, park_id=park_id
    )
    wanted_role = Role(role)
    if wanted_role.bound_to_enterprise != (user.enterprise_id is not None):
        return unexplained(f"{wanted_role} stored with enterprise {user.enterprise_id}")
    if wanted_role.bound_to_park != (user.park_id is not None):
        return unexplained(f"{wanted_role} stored with park {user.park_id}")
    if (user.enterprise_id, user.park_id) != (enterprise_id, park_id):
        return unexplained(f"asked {case!r}, stored {user!r}")
    principal = registry.principal_for_token(registry.create_api_token(user.id, "fuzz"))
    if principal is None or (principal.role, principal.park_id) != (wanted_role, park_id):
        return unexplained(f"stored {user!r}, its token speaks for {principal!r}")
    return ACCEPTED


@fuzz(0.5)
@given(cases)
@example(("park_official", None, 1))
@example(("park_official", 1, 1))
@example(("bureau", None, 1))
@example(("enterprise_viewer", 1, 1))
@example(("park_official", None, 2**63 - 1))
@example(("park_official", None, 10**30))
def test_account_bindings(registry: Registry, case: tuple[Any, Any, Any]) -> None:
    sound(judge(lambda c: _check(registry, c), case))
