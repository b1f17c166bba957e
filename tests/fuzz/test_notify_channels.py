"""Hostile notification channel settings: refused with a code, or accepted only when the sender
would reach a public address without borrowed credentials (see bench/fuzz_notify.py)."""

from __future__ import annotations

from typing import Any

from bench.fuzz_cases import judge
from bench.fuzz_notify import channel_cases, check_channels
from hypothesis import example, given

from tests.fuzz.fuzzing import fuzz, sound


@fuzz()
@given(channel_cases)
# Accepted with 200 before the target guard: loopback, the metadata service, a header.
@example([{"kind": "webhook", "name": "a", "url": "http://127.0.0.1:8080/hook"}])
@example([{"kind": "dingtalk", "name": "a", "url": "http://169.254.169.254/latest/"}])
@example(
    [
        {
            "kind": "webhook",
            "name": "a",
            "url": "http://public.test/",
            "headers": {"Authorization": "x"},
        }
    ]
)
def test_notify_channels(case: list[dict[str, Any]]) -> None:
    verdict = judge(check_channels, case)
    sound(verdict)
