"""A plant rule's fit taken from stored readings (拟合历史数据, decision 0076).

A plant rule fits each device on its first ``fit_points`` rows of running. Taken from the rows
that come after the rule is saved, that is a day before it judges anything (decision 0074). An
engineer who knows when the machine ran well names that instant (``fit_from``); when the rule
is saved the devices' stored readings from then on are replayed through the same evaluator the
monitor runs, row by row as the monitor would have taken them, until each device is fitted. The
states are saved where the monitor keeps what its detectors learned (decision 0068), and the
monitor takes them up before it judges the devices' next rows.

The replay stops for a device at the row that completes its fit: the rows between its fit and
now are not judged, and its live rows are judged as those after a fit. A device whose stored
readings from ``fit_from`` hold fewer rows than the fit keeps what they gave and learns the rest
from the rows that come. Work is the readings read, from ``fit_from`` until every device is
fitted (or up to now): an hour of them at a time, less where an hour holds more than one read
returns, longer spans where readings are sparse, and no read of a stretch where nothing was
stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.monitor.anomaly_plant_rule import PlantEvaluator
from shugu.monitor.detector_state import Layout
from shugu.monitor.engine import RuleEngine
from shugu.monitor.evaluators import DeviceParams
from shugu.monitor.rules import RuleSpec
from shugu.store.telemetry import RangeQuery, TelemetryStore

#: Readings read per query: an hour, less where that holds more than ROWS_PER_READ readings.
CHUNK_MS: Final = 3_600_000
#: The most readings one query returns (a fleet's hour of 1-s rows may hold more).
ROWS_PER_READ: Final = 1_000_000
#: The longest span read at once where readings are sparse.
MAX_SPAN_MS: Final = 7 * 86_400_000
#: Devices' states packed at a time (each unpacked state holds its whole fit buffer).
EXPORT_CHUNK: Final = 256


@dataclass(frozen=True, slots=True)
class HistoryFit:
    """What the stored readings gave one device's fit."""

    device: int
    #: Rows of the fit taken from the stored readings (``needed`` once fitted).
    rows: int
    needed: int
    #: The time of the last row taken, None if the device has no stored row to take.
    last_ms: int | None

    @property
    def fitted(self) -> bool:
        return self.rows >= self.needed


@dataclass(frozen=True, slots=True)
class HistoryFits:
    """The fits of one rule's devices, and their states as the monitor keeps them."""

    layout_key: str
    fits: tuple[HistoryFit, ...]
    #: Each device's packed state (devices with no stored row have none).
    states: dict[int, bytes]
    #: When the fitted model was made: the states are newer than anything an older model of
    #: the rule learned (``Registry.save_detector_states``).
    made_at: datetime

    @property
    def fitted(self) -> int:
        return sum(1 for f in self.fits if f.fitted)


