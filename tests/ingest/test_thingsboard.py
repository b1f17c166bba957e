from __future__ import annotations

import math

import pytest

from shugu.ingest.errors import IngestError
from shugu.ingest.thingsboard import TelemetryDecoder, parse_json, split_gateway


def decoder(bool_metrics: set[str] | None = None) -> TelemetryDecoder:
    return TelemetryDecoder(lambda: 1_700_000_000_000, bool_metrics or set())


def test_plain_object_is_stamped_with_server_time() -> None:
    out = decoder().decode(parse_json(b'{"temp": 21.5, "rh": 40}'))
    assert out.metrics == ["temp", "rh"]
    assert out.ts == [1_700_000_000_000] * 2
    assert out.values == [21.5, 40.0]
    assert out.refusals == []


def test_ts_values_and_lists() -> None:
    body = (
        b'[{"ts": 1000, "values": {"a": 1}}, {"ts": 2000, "values": {"a": 2, "b": 3.5}}, {"c": 4}]'
    )
    out = decoder().decode(parse_json(body))
    assert list(zip(out.metrics, out.ts, out.values, strict=True)) == [
        ("a", 1000, 1.0),
        ("a", 2000, 2.0),
        ("b", 2000, 3.5),
        ("c", 1_700_000_000_000, 4.0),
    ]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ('"21.5"', "non_numeric"),
        ("true", "boolean_value"),
        ("null", "null_value"),
        ('{"x": 1}', "nested_value"),
        ("[1, 2]", "nested_value"),
        ("NaN", "not_finite"),
        ("Infinity", "not_finite"),
        ("1e999", "not_finite"),
    ],
)
def test_bad_values_are_refused_alone(value: str, code: str) -> None:
    out = decoder().decode(parse_json(f'{{"good": 1, "bad": {value}}}'.encode()))
    assert out.metrics == ["good"]
    assert [(r.metric, r.code) for r in out.refusals] == [("bad", code)]


def test_booleans_map_to_numbers_only_where_the_profile_says() -> None:
    out = decoder({"running"}).decode(parse_json(b'{"running": true, "other": false}'))
    assert out.metrics == ["running"] and out.values == [1.0]
    assert [r.code for r in out.refusals] == ["boolean_value"]


@pytest.mark.parametrize("ts", ['"1000"', "-5", "-0.5", "1e300", "true", "null"])
def test_bad_timestamps_refuse_the_entry(ts: str) -> None:
    out = decoder().decode(
        parse_json(f'[{{"ts": {ts}, "values": {{"a": 1}}}}, {{"b": 2}}]'.encode())
    )
    assert out.metrics == ["b"]
    assert [r.code for r in out.refusals] == ["bad_timestamp"]


@pytest.mark.parametrize(
    ("ts", "ms"),
    [("1700000000000.9", 1_700_000_000_000), ("1700000000001.0", 1_700_000_000_001), ("0.5", 0)],
)
def test_a_fraction_of_a_millisecond_is_cut_as_thingsboard_does(ts: str, ms: int) -> None:
    out = decoder().decode(parse_json(f'{{"ts": {ts}, "values": {{"a": 1}}}}'.encode()))
    assert out.refusals == []
    assert out.ts == [ms]


def test_entries_that_are_not_objects() -> None:
    out = decoder().decode(parse_json(b'[1, "x", {"a": 1}]'))
    assert out.metrics == ["a"]
    assert [r.code for r in out.refusals] == ["bad_shape", "bad_shape"]


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": }', b"\xff\xfe", b"[" * 100_000])
def test_malformed_json_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(IngestError) as info:
        parse_json(body)
    assert info.value.code == "malformed_json"


def test_gateway_form() -> None:
    doc = split_gateway(
        parse_json(b'{"Loom 1": [{"ts": 1, "values": {"a": 1}}], "Loom 2": {"b": 2}}')
    )
    assert set(doc) == {"Loom 1", "Loom 2"}
    with pytest.raises(IngestError):
        split_gateway([1, 2])


def test_huge_integers_become_floats_or_refusals() -> None:
    out = decoder().decode(parse_json(b'{"a": 12345678901234567890}'))
    assert out.values == [12345678901234567890.0]
    assert not math.isnan(out.values[0])
