"""The sign-in rate limiter on its own, with a clock the test moves."""

from __future__ import annotations

import pytest

from shugu.api.login_guard import LoginGuard, TooManyAttempts
from tests.clock import ManualClock


def _fail(guard: LoginGuard, user: str, address: str = "10.0.0.1") -> None:
    guard.admit(user, address)  # an attempt that is not followed by succeeded() is a failure


def test_a_username_is_locked_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    clock = ManualClock(1000.0)
    guard = LoginGuard(failures_per_user=3, failures_per_address=100, window_s=600, clock=clock)
    for _ in range(3):
        _fail(guard, "alice")
        clock.now += 10
    with pytest.raises(TooManyAttempts) as refused:
        guard.admit("alice", "10.0.0.2")  # another address does not help
    assert refused.value.code == "too_many_attempts"
    assert refused.value.http_status == 429
    # The first failure was at 1000, the window is 600 s, the clock reads 1030.
    assert refused.value.retry_after_s == 570
    guard.admit("bob", "10.0.0.1")  # other usernames are not affected
    clock.now = 1000 + 600 + 1
    guard.admit("alice", "10.0.0.1")


def test_success_clears_the_username_but_not_the_address() -> None:
    clock = ManualClock(1000.0)
    guard = LoginGuard(failures_per_user=3, failures_per_address=4, window_s=600, clock=clock)
    _fail(guard, "alice")
    _fail(guard, "alice")
    stamp = guard.admit("alice", "10.0.0.1")
    guard.succeeded("alice", "10.0.0.1", stamp)
    _fail(guard, "alice")
    _fail(guard, "alice")  # four failures of alice in all, two since her success
    with pytest.raises(TooManyAttempts) as refused:
        guard.admit("carol", "10.0.0.1")  # the address has four failures
    assert "address" in refused.value.message


def test_an_address_is_locked_across_usernames() -> None:
    guard = LoginGuard(
        failures_per_user=5, failures_per_address=3, window_s=600, clock=ManualClock(1000.0)
    )
    for user in ("a", "b", "c"):
        _fail(guard, user, "192.0.2.7")
    with pytest.raises(TooManyAttempts):
        guard.admit("d", "192.0.2.7")
    guard.admit("d", "192.0.2.8")


def test_parallel_attempts_count_before_they_finish() -> None:
    guard = LoginGuard(
        failures_per_user=3, failures_per_address=100, window_s=600, clock=ManualClock(1000.0)
    )
    for _ in range(3):
        guard.admit("alice", "10.0.0.1")  # three guesses in flight, none answered yet
    with pytest.raises(TooManyAttempts):
        guard.admit("alice", "10.0.0.1")


def test_an_abandoned_attempt_is_not_a_failure() -> None:
    guard = LoginGuard(
        failures_per_user=1, failures_per_address=1, window_s=600, clock=ManualClock(1000.0)
    )
    stamp = guard.admit("alice", "10.0.0.1")
    guard.abandoned("alice", "10.0.0.1", stamp)
    guard.admit("alice", "10.0.0.1")


def test_memory_is_bounded_and_expired_keys_go_first() -> None:
    clock = ManualClock(1000.0)
    guard = LoginGuard(
        failures_per_user=2, failures_per_address=10_000, window_s=60, max_keys=100, clock=clock
    )
    _fail(guard, "victim", "a")
    _fail(guard, "victim", "a")
    clock.now += 120  # victim's failures have expired
    _fail(guard, "target", "a")
    _fail(guard, "target", "a")
    for i in range(99):  # one more username than there is room for
        _fail(guard, f"spray-{i}", "a")
    assert guard.tracked_keys == 100 + 1  # usernames plus the one address
    # Making room dropped the expired key, not the live lockout of "target".
    with pytest.raises(TooManyAttempts):
        guard.admit("target", "b")
    for i in range(1000):
        _fail(guard, f"more-{i}", "a")
    assert guard.tracked_keys == 100 + 1


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        LoginGuard(failures_per_user=0)
