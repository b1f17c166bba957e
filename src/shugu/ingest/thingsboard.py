"""ThingsBoard telemetry JSON → columns of (metric name, ts, value), with per-value refusals.

Accepted shapes, as ThingsBoard's device API defines them:
``{"temp": 21.5}`` (stamped with the server's time), ``{"ts": 1700000000000, "values": {...}}``,
or a list of either. The gateway form maps device names to such payloads:
``{"Loom 7": [{"ts": ..., "values": {...}}], "Loom 8": {"speed": 600}}``.

A value is stored only when it is a finite number, a boolean for metrics whose profile maps
booleans to 0/1, or a text naming a state of a state metric (``"RUNNING"``, ``"经停"``), stored as
the state's code. Everything else is refused one value at a time with a reason, so one bad key
never costs the good ones beside it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from shugu.domain.profiles import MetricSpec
from shugu.ingest.errors import IngestError

#: JSON has no NaN or Infinity, but many device libraries emit them; they are parsed so that
#: the value can be refused alone rather than the whole payload.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@dataclass(slots=True)
class ValueRefusal:
    metric: str | None
    ts: int | None
    code: str
    reason: str
    sample: str
    #: How many values the refusal covers (an entry with a bad timestamp refuses them all).
    count: int = 1


@dataclass(slots=True)
class ParsedTelemetry:
    metrics: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    refusals: list[ValueRefusal] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; NaN and Infinity literals are read (and later refused per value)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(body, parse_constant=lambda name: _NON_FINITE[name])
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise IngestError(f"the body is not valid JSON: {exc}", code="malformed_json") from None


#: 9999-12-31T23:59:59.999Z: later "timestamps" are not times but garbage.
MAX_TS_MS = 253_402_300_799_999


def _sample(value: Any) -> str:
    """A short, printable rendering of what was refused, whatever it is."""
    try:
        text = orjson.dumps(value).decode() if _jsonable(value) else repr(value)
    except (orjson.JSONEncodeError, TypeError):
        text = repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 200 else text[:197] + "..."


def _jsonable(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def _parse_ts(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_TS_MS else None
    if isinstance(raw, float) and math.isfinite(raw) and 0 <= raw < MAX_TS_MS + 1:
        # A fraction of a millisecond is cut off, as ThingsBoard reads "ts" (a long).
        return int(raw)
    return None


class TelemetryDecoder:
    """Decodes ThingsBoard telemetry objects for one device."""

    def __init__(
        self,
        now_ms: Callable[[], int],
        bool_metrics: Container[str],
        state_metrics: Mapping[str, MetricSpec] | None = None,
    ) -> None:
        self._now_ms = now_ms
        self._bool_metrics = bool_metrics
        #: metric name → spec, for the state metrics whose states may be sent as text
        self._state_metrics = state_metrics or {}

    def decode(self, doc: Any, out: ParsedTelemetry | None = None) -> ParsedTelemetry:
        out = out if out is not None else ParsedTelemetry()
        if isinstance(doc, list):
            for item in doc:
                self._entry(item, out)
        else:
            self._entry(doc, out)
        return out

    def _entry(self, item: Any, out: ParsedTelemetry) -> None:
        if not isinstance(item, dict):
            out.refusals.append(
                ValueRefusal(
                    None,
                    None,
                    "bad_shape",
                    'expected an object such as {"key": value} or {"ts": ms, "values": {...}}',
                    _sample(item),
                )
            )
            return
        if "ts" in item and "values" in item:
            if len(item) > 2:
                self._stray_keys(item, out)
            ts = _parse_ts(item["ts"])
            values = item["values"]
            if ts is None:
                out.refusals.append(
                    ValueRefusal(
                        None,
                        None,
                        "bad_timestamp",
                        '"ts" must be a number of milliseconds since 1970, before year 10000',
                        _sample(item["ts"]),
                        count=max(1, len(values)) if isinstance(values, dict) else 1,
                    )
                )
                return
            if not isinstance(values, dict):
                out.refusals.append(
                    ValueRefusal(
                        None, ts, "bad_shape", '"values" must be an object', _sample(values)
                    )
                )
                return
        else:
            ts = self._now_ms()
            values = item
        self._values(values, ts, out)

    @staticmethod
    def _stray_keys(item: dict[str, Any], out: ParsedTelemetry) -> None:
        # ThingsBoard ignores them; shugu says so, or the value would vanish without a word.
        for key, raw in item.items():
            if key not in ("ts", "values"):
                out.refusals.append(
                    ValueRefusal(
                        key,
                        None,
                        "stray_key",
                        'an entry with "ts" and "values" holds nothing else; '
                        'put the value inside "values"',
                        _sample(raw),
                    )
                )

    def _values(self, values: dict[str, Any], ts: int, out: ParsedTelemetry) -> None:
        metrics, stamps, nums = out.metrics, out.ts, out.values
        for key, raw in values.items():
            kind = type(raw)
            if kind is float or kind is int:
                try:
                    value = float(raw)
                except OverflowError:  # an integer beyond float64
                    value = math.inf
                if math.isfinite(value):
                    metrics.append(key)
                    stamps.append(ts)
                    nums.append(value)
                    continue
                out.refusals.append(
                    ValueRefusal(
                        key, ts, "not_finite", "NaN and infinity are not values", _sample(raw)
                    )
                )
            elif kind is bool:
                if key in self._bool_metrics:
                    metrics.append(key)
                    stamps.append(ts)
                    nums.append(1.0 if raw else 0.0)
                else:
                    out.refusals.append(
                        ValueRefusal(
                            key,
                            ts,
                            "boolean_value",
                            "this metric takes numbers; its profile does not map booleans to 0/1",
                            _sample(raw),
                        )
                    )
            elif kind is str:
                self._text(key, raw, ts, out)
            elif raw is None:
                out.refusals.append(
                    ValueRefusal(key, ts, "null_value", "null is not a value", "null")
                )
            else:
                out.refusals.append(
                    ValueRefusal(
                        key,
                        ts,
                        "nested_value",
                        "objects and lists are not telemetry values; send one key per number",
                        _sample(raw),
                    )
                )

    def _text(self, key: str, raw: str, ts: int, out: ParsedTelemetry) -> None:
        spec = self._state_metrics.get(key)
        if spec is None:
            out.refusals.append(
                ValueRefusal(
                    key,
                    ts,
                    "non_numeric",
                    "strings are not stored as telemetry",
                    _sample(raw),
                )
            )
            return
        code = spec.state_code(raw)
        if code is None:
            out.refusals.append(
                ValueRefusal(key, ts, "unknown_state", unknown_state_reason(spec), _sample(raw))
            )
            return
        out.metrics.append(key)
        out.ts.append(ts)
        out.values.append(float(code))


def unknown_state_reason(spec: MetricSpec) -> str:
    """Why a text was refused for a state metric: it names none of the states listed."""
    return "the text names no state of this metric; known states: " + ", ".join(spec.state_names())


def count_values(payload: Any) -> int:
    """How many values a ThingsBoard payload carries (at least 1), for counting refusals."""
    entries = payload if isinstance(payload, list) else [payload]
    total = 0
    for entry in entries:
        if isinstance(entry, dict) and "ts" in entry and "values" in entry:
            values = entry["values"]
            total += (len(values) if isinstance(values, dict) else 1) + len(entry) - 2
        elif isinstance(entry, dict):
            total += len(entry)
        else:
            total += 1
    return max(total, 1)


def split_gateway(doc: Any) -> dict[str, Any]:
    """The gateway form: device name → ThingsBoard telemetry payload."""
    if not isinstance(doc, dict):
        raise IngestError(
            "the gateway form is an object of device names: "
            '{"Device A": [{"ts": ..., "values": {...}}]}',
            code="bad_shape",
        )
    return doc
