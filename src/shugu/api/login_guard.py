"""Sign-in rate limiting: failed sign-ins counted per username and per client address.

Argon2 makes each password guess slow, but not slow enough against a patient script. Here
every failed sign-in is remembered for a window (15 minutes by default); a username with too
many failures in the window, or a client address with too many across all usernames, is
refused with 429 and ``Retry-After`` until its oldest failure leaves the window. While refused,
even the right password is not checked: the refusal costs no password hash, and a guesser learns
nothing from it.

A successful sign-in clears the username's failures, not the address's: otherwise a guesser
with an account of their own could reset their address's count between guesses.

Memory is bounded: each key keeps at most its threshold of timestamps, and when the table is
full the least recently failed keys go first (those whose failures have all expired before any
others). The counts live in this process; several API nodes each count their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from shugu.config import Settings
from shugu.domain.errors import ShuguError

#: Keys (usernames and addresses together) remembered at most; some 300 bytes each.
DEFAULT_MAX_KEYS = 50_000


class TooManyAttempts(ShuguError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(message, retry_after_s=seconds)
        self.retry_after_s = seconds


class FailureWindow:
    """Failure timestamps per key within a sliding window, at most ``limit`` kept per key."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        max_keys: int,
        clock: Callable[[], float],
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        #: key → failure times, oldest first; the dict itself is ordered by latest failure.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def locked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._failures.get(key)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window_s - self._clock())

    def add(self, key: str, stamp: float) -> None:
        times = self._failures.get(key)
        if times is None:
            self._make_room()
            times = self._failures[key] = deque(maxlen=self.limit)
        else:
            self._failures.move_to_end(key)
        times.append(stamp)

    def discard(self, key: str, stamp: float) -> None:
        """Take back one attempt recorded at ``stamp`` (it turned out not to be a failure)."""
        times = self._failures.get(key)
        if times is None:
            return
        if stamp in times:
            times.remove(stamp)
        if not times:
            del self._failures[key]

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def _make_room(self) -> None:
        if len(self._failures) < self._max_keys:
            return
        # The front holds the keys that failed least recently: drop those whose failures
        # have all left the window, then, if still full, the least recent of the rest.
        horizon = self._clock() - self.window_s
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times[-1] > horizon:
                break
            del self._failures[key]
        if len(self._failures) >= self._max_keys:
            self._failures.popitem(last=False)


class LoginGuard:
    """Thread-safe: sign-in runs in the server's worker threads."""

    def __init__(
        self,
        *,
        failures_per_user: int = 5,
        failures_per_address: int = 20,
        window_s: float = 15 * 60,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures_per_user < 1 or failures_per_address < 1 or window_s <= 0:
            raise ValueError("sign-in limits must be at least one failure in a positive window")
        self._lock = threading.Lock()
        self._clock = clock
        self._users = FailureWindow(failures_per_user, window_s, max_keys, clock)
        self._addresses = FailureWindow(failures_per_address, window_s, max_keys, clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginGuard:
        return cls(
            failures_per_user=settings.login_failures_per_user,
            failures_per_address=settings.login_failures_per_address,
            window_s=settings.login_failure_window_s,
        )

    @property
    def tracked_keys(self) -> int:
        with self._lock:
            return len(self._users) + len(self._addresses)

    def admit(self, username: str, address: str) -> float:
        """Let one sign-in attempt through, or raise TooManyAttempts.

        The attempt counts as a failure from now on, so that a burst of parallel guesses
        cannot all pass before the first of them fails; ``succeeded`` and ``abandoned`` take
        it back. Returns the attempt's stamp for them.
        """
        user_key = _user_key(username)
        with self._lock:
            by_user = self._users.locked_for(user_key)
            by_address = self._addresses.locked_for(address)
            if by_user <= 0 and by_address <= 0:
                stamp = self._clock()
                self._users.add(user_key, stamp)
                self._addresses.add(address, stamp)
                return stamp
        if by_user > 0:
            raise TooManyAttempts(
                f"too many failed sign-ins for this username; try again in {math.ceil(by_user)} s",
                retry_after_s=by_user,
            )
        raise TooManyAttempts(
            f"too many failed sign-ins from this address; try again in {math.ceil(by_address)} s",
            retry_after_s=by_address,
        )

    def succeeded(self, username: str, address: str, stamp: float) -> None:
        """The right password: the username's failures are cleared, the address's stay."""
        with self._lock:
            self._users.forget(_user_key(username))
            self._addresses.discard(address, stamp)

    def abandoned(self, username: str, address: str, stamp: float) -> None:
        """The attempt ended in neither success nor failure (a fault of shugu's own)."""
        with self._lock:
            self._users.discard(_user_key(username), stamp)
            self._addresses.discard(address, stamp)


def _user_key(username: str) -> str:
    # Sign-in looks users up by the stripped name; bound the key so that a megabyte of
    # username cannot sit in memory.
    return username.strip()[:256]
