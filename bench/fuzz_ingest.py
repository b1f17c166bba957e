"""Fuzz cases for the ingest codecs: ThingsBoard telemetry JSON (HTTP device API), gateway JSON
and Arrow IPC (HTTP batch API), the ThingsBoard MQTT application (every device and gateway
topic), and the other bodies of the HTTP device API (attributes, RPC answers, client-side RPC).

Each case runs the transport's own code on a real registry (SQLite), telemetry store (DuckDB)
and ingest door in a scratch folder, so that a value the store cannot keep shows up as a
failure too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pyarrow as pa
from argon2 import PasswordHasher
from hypothesis import strategies as st

from bench.fuzz_cases import (
    ACCEPTED,
    DAY_MS,
    Codec,
    Now,
    Obj,
    Verdict,
    bodies,
    encode,
    hostile_numbers,
    hostile_text,
    items_verdict,
    json_values,
    mixture,
    mutated,
    tb_documents,
    tb_value_count,
    to_python,
    unexplained,
)
from shugu.config import MIB, Settings
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ShuguError
from shugu.domain.profiles import get_profile
from shugu.ingest.arrow_codec import ARROW_STREAM, read_stream, write_stream
from shugu.ingest.attributes import AttributeService
from shugu.ingest.codecs import enterprise_batch
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.door import IngestDoor, IngestResult
from shugu.ingest.ingest_meter import HTTP
from shugu.ingest.mqtt.codec import Publish
from shugu.ingest.mqtt.connection import Outcome
from shugu.ingest.mqtt.tb_app import SessionLimits, ThingsBoardApp
from shugu.ingest.rpc import RpcHub, answer_client_rpc
from shugu.ingest.thingsboard import count_values, parse_json
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.telemetry import RejectRecord, Rejects

T = TypeVar("T")

#: name → (profile, gateway); the loom's strict profile refuses unknown metrics, generic not.
DEVICES = {
    "loom-1": ("loom", False),
    "box-1": ("generic", False),
    "gw-1": ("generic", True),
}
METRICS = [*get_profile("loom").metrics, "temp", "ts", "values"]
#: Every text naming a state of a loom's state metric, in its spellings.
STATE_TEXTS = [
    spelling
    for spec in get_profile("loom").metrics.values()
    for state in (spec.states or {}).values()
    for text in state.texts()
    for spelling in (text, text.lower(), text.upper())
]
DEVICE_NAMES = [*DEVICES, "织机 A-01", "unknown-device"]


class IngestWorld:
    """Registry, telemetry store, ingest door and the MQTT application in a scratch folder."""

    def __init__(self, folder: Path) -> None:
        self.registry = Registry(
            f"sqlite:///{folder / 'registry.sqlite'}",
            password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
        region = self.registry.create_region("350112", "长乐区")
        park = self.registry.create_park(region.id, "滨海工业区")
        self.enterprise = self.registry.create_enterprise(
            park.id, "长乐纺织", "91110000600037341L"
        ).id
        self.devices: dict[str, DeviceRef] = {}
        #: device name → access token
        self.tokens: dict[str, str] = {}
        for name, (profile, gateway) in DEVICES.items():
            _, self.tokens[name] = self.registry.create_device(
                self.enterprise, name, profile, is_gateway=gateway
            )
            ref = self.registry.device_ref_by_name(self.enterprise, name)
            assert ref is not None
            self.devices[name] = ref
        self.store = DuckDBTelemetryStore(folder / "telemetry.duckdb", commit_linger_ms=0.0)
        settings = Settings(data_dir=folder)
        self.door = IngestDoor(self.store, settings)
        self.rpc = RpcHub()
        self.attributes = AttributeService(self.door, self.store)
        self.app = ThingsBoardApp(
            self.registry,
            self.door,
            self.store,
            self.rpc,
            SessionLimits(MIB, 100),
            self.attributes,
        )
        # What the HTTP routes use of the app's services.
        self.device_cache = DeviceCache(self.registry)
        self.loop = asyncio.new_event_loop()
        self.tap = _Tap(self.door)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        self.loop.close()
        self.store.close()
        self.registry.close()

    # -- checks ------------------------------------------------------------------------------

    def check_telemetry(self, case: tuple[str, bytes]) -> Verdict:
        """``POST /api/v1/{token}/telemetry``: parse, decode per value, validate, store."""
        name, body = case
        device = self.devices[name]
        doc = parse_json(body)
        decoded = self.door.device_json(device).decode_document(doc)
        result = self.run(self.door.ingest(decoded, HTTP))
        return _result_verdict(result, tb_value_count(doc))

    def check_gateway(self, body: bytes) -> Verdict:
        """``POST /api/v1/batch`` with gateway JSON: device name → ThingsBoard payload."""
        result = self._batch("application/json", body)
        doc = parse_json(body)
        expected = 0
        for name, payload in doc.items():
            known = name in self.devices
            expected += tb_value_count(payload) if known else count_values(payload)
        return _result_verdict(result, expected)

    def check_arrow(self, body: bytes) -> Verdict:
        """``POST /api/v1/batch`` with an Arrow IPC stream."""
        result = self._batch(ARROW_STREAM, body)
        return _result_verdict(result, read_stream(body).num_rows)

    def _batch(self, content_type: str, body: bytes) -> IngestResult:
        door = self.door
        codec, transport = enterprise_batch(
            content_type, self.device_cache, self.enterprise, door.decoders
        )
        return self.run(door.ingest(codec.decode(body), transport))

    def check_mqtt_app(self, case: tuple[str, str, bytes]) -> Verdict:
        """A PUBLISH as the ThingsBoard MQTT application handles it, on any topic.

        A refused publish gets a reason code and string in its PUBACK, and the refusal is kept
        in the rejects log; on the telemetry topic every value is kept or refused."""
        name, topic, payload = case
        conn = _Connection(self.devices[name])
        tap = self.tap
        tap.reset()
        publish = Publish(topic, payload, 1, False, False, 1, {})

        async def on_the_loop() -> Outcome:
            # As a connection calls it: on the event loop, which a telemetry message joins.
            return await self.app.on_publish(conn, publish)  # type: ignore[arg-type]

        outcome = self.run(on_the_loop())
        if outcome.code and not (outcome.reason or "").strip():
            return unexplained(f"reason code 0x{outcome.code:02x} without a reason string")
        if outcome.code and not tap.refusals:
            return unexplained(f"reason code 0x{outcome.code:02x}, but no refusal was logged")
        expected = _telemetry_values(topic, payload)
        if expected is not None:
            verdict = items_verdict(tap.kept, tap.refusals, expected)
            if verdict.failed or bool(outcome.code) == (verdict.outcome == "rejected"):
                return verdict
            return unexplained(f"reason code 0x{outcome.code:02x} for {verdict.outcome}")
        codes = tuple(sorted({code for code, _, _ in tap.refusals}))
        if outcome.code:
            return Verdict("rejected", codes)
        return Verdict("partial", codes) if codes else ACCEPTED

    def check_device_http(self, case: tuple[str, str, bytes]) -> Verdict:
        """The HTTP device API's other bodies, through the services its routes call:
        ``POST /api/v1/{token}/attributes``, ``.../rpc/{id}`` (with a command waiting for the
        answer, which the API then writes as JSON) and ``.../rpc`` (client-side RPC)."""
        route, name, body = case
        device = self.devices[name]
        if route == "attributes":
            doc = parse_json(body)
            written = self.run(self.attributes.store_client(device, doc))
            refusals = [(r.code, r.reason, 1) for r in written.refusals]
            return items_verdict(written.stored, refusals, len(doc))
        if route == "client_rpc":
            answer = answer_client_rpc(parse_json(body), {"maxPayloadSize": MIB})
            orjson.dumps(answer)
            return ACCEPTED
        return self.run(self._answer_command(device, body))

    async def _answer_command(self, device: DeviceRef, body: bytes) -> Verdict:
        asked: list[int] = []

        def deliver(request_id: int, payload: bytes) -> bool:
            asked.append(request_id)
            return True

        self.rpc.attach(device.id, deliver)
        call = asyncio.ensure_future(self.rpc.call(device.id, "m", None, 5.0, oneway=False))
        await asyncio.sleep(0)
        if not self.rpc.answer(device.id, asked[0], body):
            return unexplained("the answer found no waiting command")
        orjson.dumps(await call)
        return ACCEPTED


def _telemetry_values(topic: str, payload: bytes) -> int | None:
    """How many values a device's telemetry publish holds; None for other publishes."""
    if topic != "v1/devices/me/telemetry":
        return None
    try:
        return tb_value_count(parse_json(payload))
    except ShuguError:
        return None


