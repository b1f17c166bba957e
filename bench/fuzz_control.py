"""Fuzz cases for the control socket's request lines (`shugu admin` → the running server):
raw bytes, JSON of any shape, and requests naming real commands with hostile arguments.

A case is sound when it is refused with a code and a message, or accepted as a known command
whose arguments passed the HTTP route's schema and survive being sent again unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bench.fuzz_cases import ACCEPTED, Codec, Verdict, unexplained
from shugu.api.control_wire import SCHEMAS, decode_request, encode_request, validate_args

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
FIELDS = ["code", "name", "device_id", "enterprise_id", "region_id", "role", "level", "uscc"]
requests = st.builds(
    lambda command, args: json.dumps({"command": command, "args": args}).encode(),
    st.sampled_from(sorted(SCHEMAS)) | st.text(max_size=20),
    st.dictionaries(st.sampled_from(FIELDS), json_values) | json_values,
)
control_cases: st.SearchStrategy[bytes] = (
    st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values) | requests
)


#: Arguments as a command line may give them (lone surrogates from bytes that are not UTF-8).
argument_cases = st.builds(
    lambda command, args: (command, args),
    st.sampled_from(sorted(SCHEMAS)),
    st.dictionaries(st.sampled_from(FIELDS), json_values | st.just("\udcff")),
)


def check_arguments(case: tuple[str, dict[str, Any]]) -> Verdict:
    """What `shugu admin` does before sending: validate, then encode."""
    command, args = case
    decode_request(encode_request(command, validate_args(command, args)))
    return ACCEPTED


def check_request(line: bytes) -> Verdict:
    command, args = decode_request(line)
    again = decode_request(encode_request(command, args))
    if again != (command, args):
        return unexplained(f"{command}: arguments changed when sent again: {args!r} → {again!r}")
    return ACCEPTED


@contextmanager
def _checker(_: Path) -> Iterator[Callable[[Any], Verdict]]:
    yield check_request


CODECS = [Codec("control_socket", control_cases, _checker)]
