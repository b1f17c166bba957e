"""The TelemetryStore protocol, one suite for every store: each test runs on the embedded DuckDB
store and on a real ClickHouse server (``open_store`` in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from shugu.domain.batch import Batch
from shugu.domain.errors import OverloadedError, UnavailableError
from shugu.store.telemetry import AttributeRecord, RangeQuery, RejectRecord, Rejects, TelemetryStore

DAY = 86_400_000
# 2026-11-20 00:00 China time, in ms since 1970 UTC.
MIDNIGHT_CST = 1_795_104_000_000


def batch(rows: list[tuple[int, int, int, float]], quality: int = 0) -> Batch:
    d, m, t, v = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Batch(
        np.array(d, np.int32),
        np.array(m, np.int32),
        np.array(t, np.int64),
        np.array(v, np.float64),
        np.full(len(rows), quality, np.uint8),
    )


def stored_points(store: TelemetryStore, devices: list[int], start: int, end: int) -> int:
    return store.query_range(RangeQuery(devices, None, start, end)).num_rows


def test_resent_points_never_count_twice(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    rows = [(1, m, MIDNIGHT_CST + i * 1000, float(i)) for i in range(10)]
    store.submit(batch(rows)).result()
    store.submit(batch(rows[3:6])).result()  # at-least-once delivery resends some
    q = RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, DAY, aggregates=("count", "sum"))
    (row,) = store.query_range(q).to_pylist()
    assert row["count"] == 10
    assert row["sum"] == sum(range(10))
    raw = store.query_range(RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY))
    assert raw.num_rows == 10


def test_a_resent_point_with_a_new_value_replaces_the_old_one(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    store.submit(batch([(1, m, 5000, 1.0)])).result()
    store.submit(batch([(1, m, 5000, 2.0), (1, m, 5000, 3.0)])).result()
    raw = store.query_range(RangeQuery([1], None, 0, 10_000)).to_pylist()
    assert [r["value"] for r in raw] == [3.0]
    assert store.latest([1]).to_pylist()[0]["value"] == 3.0


def test_out_of_order_points_are_accepted_and_latest_is_newest(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    store.submit(batch([(1, m, 9000, 9.0)])).result()
    store.submit(batch([(1, m, 1000, 1.0), (1, m, 5000, 5.0)])).result()
    assert store.latest([1]).to_pylist()[0]["ts"] == 9000
    raw = store.query_range(RangeQuery([1], None, 0, 10_000)).to_pylist()
    assert [r["ts"] for r in raw] == [1000, 5000, 9000]


def test_latest_of_every_device_and_metric(store: TelemetryStore) -> None:
    a, b = store.metric_ids(["temp", "rh"]).tolist()
    store.submit(batch([(1, a, 1000, 20.0), (1, b, 1000, 40.0), (2, a, 3000, 21.0)])).result()
    store.submit(batch([(1, a, 2000, 22.0)], quality=1)).result()
    rows = store.latest(None).to_pylist()
    assert [(r["device"], r["metric"], r["ts"], r["value"]) for r in rows] == [
        (1, "temp", 2000, 22.0),
        (1, "rh", 1000, 40.0),
        (2, "temp", 3000, 21.0),
    ]
    by_key = {(r["device"], r["metric"]): r for r in rows}
    assert by_key[(1, "temp")]["value"] == 22.0 and by_key[(1, "temp")]["quality"] == 1
    assert [r["device"] for r in store.latest([2]).to_pylist()] == [2]
    assert store.latest([]).num_rows == 0


def test_buckets_and_aggregates(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    base = MIDNIGHT_CST
    rows = [(1, m, base + i * 15_000, float(i)) for i in range(8)]  # 2 minutes, 4 per minute
    store.submit(batch(rows)).result()
    q = RangeQuery(
        [1],
        ["x"],
        base,
        base + 120_000,
        60_000,
        aggregates=("avg", "min", "max", "sum", "count", "first", "last"),
    )
    out = store.query_range(q).to_pylist()
    assert [r["bucket"] for r in out] == [base, base + 60_000]
    assert out[0] | {} == {
        "device": 1,
        "metric": "x",
        "bucket": base,
        "avg": 1.5,
        "min": 0.0,
        "max": 3.0,
        "sum": 6.0,
        "count": 4,
        "first": 0.0,
        "last": 3.0,
        "flagged": 0,
    }
    assert out[1]["first"] == 4.0 and out[1]["last"] == 7.0


def test_ranges_filter_by_metric_and_count_flagged_values(store: TelemetryStore) -> None:
    a, b = store.metric_ids(["a", "b"]).tolist()
    store.submit(batch([(1, a, MIDNIGHT_CST + i, 1.0) for i in range(3)])).result()
    store.submit(batch([(1, b, MIDNIGHT_CST + i, 2.0) for i in range(2)], quality=1)).result()
    q = RangeQuery([1], ["b"], MIDNIGHT_CST, MIDNIGHT_CST + DAY, DAY, aggregates=("count",))
    assert store.query_range(q).to_pylist() == [
        {"device": 1, "metric": "b", "bucket": MIDNIGHT_CST, "count": 2, "flagged": 2}
    ]
    unknown = RangeQuery([1], ["nope"], MIDNIGHT_CST, MIDNIGHT_CST + DAY)
    assert store.query_range(unknown).num_rows == 0
    limited = store.query_range(RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, limit=4))
    assert limited.num_rows == 4
    assert limited.schema.names == ["device", "metric", "ts", "value", "quality"]


def test_day_buckets_follow_china_calendar_days(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    # 23:30 and 00:30 China time are on different calendar days though 1 h apart.
    late = MIDNIGHT_CST + DAY - 1_800_000
    early = MIDNIGHT_CST + DAY + 1_800_000
    store.submit(batch([(1, m, late, 1.0), (1, m, early, 2.0)])).result()
    out = store.query_range(
        RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + 2 * DAY, DAY, aggregates=("count",))
    ).to_pylist()
    assert [(r["bucket"], r["count"]) for r in out] == [(MIDNIGHT_CST, 1), (MIDNIGHT_CST + DAY, 1)]


def test_week_buckets_start_on_monday(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    # MIDNIGHT_CST is Friday 2026-11-20; that week began on Monday 2026-11-16.
    store.submit(batch([(1, m, MIDNIGHT_CST, 1.0)])).result()
    out = store.query_range(
        RangeQuery(
            [1], None, MIDNIGHT_CST - 7 * DAY, MIDNIGHT_CST + DAY, 7 * DAY, aggregates=("count",)
        )
    ).to_pylist()
    assert [r["bucket"] for r in out] == [MIDNIGHT_CST - 4 * DAY]


def test_values_before_and_first_after(store: TelemetryStore) -> None:
    a, b = store.metric_ids(["a", "b"]).tolist()
    store.submit(batch([(1, a, 1000, 1.0), (1, a, 2000, 2.0), (1, a, 4000, 4.0)])).result()
    store.submit(batch([(1, a, 2000, 2.5), (2, b, 500, 9.0)])).result()
    before = store.values_before([1, 2], ["a", "b"], 3000).to_pylist()
    assert sorted((r["device"], r["metric"], r["ts"], r["value"]) for r in before) == [
        (1, "a", 2000, 2.5),
        (2, "b", 500, 9.0),
    ]
    after = store.first_after([1, 2], ["a", "b"], 1000).to_pylist()
    assert [(r["device"], r["ts"]) for r in after] == [(1, 2000)]
    assert store.values_before([1], ["unknown"], 3000).num_rows == 0
    assert store.first_after([], ["a"], 0).num_rows == 0


def test_rejects_are_counted_and_sampled(store: TelemetryStore) -> None:
    rejects = Rejects(max_samples=2)
    for i in range(5):
        rejects.add(RejectRecord(i, 7, "non_numeric", "strings are not stored", "k", i, '"x"'))
    rejects.add(RejectRecord(9, None, "bad_device_token", "unknown token"))
    store.submit(Batch.empty(), rejects).result()
    store.submit(Batch.empty(), rejects).result()
    counts = {(r["device"], r["code"]): r["n"] for r in store.reject_counts(None).to_pylist()}
    assert counts == {(7, "non_numeric"): 10, (-1, "bad_device_token"): 2}
    assert store.reject_counts([7]).num_rows == 1
    assert store.reject_samples([7], 10).num_rows == 4
    assert store.reject_samples([8], 10).num_rows == 0
    assert store.reject_samples(None, 3).num_rows == 3


def test_deviceless_reject_samples_on_request(store: TelemetryStore) -> None:
    rejects = Rejects()
    rejects.add(RejectRecord(1, 7, "non_numeric", "strings are not stored", "k", 1, '"x"'))
    rejects.add(RejectRecord(2, None, "bad_device_token", "unknown token", sample="tok"))
    store.submit(Batch.empty(), rejects).result()
    assert store.reject_samples([7], 10).column("code").to_pylist() == ["non_numeric"]
    newest_first = store.reject_samples([7], 10, deviceless=True).to_pylist()
    assert [(r["device"], r["code"], r["sample"]) for r in newest_first] == [
        (None, "bad_device_token", "tok"),
        (7, "non_numeric", '"x"'),
    ]


def test_attributes_last_write_wins(store: TelemetryStore) -> None:
    store.submit(
        Batch.empty(),
        attributes=[
            AttributeRecord(1, "client", "fw", '"1.0"', 1000),
            AttributeRecord(1, "shared", "period", "5", 1000),
            AttributeRecord(2, "client", "fw", '"2.0"', 1000),
        ],
    ).result()
    store.submit(Batch.empty(), attributes=[AttributeRecord(1, "client", "fw", '"1.1"', 900)])
    store.submit(Batch.empty()).result()
    assert store.attributes(1) == [
        AttributeRecord(1, "client", "fw", '"1.1"', 900),
        AttributeRecord(1, "shared", "period", "5", 1000),
    ]
    assert [a.key for a in store.attributes(1, "shared")] == ["period"]
    named = store.attributes_named(["fw"])
    assert [(a.device, a.value_json) for a in named] == [(1, '"1.1"'), (2, '"2.0"')]
    assert store.attributes_named([]) == []


def test_metric_ids_are_stable_and_kept(open_store: Callable[[], TelemetryStore]) -> None:
    store = open_store()
    ids = store.metric_ids(["a", "b", "a"]).tolist()
    assert ids[0] == ids[2] != ids[1]
    assert store.metric_id("b") == ids[1] and store.metric_id("zz") is None
    assert store.metric_name(ids[1]) == "b"
    store.submit(batch([(1, ids[0], 1000, 1.0)])).result()
    store.close()
    again = open_store()
    assert again.metric_ids(["b", "a", "c"]).tolist()[:2] == [ids[1], ids[0]]
    assert again.latest([1]).to_pylist()[0]["metric"] == "a"


def test_listeners_see_each_stored_batch_and_the_sequence_grows(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    seen: list[tuple[int, int]] = []
    store.add_listener(lambda b: seen.append((len(b), store.committed_seq)))
    before = store.committed_seq
    store.submit(batch([(1, m, 1000, 1.0), (1, m, 2000, 2.0)])).result()
    store.submit(batch([(2, m, 1000, 1.0)])).result()
    assert [n for n, _ in seen if n] == [2, 1]
    seqs = [s for n, s in seen if n]
    assert before < seqs[0] < seqs[1] == store.committed_seq


def test_a_full_backlog_refuses_with_a_retry_after(store: TelemetryStore) -> None:
    assert store.max_backlog_rows > 0
    error = store.overloaded()
    assert isinstance(error, OverloadedError) and error.retry_after_s >= 1
    assert store.backlog_rows == 0


def test_retention_purge(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    store.submit(batch([(1, m, 1000, 1.0), (1, m, 5000, 2.0)])).result()
    assert store.purge_before(2000) == 1
    assert stored_points(store, [1], 0, 10_000) == 1


def test_retention_forgets_purged_latest_values(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    store.submit(batch([(1, m, 1000, 1.0), (2, m, 9000, 2.0)])).result()
    store.purge_before(5000)
    assert [r["device"] for r in store.latest(None).to_pylist()] == [2]
    store.submit(batch([(3, m, 100, 3.0)])).result()  # reuses a freed slot
    assert {r["device"]: r["value"] for r in store.latest(None).to_pylist()} == {2: 2.0, 3: 3.0}


def test_closed_store_refuses(store: TelemetryStore) -> None:
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.submit(Batch.empty()).result()


def test_a_bad_job_fails_alone_and_a_cancelled_wait_harms_nobody(store: TelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    bad = Rejects()
    bad.add(RejectRecord(0, 1, "non_numeric", "x", "\ud800", 2**70, "\ud800"))
    good = store.submit(batch([(1, m, 1000, 1.0)]))
    refused = store.submit(Batch.empty(), bad)
    assert good.result(10) == 1
    assert refused.result(10) == 0  # sanitised: stored with a null timestamp
    waiting = store.submit(batch([(1, m, 2000, 2.0)]))
    assert not waiting.cancel()  # a caller giving up cannot break the writer
    assert waiting.result(10) == 1
    assert stored_points(store, [1], 0, 10_000) == 2


def test_an_attribute_the_store_cannot_encode_fails_only_its_own_request(
    store: TelemetryStore,
) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    futures = [
        store.submit(batch([(1, m, 1000, 1.0)])),
        store.submit(Batch.empty(), attributes=[AttributeRecord(1, "client", "k", '"\\ud800"', 1)]),
        store.submit(Batch.empty(), attributes=[AttributeRecord(1, "client", "bad", "\ud800", 1)]),
        store.submit(batch([(1, m, 2000, 2.0)])),
    ]
    assert futures[0].result(10) == 1 and futures[3].result(10) == 1
    assert futures[1].result(10) == 0
    with pytest.raises(UnavailableError):
        futures[2].result(10)
    assert [a.key for a in store.attributes(1)] == ["k"]
    assert stored_points(store, [1], 0, 10_000) == 2


def test_stored_points_are_counted_per_device_and_hour(store: TelemetryStore) -> None:
    """What the ingest-today tally reads (``store/ingest_today.py``), on both stores."""
    (m,) = store.metric_ids(["x"]).tolist()
    hour = 3_600_000
    rows = [(1, m, MIDNIGHT_CST + k, 1.0) for k in range(3)] + [(2, m, MIDNIGHT_CST + hour, 1.0)]
    store.submit(batch([*rows, (2, m, MIDNIGHT_CST + DAY, 1.0)])).result()
    counts = store.count_points_by_device_hour(MIDNIGHT_CST, MIDNIGHT_CST + DAY)  # type: ignore[attr-defined]
    assert sorted(zip(*counts.to_pydict().values(), strict=True)) == [(1, 0, 3), (2, 1, 1)]
    assert counts.schema.names == ["device", "hour", "n"]
