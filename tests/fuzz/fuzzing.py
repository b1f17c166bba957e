"""How many cases the fuzz tests draw: a few dozen per codec in `make test`, more on demand.

``SHUGU_FUZZ=full`` selects the profile ``fuzz-full`` (10,000 cases per test, as
`shugu bench fuzz` draws); ``SHUGU_FUZZ_EXAMPLES=N`` sets any other number.
"""

from __future__ import annotations

import os

from bench.fuzz_cases import Verdict
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz-quick",
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile("fuzz-full", settings.get_profile("fuzz-quick"), max_examples=10_000)

PROFILE = settings.get_profile(
    "fuzz-full" if os.environ.get("SHUGU_FUZZ") == "full" else "fuzz-quick"
)


def fuzz(share: float = 1.0) -> settings:
    """Settings for one fuzz test; ``share`` scales the quick count for slower codecs."""
    wanted = os.environ.get("SHUGU_FUZZ_EXAMPLES")
    if wanted:
        return settings(PROFILE, max_examples=int(wanted))
    if PROFILE.max_examples > 1000:
        return PROFILE
    return settings(PROFILE, max_examples=max(10, round(PROFILE.max_examples * share)))


def sound(verdict: Verdict) -> None:
    """No crash, and nothing lost or refused without a reason."""
    assert not verdict.failed, f"{verdict.outcome}: {verdict.detail}"
