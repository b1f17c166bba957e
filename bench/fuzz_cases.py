"""Hostile inputs and the verdict on each: shared by the property tests (tests/fuzz) and
`shugu bench fuzz`.

A case ends in one of five ways. *accepted*: the codec returned a result and every item of the
input is accounted for. *partial*: some items were kept, the others refused one by one, each with
a code and a reason. *rejected*: the input was refused as a whole (a ShuguError with a code and a
message), or every item was refused with reasons. *crash*: any other exception. *unexplained*:
items lost without a reason, or a refusal without a code or message. The last two are bugs.

The generators build documents of the right shape with hostile parts (wrong types, huge numbers,
NaN and infinity, lone surrogates, control characters, long strings, empty and duplicate keys,
deep nesting), encode them, and sometimes mutate the encoded bytes; raw random bytes are mixed in.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hypothesis import strategies as st

from shugu.domain.errors import ShuguError

Outcome = Literal["accepted", "partial", "rejected", "crash", "unexplained"]
OUTCOMES: tuple[Outcome, ...] = ("accepted", "partial", "rejected", "crash", "unexplained")
DAY_MS = 86_400_000


# -- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    codes: tuple[str, ...] = ()
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("crash", "unexplained")


ACCEPTED = Verdict("accepted")


def unexplained(detail: str) -> Verdict:
    return Verdict("unexplained", (), detail)


def rejection(exc: ShuguError) -> Verdict:
    """A whole-input refusal: fine when it says what is wrong."""
    if not exc.code or not str(exc.message).strip():
        return unexplained(f"{type(exc).__name__} without a code or a message: {exc!r}")
    return Verdict("rejected", (exc.code,))


def items_verdict(kept: int, refusals: Sequence[tuple[str, str, int]], expected: int) -> Verdict:
    """Items kept or refused one by one: (code, reason, count) per refusal; none may vanish."""
    for code, reason, _ in refusals:
        if not code or not reason.strip():
            return unexplained(f"a refusal without a code or reason: {code!r}, {reason!r}")
    refused = sum(count for _, _, count in refusals)
    if kept + refused != expected:
        return unexplained(f"{expected} items sent, {kept} kept and {refused} refused")
    codes = tuple(sorted({code for code, _, count in refusals if count}))
    if not refused:
        return ACCEPTED
    return Verdict("rejected" if not kept else "partial", codes)


def judge(check: Callable[[Any], Verdict], case: Any) -> Verdict:
    """Run one case; a ShuguError is a rejection, anything else a crash."""
    try:
        return check(case)
    except ShuguError as exc:
        return rejection(exc)
    except Exception as exc:  # noqa: BLE001 - every other exception is what the fuzz run counts
        text = "".join(traceback.format_exception(exc))
        return Verdict("crash", (type(exc).__name__,), text[-3000:])


def describe_case(case: Any, limit: int = 400) -> str:
    text = repr(case)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Tally:
    """Verdicts of one codec's run."""

    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    #: The first few failing cases: (case, detail).
    failures: list[tuple[str, str]] = field(default_factory=list)

    def add(self, case: Any, verdict: Verdict) -> None:
        self.cases += 1
        self.outcomes[verdict.outcome] += 1
        if verdict.outcome in ("partial", "rejected"):
            self.codes.update(verdict.codes)
        if verdict.failed and len(self.failures) < 5:
            self.failures.append((describe_case(case), verdict.detail))

    def as_json(self) -> dict[str, object]:
        return {
            "cases": self.cases,
            **{outcome: self.outcomes[outcome] for outcome in OUTCOMES},
            "distinct_codes": len(self.codes),
            "codes": dict(sorted(self.codes.items())),
            "failures": [{"case": c, "detail": d} for c, d in self.failures],
        }


@dataclass(frozen=True)
class Codec:
    """A codec under fuzz: its cases, and how to open a checker for them in a scratch folder."""

    name: str
    cases: st.SearchStrategy[Any]
    checker: Callable[[Path], AbstractContextManager[Callable[[Any], Verdict]]]


