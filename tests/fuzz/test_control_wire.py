"""Hostile lines on the control socket: every request is run or refused with a code, never a
crash (only the server's own account can connect, but a confused script is still input)."""

from __future__ import annotations

import json

from bench.fuzz_cases import judge
from bench.fuzz_control import (
    argument_cases,
    check_arguments,
    check_request,
    control_cases,
    json_values,
)
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.api.control_wire import decode_answer
from shugu.domain.errors import ShuguError
from tests.fuzz.fuzzing import fuzz, sound


@fuzz()
@given(control_cases)
@example(b'{"command": "rotate-device-token", "args": {"device_id": 1e400}}')
@example(b'{"command": "create-region"}')
@example(b'{"command": "create-device", "args": {"enterprise_id": 1, "name": "\\ud800"}}')
@example(b"[1, 2]")
def test_requests_are_run_or_refused_with_a_code(line: bytes) -> None:
    sound(judge(check_request, line))


@fuzz()
@given(st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values))
def test_answers_are_read_or_refused_with_a_code(line: bytes) -> None:
    try:
        decode_answer(line)
    except ShuguError as exc:
        assert exc.code and exc.message


@fuzz()
@given(argument_cases)
@example(("create-region", {"code": "350112", "name": "\udcff"}))
def test_arguments_are_sent_or_refused_with_a_code(case: tuple[str, dict[str, object]]) -> None:
    sound(judge(check_arguments, case))
