"""Whole numbers sent as text: ASCII digits only, and few of them."""

from __future__ import annotations

import pytest

from shugu.domain.digits import MAX_DIGITS, ascii_int


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("7", 7), ("007", 7), ("9" * MAX_DIGITS, 10**MAX_DIGITS - 1)],
)
def test_ascii_digits_are_read(text: str, number: int) -> None:
    assert ascii_int(text) == number


@pytest.mark.parametrize(
    "text",
    ["", " 1", "1 ", "+1", "-1", "1.0", "²", "٣", "３", "1²", "9" * (MAX_DIGITS + 1), "9" * 5000],
)
def test_anything_else_is_no_number(text: str) -> None:
    assert ascii_int(text) is None


def test_the_number_of_digits_can_be_narrowed() -> None:
    assert (ascii_int("123456789", 9), ascii_int("1234567890", 9)) == (123456789, None)
