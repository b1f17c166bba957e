"""Pages of the console that are not built yet, or known to be wrong: their tests are written
and expected to fail.

Strict: a test of a page listed here that passes fails the run, so the entry is removed the day
the page arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., object])

#: Page (an enterprise page's name, or a path; "account:page" for one account's view of it) →
#: why its tests cannot pass yet.
PENDING: dict[str, str] = {}


def marks(*pages: str) -> list[pytest.MarkDecorator]:
    reasons = [f"{page}: {PENDING[page]}" for page in pages if page in PENDING]
    if not reasons:
        return []
    return [pytest.mark.xfail(strict=True, reason="; ".join(reasons))]


def awaiting(*pages: str) -> Callable[[F], F]:
    """Decorates a test of ``pages``: expected to fail while one of them is pending."""

    def decorate(test: F) -> F:
        for mark in marks(*pages):
            test = mark(test)
        return test

    return decorate


def param(*values: object, pages: tuple[str, ...], id: str | None = None) -> object:
    return pytest.param(*values, marks=marks(*pages), id=id)