class _Tap:
    """Counts what the door stores and refuses (the MQTT application's answers are terse)."""

    def __init__(self, door: IngestDoor) -> None:
        self.kept = 0
        self.refusals: list[tuple[str, str, int]] = []
        store, record = door.store, door.record_refusal

        async def tapped_store(batch: Any, rejects: Rejects, *transport: str) -> int:
            stored = await store(batch, rejects, *transport)
            self.kept += stored
            reasons = {r.code: r.reason for r in rejects.samples}
            for (_, code), count in rejects.counts.items():
                self.refusals.append((code, reasons.get(code, ""), count))
            return stored

        async def tapped_record(refusal: RejectRecord) -> None:
            self.refusals.append((refusal.code, refusal.reason, 1))
            await record(refusal)

        door.store = tapped_store  # type: ignore[method-assign]
        door.record_refusal = tapped_record  # type: ignore[method-assign]

    def reset(self) -> None:
        self.kept = 0
        self.refusals = []


class _Connection:
    """What the MQTT application uses of a connection."""

    def __init__(self, device: DeviceRef) -> None:
        self.device = device
        self.earlier_work: list[object] = []
        self.sent: list[tuple[str, bytes, int]] = []

    def send(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        self.sent.append((topic, payload, qos))
        return True


def _result_verdict(result: IngestResult, expected: int) -> Verdict:
    rejects = result.rejects
    reasons = {r.code: r.reason for r in rejects.samples}
    refusals = []
    for (_, code), count in rejects.counts.items():
        reason = reasons.get(code)
        if reason is None:
            return unexplained(f"{count} refused as {code!r} without an example saying why")
        refusals.append((code, reason, count))
    return items_verdict(result.accepted, refusals, expected)


@contextmanager
def _world(folder: Path) -> Iterator[IngestWorld]:
    world = IngestWorld(folder)
    try:
        yield world
    finally:
        world.close()


# -- cases -----------------------------------------------------------------------------------

TB_DOCS = tb_documents(METRICS, STATE_TEXTS)
telemetry_cases = st.tuples(st.sampled_from(list(DEVICES)), bodies(TB_DOCS))
gateway_docs = st.one_of(
    st.lists(
        st.tuples(
            mixture(
                (6, st.sampled_from(list(DEVICES))),
                (1, st.sampled_from(DEVICE_NAMES)),
                (1, hostile_text),
            ),
            TB_DOCS,
        ),
        max_size=4,
    ).map(lambda pairs: Obj(tuple(pairs))),
    json_values,
)
gateway_cases = bodies(gateway_docs)

TOPICS = (
    "v1/devices/me/telemetry",
    "v1/devices/me/attributes",
    "v1/devices/me/attributes/request/1",
    "v1/devices/me/rpc/response/1",
    "v1/devices/me/rpc/request/1",
    "v1/gateway/telemetry",
    "v1/gateway/attributes",
    "v1/gateway/connect",
    "v1/gateway/disconnect",
    "v1/gateway/rpc",
)
names = st.one_of(st.sampled_from(DEVICE_NAMES), hostile_text)
profiles = st.one_of(st.sampled_from(["loom", "generic", "crah", "nope"]), hostile_text)
attribute_docs = st.lists(st.tuples(hostile_text, json_values), max_size=5).map(
    lambda pairs: Obj(tuple(pairs))
)
mqtt_payload_docs = st.one_of(
    TB_DOCS,
    gateway_docs,
    attribute_docs,
    st.lists(st.tuples(names, attribute_docs), max_size=3).map(lambda p: Obj(tuple(p))),
    st.builds(lambda n, t: Obj((("device", n), ("type", t))), names, profiles),
    st.builds(
        lambda n, i, d: Obj((("device", n), ("id", i), ("data", d))),
        names,
        hostile_numbers,
        json_values,
    ),
    st.builds(lambda m: Obj((("method", m), ("params", Obj(())))), hostile_text),
    st.builds(lambda k: Obj((("clientKeys", k), ("sharedKeys", k))), hostile_text),
)
mqtt_app_cases = st.tuples(
    # A gateway may publish on every topic, the others on the device topics only.
    mixture((2, st.just("gw-1")), (1, st.sampled_from(["loom-1", "box-1"]))),
    mixture(
        (6, st.sampled_from(TOPICS)),
        (1, st.sampled_from(TOPICS).flatmap(lambda t: st.text(max_size=10).map(lambda s: t + s))),
        (1, hostile_text.filter(lambda t: "\x00" not in t)),
    ),
    mixture((8, bodies(mqtt_payload_docs)), (1, st.sampled_from([b"", b"  "]))),
)


methods = st.one_of(st.sampled_from(["getCurrentTime", "getSessionLimits"]), hostile_text)
device_http_cases = st.tuples(
    st.sampled_from(["attributes", "rpc_answer", "client_rpc"]),
    st.sampled_from(list(DEVICES)),
    mixture(
        (4, bodies(attribute_docs)),
        (
            2,
            bodies(
                st.builds(lambda m, p: Obj((("method", m), ("params", p))), methods, json_values)
            ),
        ),
        (2, bodies(json_values)),
        (1, st.binary(max_size=64)),
    ),
)


# -- Arrow IPC streams -----------------------------------------------------------------------


def _column(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(values, min_size=1, max_size=12)


def _now_ms(offset: int) -> int:
    return int(to_python(Now(offset)))


_RECENT_MS = st.integers(-400 * DAY_MS, 60_000).map(_now_ms)
#: Arrow strings are UTF-8: a lone surrogate cannot even be written into one.
_ARROW_TEXT = hostile_text.filter(lambda t: t.encode("utf-8", "replace").decode("utf-8") == t)
_COLUMNS: dict[str, tuple[pa.DataType, st.SearchStrategy[list[Any]]]] = {
    "device_names": (
        pa.string(),
        _column(mixture((8, st.sampled_from(DEVICE_NAMES)), (1, _ARROW_TEXT), (1, st.none()))),
    ),
    "metric_names": (
        pa.string(),
        _column(mixture((8, st.sampled_from(METRICS)), (1, _ARROW_TEXT), (1, st.none()))),
    ),
    "recent_ms": (pa.int64(), _column(mixture((8, _RECENT_MS), (1, st.none())))),
    "string": (pa.string(), _column(st.one_of(st.text(), st.none()))),
    "state_names": (
        pa.string(),
        _column(mixture((8, st.sampled_from(STATE_TEXTS)), (1, _ARROW_TEXT), (1, st.none()))),
    ),
    "large_string": (pa.large_string(), _column(st.sampled_from(DEVICE_NAMES + METRICS))),
    "int8": (pa.int8(), _column(st.one_of(st.integers(-128, 127), st.none()))),
    "int32": (pa.int32(), _column(st.integers(-(2**31), 2**31 - 1))),
    "int64": (pa.int64(), _column(st.one_of(st.integers(-(2**63), 2**63 - 1), st.none()))),
    "device_ids": (pa.int64(), _column(st.sampled_from([1, 2, 3, 4, 0, -1, 2**40, 2**63 - 1]))),
    "uint64": (pa.uint64(), _column(st.integers(0, 2**64 - 1))),
    "float64": (pa.float64(), _column(st.one_of(st.floats(), st.floats(-1e3, 1e3), st.none()))),
    "float32": (pa.float32(), _column(st.floats(width=32))),
    "bool": (pa.bool_(), _column(st.booleans())),
    "binary": (pa.binary(), _column(st.binary(max_size=8))),
    "timestamp_us": (
        pa.timestamp("us", tz="Asia/Shanghai"),
        _column(st.integers(-(2**62), 2**62)),
    ),
    "timestamp_ns": (pa.timestamp("ns"), _column(st.integers(-(2**63), 2**63 - 1))),
    "decimal": (pa.decimal128(38, 2), _column(st.decimals(-(10**30), 10**30, places=2))),
    "null": (pa.null(), _column(st.none())),
    "list": (pa.list_(pa.int32()), _column(st.lists(st.integers(0, 9), max_size=2))),
}
#: Per column, the right kind first, then kinds a sender might get wrong.
_USUAL = {
    "device": ["device_names", "string", "large_string", "binary", "int32"],
    "device_id": ["device_ids", "int64", "int32", "int8", "uint64", "float64", "string"],
    "metric": ["metric_names", "string", "large_string", "int32", "null"],
    "ts": ["recent_ms", "int64", "timestamp_us", "timestamp_ns", "uint64", "float64", "string"],
    "value": ["float64", "state_names", "float32", "int8", "decimal", "bool", "string", "list"],
}
_COLUMN_NAMES = ["device", "device_id", "metric", "ts", "value", "extra"]


@st.composite
def arrow_tables(draw: st.DrawFn) -> pa.Table:
    """Tables mostly of the documented columns, sometimes with columns missing, repeated or of
    the wrong type, with nulls and odd values."""
    if draw(st.integers(0, 9)) < 7:
        names = [draw(st.sampled_from(["device", "device", "device_id"])), "metric", "ts", "value"]
        if not draw(st.integers(0, 4)):
            names.append(draw(st.sampled_from(_COLUMN_NAMES)))
    else:
        names = draw(st.lists(st.sampled_from(_COLUMN_NAMES), max_size=6))
    rows = draw(st.integers(0, 12))
    arrays = []
    for name in names:
        usual = _USUAL.get(name, list(_COLUMNS))
        kind = usual[0] if draw(st.integers(0, 9)) else draw(st.sampled_from(list(_COLUMNS)))
        data_type, values = _COLUMNS[kind]
        data = draw(values)
        data = (data * (rows // max(1, len(data)) + 1))[:rows] if data else [None] * rows
        array = pa.array(data, type=data_type)
        if data_type == pa.string() and draw(st.booleans()):
            array = array.dictionary_encode()
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=names)


def zero_bomb(kind: str, size: int) -> bytes:
    """A zstd-compressed stream of zeros, tiny on the wire and huge decoded: ``rows``, that many
    rows of the documented columns; ``blob``, one row with ``size`` zero bytes in an extra
    column. tests/fuzz/payloads holds two made with this: rows 100,000,000 (75 kB, 2.4 GB
    decoded) and blob 2,000,000,000 (62 kB, 2 GB decoded)."""
    if kind == "rows":
        zeros = pa.array(np.zeros(size, np.int32))
        table = pa.table(
            {
                "device": pa.DictionaryArray.from_arrays(zeros, pa.array(["loom-1"])),
                "metric": pa.DictionaryArray.from_arrays(zeros, pa.array(["speed_rpm"])),
                "ts": pa.array(np.zeros(size, np.int64)),
                "value": pa.array(np.zeros(size, np.float64)),
            }
        )
    else:
        offsets = pa.array([0, size], pa.int64()).buffers()[1]
        blob = pa.Array.from_buffers(
            pa.large_binary(), 1, [None, offsets, pa.py_buffer(bytes(size))]
        )
        table = pa.table(
            {
                "device": ["loom-1"],
                "metric": ["speed_rpm"],
                "ts": pa.array([0], pa.int64()),
                "value": [0.0],
                "extra": blob,
            }
        )
    return write_stream(table, pa.Codec("zstd", compression_level=19))


@functools.cache
def _small_bomb(kind: str) -> bytes:
    # Big enough to pass the decoded limits, small enough to build once per run.
    return zero_bomb(kind, 1_500_000 if kind == "rows" else 96 * MIB)


arrow_encoded = st.builds(
    write_stream, arrow_tables(), st.sampled_from([None, "lz4", "zstd"]), st.integers(1, 12)
)
arrow_cases = mixture(
    (6, arrow_encoded),
    (2, mutated(arrow_encoded)),
    (1, st.sampled_from(["rows", "blob"]).map(_small_bomb)),
    (1, st.binary(max_size=256)),
    (1, st.builds(encode, json_values, st.booleans())),
)


def _checker(method: str) -> Any:
    @contextmanager
    def open_checker(folder: Path) -> Iterator[Any]:
        with _world(folder) as world:
            yield getattr(world, method)

    return open_checker


CODECS = [
    Codec("thingsboard_json", telemetry_cases, _checker("check_telemetry")),
    Codec("gateway_json", gateway_cases, _checker("check_gateway")),
    Codec("arrow_ipc", arrow_cases, _checker("check_arrow")),
    Codec("mqtt_application", mqtt_app_cases, _checker("check_mqtt_app")),
    Codec("device_http", device_http_cases, _checker("check_device_http")),
]
