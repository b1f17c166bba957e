"""What the anomaly rule costs the monitor: many series in one bank, one point of each per batch.

The NAB figures score a bank of a few slots, where numpy's per-call overhead dominates; the
monitor feeds one bank with a point of every series an anomaly rule covers in each batch. This
plays NAB series through a bank of ``slots`` slots (slot k plays series k mod n, from its own
offset), lets every statistic warm up, and times the last ``timed`` batches: microseconds per
point, as the median of ``runs`` runs, for each detector compared.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.anomaly_data import Series
from shugu.monitor.anomaly import DEFAULT_SENSITIVITY, AnomalyBank, DetectorParams

#: Slots in the bank, batches fed (the pattern statistic warms up over its first 500 points)
#: and batches timed at the end.
SLOTS = 200
BATCHES = 1200
TIMED = 300
RUNS = 3


def _matrices(series: list[Series], slots: int, batches: int) -> tuple[np.ndarray, np.ndarray]:
    long_enough = [s for s in series if len(s.values) >= batches]
    ts = np.zeros((batches, slots), dtype=np.int64)
    x = np.zeros((batches, slots))
    for k in range(slots):
        s = long_enough[k % len(long_enough)]
        start = (k * 97) % (len(s.values) - batches + 1)
        ts[:, k] = s.ts_ms[start : start + batches]
        x[:, k] = s.values[start : start + batches]
    return ts, x


def _one_run(
    params: DetectorParams, sensitivity: float, ts: np.ndarray, x: np.ndarray, timed: int
) -> tuple[float, AnomalyBank]:
    slots = ts.shape[1]
    bank = AnomalyBank(sensitivity, capacity=slots, params=params)
    keys = np.array([bank.slot((k, 0)) for k in range(slots)], dtype=np.intp)
    start = len(ts) - timed
    for i in range(start):
        bank.update(keys, ts[i], x[i])
    t0 = time.process_time()
    for i in range(start, len(ts)):
        bank.update(keys, ts[i], x[i])
    return (time.process_time() - t0) / (timed * slots) * 1e6, bank


def bank_cost(
    series: list[Series],
    detectors: dict[str, DetectorParams],
    sensitivity: float = DEFAULT_SENSITIVITY,
    slots: int = SLOTS,
    batches: int = BATCHES,
    timed: int = TIMED,
    runs: int = RUNS,
) -> dict[str, object]:
    """Per detector: µs of CPU per point (median of ``runs``), and for a detector with the
    pattern statistic, the memory that statistic takes per series. With only
    shorter series (a small test folder), a bank of at most 20 slots is fed what they have and
    the last quarter timed."""
    longest = max((len(s.values) for s in series), default=0)
    if longest < 8:
        return {"error": "no series of 8 points or more"}
    if longest < batches:
        batches, timed, slots = longest, max(longest // 4, 1), min(slots, 20)
    ts, x = _matrices(series, slots, batches)
    out: dict[str, object] = {"slots": slots, "batches": batches, "timed_batches": timed}
    for name, params in detectors.items():
        costs = []
        bank = None
        for _ in range(runs):
            cost, bank = _one_run(params, sensitivity, ts, x, timed)
            costs.append(cost)
        entry: dict[str, object] = {"us_per_point": round(statistics.median(costs), 2)}
        if bank is not None and bank.pattern is not None:
            entry["pattern_kb_per_series"] = round(bank.pattern.bytes_per_slot / 1024, 1)
        out[name] = entry
    return out
