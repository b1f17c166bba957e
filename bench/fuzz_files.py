"""Fuzz cases for the files shugu's commands read: district descriptions (YAML, laid out into
devices and inspection plans, as `shugu sim` and `shugu demo` do) and the CSV that
`shugu anomaly score` reads.

A district starts from a small real one and is mutated (bench/fuzz_config.py's YAML mutations),
then sometimes cut or bit-flipped as bytes; CSV files are built row by row with odd timestamps
and values, ragged rows, quotes, NUL bytes and oversize fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bench.fuzz_cases import (
    ACCEPTED,
    Codec,
    Verdict,
    hostile_numbers,
    hostile_text,
    mixture,
    mutate,
    unexplained,
)
from bench.fuzz_config import py_values, yaml_texts
from shugu.cli_anomaly import InputError, read_table
from shugu.monitor.anomaly import PATTERN_SENSITIVITY, WITH_PATTERN, score_series
from shugu.monitor.anomaly_multi import score_frame
from shugu.monitor.rounds import validate_plan
from shugu.sim.district import expand_enterprises, load_district
from shugu.sim.provision import layout

#: Districts that declare more devices than this are not laid out (one may declare millions).
MAX_LAID_OUT_DEVICES = 20_000


# -- district YAML --------------------------------------------------------------------------

DISTRICT = {
    "name": "测试区",
    "seed": 7,
    "region": {"code": "350112", "name": "长乐区"},
    "parks": [
        {
            "name": "滨海纺织产业园",
            "division_code": "350112",
            "enterprises": [
                {
                    "name": "长乐{n}号织造有限公司",
                    "repeat": 3,
                    "plants": [
                        {
                            "kind": "loom_shed",
                            "line": "织造一车间",
                            "devices": "织机 {i:03d}",
                            "count": 5,
                            "meter": "车间电表",
                        }
                    ],
                },
                {
                    "name": "福州滨海云数据中心有限公司",
                    "uscc": "91350112MA000901XW",
                    "transport": "http",
                    "plants": [
                        {
                            "kind": "data_hall",
                            "line": "一号数据机房",
                            "devices": "机柜 R{i:03d}",
                            "count": 4,
                            "crahs": "精密空调 {i:02d}",
                            "crah_count": 2,
                        }
                    ],
                    "inspection_plans": [
                        {
                            "name": "机房日常巡检",
                            "times": ["02:00", "14:00"],
                            "checks": [
                                {
                                    "label_zh": "机柜进风温度",
                                    "label_en": "Rack inlet temperature",
                                    "devices": {"profile": "rack_sensor"},
                                    "metric": "inlet_c",
                                    "below": 18,
                                    "above": 27,
                                }
                            ],
                        }
                    ],
                },
            ],
        }
    ],
    "faults": [
        {
            "at": "2h",
            "duration": "30m",
            "enterprise": "福州滨海云数据中心有限公司",
            "line": "一号数据机房",
            "kind": "crah_trip",
        }
    ],
}
_PATTERNS = ["{i}", "{i}{x}", "{i:q}", "{i", "{{i}}", "{0}", "{i.real}", "{i!r:>5}", "{i:09999}"]
district_leaves = mixture(
    (3, st.one_of(hostile_text, hostile_numbers)),
    (1, st.sampled_from([*_PATTERNS, "15m", "0s", "99999999999d", "1w", "-1h", "2h "])),
    (1, py_values),
)


def _district_bytes(text: str, raw: bool, ops: list[tuple[str, int, bytes]]) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return mutate(data, ops) if raw else data


district_cases = st.builds(
    _district_bytes,
    yaml_texts([DISTRICT], district_leaves),
    st.sampled_from([False] * 5 + [True]),
    st.lists(
        st.tuples(
            st.sampled_from(("truncate", "flip", "insert")),
            st.integers(0, 1 << 16),
            st.binary(min_size=1, max_size=2),
        ),
        min_size=1,
        max_size=2,
    ),
)


@contextmanager
def district_checker(folder: Path) -> Iterator[Any]:
    path = folder / "district.yaml"

    def check(data: bytes) -> Verdict:
        """Load the file, expand repeated enterprises, lay out their devices, check plans."""
        path.write_bytes(data)
        district = load_district(path)
        serial = 0
        for park in district.parks:
            enterprises = expand_enterprises(park, district.region.code, serial)
            serial += len(enterprises)
            devices = sum(p.count + p.crah_count for e in enterprises for p in e.plants)
            for enterprise in enterprises:
                if devices <= MAX_LAID_OUT_DEVICES:
                    layout(enterprise, 1.0)
                for plan in enterprise.inspection_plans:
                    validate_plan(plan)
        return ACCEPTED

    yield check


# -- the anomaly command's CSV --------------------------------------------------------------

_CELLS = st.one_of(
    st.floats(-1e3, 1e3).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e999", "0x1", "１", "1,5", "NaN", "None"]),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=8),
)
_STAMPS = st.one_of(
    st.integers(0, 2**41).map(str),
    st.sampled_from(["2014-02-14 14:30:00", "2014-02-14T14:30:00+08:00", "9999-12-31 23:59:59"]),
    st.sampled_from(["0001-01-01", "2014-02-30 00:00:00", "-1", "1" * 30, "", "now"]),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=10),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    columns = draw(st.sampled_from([["value"], ["value"], ["a", "b"], ["a", "b", "a"]]))
    header = ["timestamp", *columns]
    if not draw(st.integers(0, 5)):
        header = draw(
            st.lists(st.sampled_from(["timestamp", "value", "a", "b", " x ", ""]), max_size=4)
        )
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 12))):
        cells = [draw(_STAMPS), *[draw(_CELLS) for _ in columns]]
        if not draw(st.integers(0, 9)):
            cells = cells[: draw(st.integers(0, len(cells)))]
        lines.append(",".join(cells))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    data = (end.join(lines) + end).encode("utf-8", "surrogatepass")
    if not draw(st.integers(0, 5)):
        data = mutate(
            data,
            draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("truncate", "flip", "insert", "repeat")),
                        st.integers(0, 1 << 12),
                        st.sampled_from([b'"', b"\x00", b"\xff", b",", b"\n", b"\xef\xbb\xbf"]),
                    ),
                    min_size=1,
                    max_size=3,
                )
            ),
        )
    if not draw(st.integers(0, 30)):
        data += b'1,"' + b"x" * 140_000 + b'"\n'
    return data, columns


@contextmanager
def csv_checker(folder: Path) -> Iterator[Any]:
    path = folder / "input.csv"

    def check(case: tuple[bytes, list[str]]) -> Verdict:
        """Read the file as `shugu anomaly score` does, then score it."""
        data, columns = case
        path.write_bytes(data)
        try:
            _, ts, values = read_table(path, columns)
        except InputError as exc:
            message = str(exc)
            if "line" not in message and "file" not in message:
                return unexplained(f"a refusal that names no line: {message}")
            return Verdict("rejected", ("csv_invalid",))
        if len(columns) == 1:
            # As one column is scored by default (with the pattern) and with --no-pattern.
            score_series(ts, values[:, 0], PATTERN_SENSITIVITY, WITH_PATTERN)
            score_series(ts, values[:, 0])
        else:
            score_frame(ts, values)
        return ACCEPTED

    yield check


CODECS = [
    Codec("district_yaml", district_cases, district_checker),
    Codec("anomaly_csv", csv_files(), csv_checker),
]