def fit_on_history(
    store: TelemetryStore, rule: RuleSpec, devices: Sequence[int], until_ms: int
) -> HistoryFits:
    """Replay the devices' stored readings from ``rule.fit_from`` up to ``until_ms`` (at most)
    through a fresh evaluator of ``rule`` until each device is fitted."""
    if rule.fit_from is None:
        raise ValueError("the rule names no fit_from")
    size = max(devices, default=0) + 1
    params = DeviceParams(size)
    for device in devices:
        params.set(device, rule, 0)
    evaluator = RuleEngine.new_evaluator(rule, params)
    assert isinstance(evaluator, PlantEvaluator)
    evaluator.reserve(size)
    names = rule.inputs()
    start_ms = int(rule.fit_from.timestamp() * 1000)
    pending = sorted(set(devices))
    _seed(store, evaluator, pending, start_ms)
    cursor = start_ms
    span = CHUNK_MS
    while pending and cursor < until_ms:
        end = min(cursor + span, until_ms)
        query = RangeQuery(
            pending, names, cursor, end, utc_offset_ms=CHINA_OFFSET_MS, limit=ROWS_PER_READ
        )
        table = store.query_range(query)
        if table.num_rows >= ROWS_PER_READ and span > 1:
            # Cut short at the limit, the last devices' rows would lack metrics: read less.
            span = max(1, span // 2)
            continue
        if table.num_rows:
            _replay(evaluator, table, names, pending)
            pending = [d for d in pending if not _fitted(evaluator, d)]
            cursor = end
            if table.num_rows < ROWS_PER_READ // 4:
                # Sparse readings (a device that stands, or sends its flag only) are read in
                # longer spans, so a fit start long ago costs tens of reads, not thousands.
                span = min(span * 2, MAX_SPAN_MS)
        else:
            cursor = _next_reading(store, pending, names, end - 1, until_ms)
    layout = evaluator.state_layout()
    states: dict[int, bytes] = {}
    kept = sorted(evaluator.detectors)
    for at in range(0, len(kept), EXPORT_CHUNK):
        chunk = kept[at : at + EXPORT_CHUNK]
        rows = evaluator.export_rows(chunk)
        states.update((d, Layout.pack(row)) for d, row in zip(chunk, rows, strict=True))
    fits = tuple(_fit_of(evaluator, d) for d in sorted(set(devices)))
    return HistoryFits(layout.key, fits, states, evaluator.made_at)


def _fitted(evaluator: PlantEvaluator, device: int) -> bool:
    detector = evaluator.detectors.get(device)
    return detector is not None and detector.fitted


def _fit_of(evaluator: PlantEvaluator, device: int) -> HistoryFit:
    needed = evaluator.plant_params.fit_rows
    detector = evaluator.detectors.get(device)
    if detector is None:
        return HistoryFit(device, 0, needed, None)
    return HistoryFit(device, detector.rows_taken, needed, detector.last_ms)


def _next_reading(
    store: TelemetryStore, devices: Sequence[int], names: Sequence[str], after_ms: int, until: int
) -> int:
    """The time of the devices' first reading after ``after_ms`` (``until`` if none)."""
    first = store.first_after(devices, names, after_ms)
    if not first.num_rows:
        return until
    return min(int(pc.min(first.column("ts")).as_py()), until)


def _seed(store: TelemetryStore, evaluator: PlantEvaluator, devices: list[int], ts: int) -> None:
    """Hand the evaluator what the monitor would hold at ``ts``: the running flag and the
    conditions last read before it (sent in earlier messages, they still hold)."""
    running = evaluator.rule.running_metric
    held = [*evaluator.conditions, *([running] if running else [])]
    if not held or not devices:
        return
    before = store.values_before(devices, held, ts)
    if not before.num_rows:
        return
    # Given as one row per device with no sensor: it is neither fitted on nor judged.
    _replay(evaluator, before, evaluator.rule.inputs(), devices, seeding=True)


def _replay(
    evaluator: PlantEvaluator,
    table: pa.Table,
    names: Sequence[str],
    devices: list[int],
    *,
    seeding: bool = False,
) -> None:
    """Step the evaluator through a table of readings (device, metric, ts, value) as the
    monitor's engine does: one row per device and moment, each device's moments in time
    order, each device's rows stopping once it is fitted."""
    device = table.column("device").to_numpy().astype(np.int64)
    ts = table.column("ts").to_numpy().astype(np.int64)
    if seeding:
        # The last reading of each held metric comes at its own time; they count as one row.
        ts = np.zeros(len(ts), np.int64)
    value = table.column("value").to_numpy().astype(np.float64)
    metric = np.asarray(table.column("metric").to_pylist(), dtype=object)
    order = np.lexsort((ts, device))
    device, ts, value, metric = device[order], ts[order], value[order], metric[order]
    # One row per (device, moment): its readings gathered into the rule's columns.
    new_row = np.ones(len(device), np.bool_)
    new_row[1:] = (device[1:] != device[:-1]) | (ts[1:] != ts[:-1])
    row_of = np.cumsum(new_row) - 1
    row_dev, row_ts = device[new_row], ts[new_row]
    grid = np.full((len(row_dev), len(names)), np.nan)
    for j, name in enumerate(names):
        mine = metric == name
        grid[row_of[mine], j] = value[mine]
    # A device's k-th row goes into layer k: each layer holds a device at most once.
    first_of_device = np.ones(len(row_dev), np.bool_)
    first_of_device[1:] = row_dev[1:] != row_dev[:-1]
    starts = np.flatnonzero(first_of_device)
    rank = np.arange(len(row_dev)) - np.repeat(starts, np.diff(np.append(starts, len(row_dev))))
    by_layer = np.lexsort((row_dev, rank))
    bounds = np.flatnonzero(np.diff(rank[by_layer])) + 1
    done = {d: _fitted(evaluator, d) for d in devices}
    for layer in np.split(by_layer, bounds):
        layer = layer[[not done.get(int(d), True) for d in row_dev[layer].tolist()]]
        if not len(layer):
            if all(done.values()):
                return
            continue
        values: dict[str, npt.NDArray[np.float64]] = {
            name: grid[layer, j] for j, name in enumerate(names)
        }
        evaluator.step(row_dev[layer], row_ts[layer], values)
        if not seeding:
            for d in row_dev[layer].tolist():
                done[d] = _fitted(evaluator, d)