# -- JSON with hostile parts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object as written: its pairs in order, duplicates allowed."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Raw:
    """JSON text placed as it is (deep nesting, literals no encoder writes)."""

    text: str


@dataclass(frozen=True, slots=True)
class Now:
    """A timestamp relative to the wall clock when the document is encoded."""

    offset_ms: int


def emit(node: Any, ascii_only: bool = True) -> str:
    """JSON text of a node; NaN and Infinity as the literals device libraries write."""
    if node is None:
        return "null"
    if node is True or node is False:
        return "true" if node else "false"
    if isinstance(node, int):
        return str(node)
    if isinstance(node, float):
        if math.isnan(node):
            return "NaN"
        if math.isinf(node):
            return "Infinity" if node > 0 else "-Infinity"
        return repr(node)
    if isinstance(node, str):
        return json.dumps(node, ensure_ascii=ascii_only)
    if isinstance(node, Now):
        return str(time.time_ns() // 1_000_000 + node.offset_ms)
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Obj):
        pairs = (
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{emit(v, ascii_only)}" for k, v in node.pairs
        )
        return "{" + ",".join(pairs) + "}"
    if isinstance(node, list | tuple):
        return "[" + ",".join(emit(v, ascii_only) for v in node) + "]"
    raise TypeError(f"cannot emit {type(node).__name__}")


def encode(node: Any, raw_utf8: bool = False) -> bytes:
    """The node as bytes; ``raw_utf8`` writes non-ASCII characters unescaped, so that a lone
    surrogate becomes invalid UTF-8 instead of a ``\\ud800`` escape."""
    if raw_utf8:
        return emit(node, ascii_only=False).encode("utf-8", "surrogatepass")
    return emit(node).encode("ascii")


def to_python(node: Any) -> Any:
    """The value a JSON parser would hand over (the last of duplicate keys wins)."""
    if isinstance(node, Obj):
        return {k: to_python(v) for k, v in node.pairs}
    if isinstance(node, list | tuple):
        return [to_python(v) for v in node]
    if isinstance(node, Now):
        return time.time_ns() // 1_000_000 + node.offset_ms
    if isinstance(node, Raw):
        return json.loads(node.text)
    return node


SURROGATE = st.characters(categories=["Cs"])
ODD_STRINGS = (
    "",
    " ",
    "ts",
    "values",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\u202e",
    "\ufeff",
    "😀",
    "\t\n",
    "null",
    "NaN",
    "{i}",
    "{i}{x}",
    "{i:q}",
    "{",
    "%s%n",
    "../../etc/passwd",
    "'; DROP TABLE devices;--",
    "织机 A-01",
    # Pass str.isdigit / str.isdecimal, but int() refuses them or reads another script's digit.
    "²",
    "٣",
    "３",
    # int() refuses more than 4,300 digits.
    "9" * 5000,
)
hostile_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
    st.lists(st.one_of(st.characters(), SURROGATE), max_size=6).map("".join),
    st.integers(100, 70_000).map(lambda n: "x" * n),
)
ODD_NUMBERS: tuple[int | float, ...] = (
    0,
    -1,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    5e-324,
    1.7976931348623157e308,
)
hostile_numbers: st.SearchStrategy[int | float] = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.sampled_from(ODD_NUMBERS),
)


def _nested(depth: int, kind: int) -> Raw:
    if kind == 0:
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


deep_json = st.builds(
    _nested, st.one_of(st.integers(1, 300), st.integers(1, 3000)), st.integers(0, 1)
)
json_scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text)


