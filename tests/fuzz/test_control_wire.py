"""Hostile lines on the control socket: every request is run or refused with a code, never a
crash (only the server's own account can connect, but a confused script is still input)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from shugu.api.control_wire import SCHEMAS, decode_answer, decode_request
from shugu.domain.errors import ShuguError
from tests.fuzz.fuzzing import fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
requests = st.builds(
    lambda command, args: json.dumps({"command": command, "args": args}).encode(),
    st.sampled_from(sorted(SCHEMAS)) | st.text(max_size=20),
    st.dictionaries(
        st.sampled_from(["code", "name", "device_id", "enterprise_id", "role", "level", "x"]),
        json_values,
    )
    | json_values,
)


def _decoded_or_refused(line: bytes) -> Any:
    try:
        return decode_request(line)
    except ShuguError as exc:
        assert exc.code and exc.message
        return None


@fuzz()
@given(st.binary(max_size=300) | requests)
@example(b'{"command": "rotate-device-token", "args": {"device_id": 1e400}}')
@example(b'{"command": "create-region"}')
@example(b"[1, 2]")
def test_requests_are_run_or_refused_with_a_code(line: bytes) -> None:
    _decoded_or_refused(line)


@fuzz()
@given(st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values))
def test_answers_are_read_or_refused_with_a_code(line: bytes) -> None:
    try:
        decode_answer(line)
    except ShuguError as exc:
        assert exc.code
