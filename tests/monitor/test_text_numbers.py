"""Numbers that arrive as text from outside the monitor: a webhook's Retry-After, a device name's
digit runs. Other scripts' digits and runs longer than int() reads must not raise."""

from __future__ import annotations

import httpx
import pytest

from shugu.monitor.notify.senders import _retry_after
from shugu.monitor.reports.view import natural_key


def answer(retry_after: str) -> httpx.Response:
    # As a server sends it: bytes on the wire, which httpx decodes as UTF-8.
    return httpx.Response(503, headers={"Retry-After": retry_after.encode()})


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 5 ", 5.0),
        ("²", None),
        ("٣", None),
        ("３", None),
        ("9" * 5000, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("-1", None),
    ],
)
def test_retry_after_reads_ascii_delay_seconds_only(header: str, seconds: float | None) -> None:
    assert _retry_after(answer(header)) == seconds


def test_device_names_sort_naturally_whatever_their_digits() -> None:
    names = ["机柜-10", "机柜-2", "机柜-" + "9" * 5000, "机柜-١٢", "机柜-²"]
    ordered = sorted(names, key=natural_key)
    assert ordered.index("机柜-2") < ordered.index("机柜-10") < ordered.index("机柜-١٢")
    assert set(ordered) == set(names)
