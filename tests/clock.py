"""A hand-set clock for code that takes ``clock=`` (seconds, milliseconds or datetimes)."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ManualClock(Generic[T]):
    """Returns ``now`` until the test moves it."""

    def __init__(self, now: T) -> None:
        self.now = now

    def __call__(self) -> T:
        return self.now
