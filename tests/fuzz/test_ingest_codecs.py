"""Hostile payloads for the device-facing codecs: each value is kept or refused with a reason.

The cases and the verdict come from bench/fuzz_ingest.py (the same as `shugu bench fuzz`); the
``@example`` rows are inputs that once crashed or lost something.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
from bench.fuzz_cases import judge
from bench.fuzz_ingest import (
    IngestWorld,
    arrow_cases,
    device_http_cases,
    gateway_cases,
    mqtt_app_cases,
    telemetry_cases,
)
from hypothesis import example, given

from shugu.ingest.arrow_codec import write_stream
from shugu.ingest.ingest_meter import HTTP
from tests.fuzz.fuzzing import fuzz, sound

PAYLOADS = Path(__file__).parent / "payloads"
#: More digits than int() reads (4,300).
LONG_DIGITS = b"9" * 5000


def _now() -> int:
    return time.time_ns() // 1_000_000


@fuzz()
@given(telemetry_cases)
# Keys beside "ts" and "values" vanished without a word.
@example(("box-1", f'{{"ts": {_now()}, "values": {{"a": 1}}, "b": 2, "c": "x"}}'.encode()))
@example(("loom-1", b'[{"ts": -1, "values": {}, "x": 1}, {"ts": 1, "values": 5}]'))
# A state in more than 4,300 digits made int() raise out of the decoder: a 500, and the
# payload's good values lost; other scripts' digits were read as state codes.
@example(("loom-1", b'{"running": "' + LONG_DIGITS + b'", "speed_rpm": 600}'))
@example(("loom-1", '{"stop_cause": "٣", "running": "３"}'.encode()))
def test_thingsboard_json(ingest_world: IngestWorld, case: tuple[str, bytes]) -> None:
    sound(judge(ingest_world.check_telemetry, case))


def test_stray_keys_are_refused_by_name(ingest_world: IngestWorld) -> None:
    doc = f'{{"ts": {_now()}, "values": {{"temp": 1}}, "deviceName": "x"}}'.encode()
    world = ingest_world
    device = world.devices["box-1"]
    decoded = world.door.device_json(device).decode(doc)
    result = world.run(world.door.ingest(decoded, HTTP))
    assert result.accepted == 1
    errors = result.as_json()["errors"]
    assert [(e["key"], e["code"]) for e in errors] == [("deviceName", "stray_key")]  # type: ignore[index]


@fuzz()
@given(gateway_cases)
@example(b'{"loom-1": {"ts": 1, "values": {}, "odd": 1}, "\\ud800": {"a": 1}}')
def test_gateway_json(ingest_world: IngestWorld, body: bytes) -> None:
    sound(judge(ingest_world.check_gateway, body))


@fuzz(0.7)
@given(arrow_cases)
# pyarrow raised a plain OSError for these, which escaped as a 500.
@example(b"\xff\xff\xff\xff\xf0\xff\xff\xff")
@example(b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\x00" * 16)
# A column name that is not UTF-8 raised UnicodeDecodeError (found at 10,000 cases).
@example(
    write_stream(pa.table({"devicX": ["loom-1"], "metric": ["speed_rpm"], "value": [1.0]})).replace(
        b"devicX", b"devic\xd6"
    )
)
# A column named twice raised KeyError.
@example(
    write_stream(
        pa.Table.from_arrays(
            [
                pa.array(["loom-1"]),
                pa.array(["loom-1"]),
                pa.array(["speed_rpm"]),
                pa.array([1], pa.int64()),
                pa.array([1.0]),
            ],
            names=["device", "device", "metric", "ts", "value"],
        )
    )
)
# zstd of gigabytes of zeros in ~70 kB: decompressed before any limit was checked, the server
# grew by the decoded size and kept it (see bench/fuzz_ingest.py, zero_bomb).
@example((PAYLOADS / "arrow_zstd_bomb_rows.arrows").read_bytes())
@example((PAYLOADS / "arrow_zstd_bomb_bytes.arrows").read_bytes())
# A state text of 5,000 digits raised ValueError out of the batch (see test_thingsboard_json).
@example(
    write_stream(
        pa.table(
            {
                "device": ["loom-1"] * 3,
                "metric": ["running", "stop_cause", "stop_cause"],
                "ts": [_now()] * 3,
                "value": [LONG_DIGITS.decode(), "٣", "WARP_BREAK"],
            }
        )
    )
)
def test_arrow_ipc(ingest_world: IngestWorld, body: bytes) -> None:
    sound(judge(ingest_world.check_arrow, body))


def test_an_arrow_stream_that_crashed_the_process_is_refused() -> None:
    # A dictionary claiming 34 billion entries over 20 bytes of offsets: reading the batch's
    # size (nbytes) before validating it made pyarrow read past the buffer and killed the
    # process (found at 10,000 cases). Run in a child, so that a regression fails this test
    # instead of the whole run.
    read = (
        "import sys\n"
        "from shugu.domain.errors import ShuguError\n"
        "from shugu.ingest.arrow_codec import read_stream\n"
        "try:\n"
        "    read_stream(open(sys.argv[1], 'rb').read())\n"
        "except ShuguError as exc:\n"
        "    print(exc.code)\n"
    )
    body = PAYLOADS / "arrow_dictionary_overrun.arrows"
    done = subprocess.run(
        [sys.executable, "-c", read, str(body)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Its headers now refuse it (a dictionary of more than a million entries) before pyarrow
    # reads the batch at all.
    assert done.stdout.strip() in ("arrow_too_large", "malformed_arrow")


@fuzz()
@given(mqtt_app_cases)
# Attribute values orjson cannot write (a lone surrogate, nesting past 254 levels) raised
# TypeError and dropped the connection; attribute keys with a lone surrogate made the store
# refuse the whole commit.
@example(("loom-1", "v1/devices/me/attributes", b'{"fw": "\\ud800"}'))
@example(("loom-1", "v1/devices/me/attributes", b'{"\\udc00": 1, "ok": 2}'))
@example(("box-1", "v1/devices/me/attributes", b'{"deep": ' + b"[" * 300 + b"]" * 300 + b"}"))
@example(
    ("box-1", "v1/devices/me/attributes", b'{"big": 123456789012345678901234567890, "n": NaN}')
)
# Gateway device names with a lone surrogate reached the registry and raised UnicodeEncodeError.
@example(("gw-1", "v1/gateway/connect", b'{"device": "\\ud800"}'))
@example(("gw-1", "v1/gateway/telemetry", b'{"x\\udfff": {"temp": 1}}'))
@example(("gw-1", "v1/gateway/rpc", b'{"device": "\\ud800", "id": 1, "data": {}}'))
@example(("gw-1", "v1/gateway/rpc", b'{"device": "loom-1", "id": 1, "data": "\\udfff"}'))
# Gateway attributes for unknown devices, or not an object, were dropped without a word.
@example(("gw-1", "v1/gateway/attributes", b'{"\\ud800": {"a": 1}, "loom-1": 5}'))
# An RPC answer's request id of 5,000 digits, or "²" (which passes str.isdigit), made int()
# raise and closed the connection.
@example(("loom-1", "v1/devices/me/rpc/response/²", b"{}"))
@example(("loom-1", "v1/devices/me/rpc/response/" + LONG_DIGITS.decode(), b"{}"))
# A state text of 5,000 digits closed the connection (see test_thingsboard_json).
@example(("loom-1", "v1/devices/me/telemetry", b'{"running": "' + LONG_DIGITS + b'", "x": 1}'))
@example(("gw-1", "v1/gateway/telemetry", b'{"loom-1": {"stop_cause": "' + LONG_DIGITS + b'"}}'))
def test_mqtt_application(ingest_world: IngestWorld, case: tuple[str, str, bytes]) -> None:
    sound(judge(ingest_world.check_mqtt_app, case))


@fuzz()
@given(device_http_cases)
@example(("attributes", "box-1", b'{"fw": "\\ud800", "": 1, "ok": [1]}'))
@example(("rpc_answer", "loom-1", b'{"done": "\\udfff"}'))
@example(("rpc_answer", "loom-1", b"\xff\xfe not json"))
# An answer nested deeper than orjson writes (254 levels) made the waiting command's answer
# unwritable (found by this test): it is handed over as text.
@example(("rpc_answer", "loom-1", b"[" * 255 + b"]" * 255))
@example(("client_rpc", "gw-1", b'{"method": "getCurrentTime", "params": {}}'))
@example(("client_rpc", "gw-1", b'{"method": ["x"]}'))
def test_http_device_api_bodies(ingest_world: IngestWorld, case: tuple[str, str, bytes]) -> None:
    sound(judge(ingest_world.check_device_http, case))