def json_objects(values: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> Any:
    return st.lists(st.tuples(keys, values), max_size=6).map(lambda p: Obj(tuple(p)))


json_values: st.SearchStrategy[Any] = st.one_of(
    st.recursive(
        json_scalars,
        lambda kids: st.one_of(st.lists(kids, max_size=4), json_objects(kids, hostile_text)),
        max_leaves=12,
    ),
    deep_json,
)


# -- byte mutations --------------------------------------------------------------------------

_MUTATION = st.tuples(
    st.sampled_from(("truncate", "flip", "insert", "delete", "repeat")),
    st.integers(0, 1 << 20),
    st.binary(min_size=1, max_size=8),
)


def mutate(data: bytes, ops: Sequence[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for op, position, extra in ops:
        at = position % (len(out) + 1)
        if op == "truncate":
            del out[at:]
        elif op == "flip" and out:
            out[at % len(out)] ^= 1 << (extra[0] % 8)
        elif op == "insert":
            out[at:at] = extra
        elif op == "delete":
            del out[at : at + 1 + extra[0] % 16]
        elif op == "repeat":
            out[at:at] = out[at : at + 1 + extra[0] % 64]
    return bytes(out)


def mutated(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.builds(mutate, base, st.lists(_MUTATION, min_size=1, max_size=3))


def mixture(*parts: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draws from the parts roughly in proportion to their weights.

    ``one_of`` and ``sampled_from`` favour the ends of a choice, so the first part (the main
    one) sits at both ends and the others in the middle.
    """
    main = [0] * parts[0][0]
    others = [i for i, (weight, _) in enumerate(parts[1:], start=1) for _ in range(weight)]
    order = main[: len(main) // 2] + others + main[len(main) // 2 :]
    return st.sampled_from(order).flatmap(lambda i: parts[i][1])


def bodies(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Encoded documents, the same mutated, and raw bytes."""
    encoded = st.builds(encode, documents, st.sampled_from((False,) * 7 + (True,)))
    return mixture((5, encoded), (1, mutated(encoded)), (1, st.binary(max_size=256)))


# -- ThingsBoard telemetry documents ---------------------------------------------------------


def tb_documents(
    metric_names: Sequence[str], texts: Sequence[str] = ("RUNNING",)
) -> st.SearchStrategy[Any]:
    """ThingsBoard telemetry: ``{k: v}``, ``{"ts": ms, "values": {...}}`` or a list of either;
    ``texts`` are strings a profile knows (states by name)."""
    keys = st.one_of(st.sampled_from(list(metric_names)), hostile_text)
    values = st.one_of(
        st.sampled_from(list(texts)),
        st.floats(-1e6, 1e6),
        st.integers(-(10**6), 10**6),
        hostile_numbers,
        st.booleans(),
        st.none(),
        hostile_text,
        json_values,
    )
    flat = json_objects(values, keys)
    stamps = st.one_of(
        st.integers(-400 * DAY_MS, 2 * DAY_MS).map(Now),
        st.integers(-60_000, 60_000).map(Now),
        hostile_numbers,
        st.booleans(),
        hostile_text,
        st.none(),
    )
    extra = st.lists(st.tuples(keys, values), max_size=2)
    stamped = st.builds(
        lambda ts, vals, more: Obj((("ts", ts), ("values", vals), *more)),
        stamps,
        st.one_of(flat, flat, json_values),
        st.one_of(st.just([]), extra),
    )
    entry = st.one_of(flat, stamped, stamped, json_values)
    return st.one_of(entry, st.lists(entry, max_size=5))


#: 9999-12-31T23:59:59.999Z, the last instant a ThingsBoard timestamp may name.
MAX_TS_MS = 253_402_300_799_999


def valid_tb_timestamp(raw: Any) -> bool:
    """ThingsBoard's "ts": milliseconds since 1970 (a fraction is cut), before the year 10000."""
    if isinstance(raw, bool):
        return False
    if isinstance(raw, float):
        return math.isfinite(raw) and 0 <= raw < MAX_TS_MS + 1
    return isinstance(raw, int) and 0 <= raw <= MAX_TS_MS


def tb_value_count(doc: Any) -> int:
    """Items of a ThingsBoard payload that shugu must keep or refuse with a reason: each value,
    each stray key beside "ts" and "values", each entry that is not an object, and an entry
    under a bad timestamp as at least one."""
    entries = doc if isinstance(doc, list) else [doc]
    total = 0
    for entry in entries:
        if not isinstance(entry, dict):
            total += 1
        elif "ts" in entry and "values" in entry:
            values = entry["values"]
            held = len(values) if isinstance(values, dict) else 1
            if not valid_tb_timestamp(entry["ts"]):
                held = max(1, held)
            total += len(entry) - 2 + held
        else:
            total += len(entry)
    return total
