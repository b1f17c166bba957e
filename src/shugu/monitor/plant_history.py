"""A plant rule's fit taken from stored readings (拟合历史数据, decision 0076).

A plant rule fits each device on its first ``fit_points`` rows of running. Taken from the rows
that come after the rule is saved, that is a day before it judges anything (decision 0074). An
engineer who knows when the machine ran well names that instant (``fit_from``); when the rule
is saved the devices' stored readings from then on are replayed through the same evaluator the
monitor runs, row by row as the monitor would have taken them, until each device is fitted. The
states are saved where the monitor keeps what its detectors learned (decision 0068), and the
monitor takes them up before it judges the devices' next rows.

A device whose stored readings from ``fit_from`` hold fewer rows than the fit keeps what they
gave and learns the rest from the rows that come. Work is the readings read, from ``fit_from``
until every device is fitted (or up to now): an hour of them at a time, less where an hour holds
more than one read returns, longer spans where readings are sparse, and no read of a stretch
where nothing was stored.

Then the fitted model judges the stored rows that came after each device's fit, up to now, as
the monitor would have judged them (a back-test, 回测): what an engineer reads before trusting
the model is how many alarms it would have raised on rows they know. The back-test raises no
alarm. The states saved are those at its end: the monitor carries on as if the model had been
live since the fit (its drift allowance grown with the rows since, an anomalous device raising
its alarm at its first live row), so what the back-test showed is what the saved rule does next.
It reads at most ``MAX_BACKTEST_READINGS`` readings and says how far it got; with none, the
states are those at each device's fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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
from shugu.monitor.evaluators import DeviceParams, Step
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
#: The most readings a back-test reads: about 10 s at the rate `shugu bench plant-history`
#: measures (a day of 40 looms' three gauges every 10 s is about 1,080,000).
MAX_BACKTEST_READINGS: Final = 2_000_000
#: A back-test that cannot take a span this short within what it may still read stops there.
BACKTEST_MIN_SPAN_MS: Final = 1_000


@dataclass(frozen=True, slots=True)
class BackTest:
    """The fitted model judging the stored rows after each device's fit (回测)."""

    #: Readings read, and the time they reach: ``until_ms`` is the save's now unless the
    #: back-test stopped at ``MAX_BACKTEST_READINGS`` (``complete`` False).
    readings: int
    #: Rows the model scored (one per device and moment with a sensor's reading, taken while
    #: the device runs).
    rows: int
    from_ms: int
    until_ms: int
    complete: bool
    #: Alarms the model would have raised, and the first one's time, per device that has any.
    alarms: dict[int, int]
    first_alarm_ms: dict[int, int]

    @property
    def total_alarms(self) -> int:
        return sum(self.alarms.values())


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
    #: None when no device was fitted, so there is no model to judge with.
    backtest: BackTest | None = None

    @property
    def fitted(self) -> int:
        return sum(1 for f in self.fits if f.fitted)


def fit_on_history(
    store: TelemetryStore,
    rule: RuleSpec,
    devices: Sequence[int],
    until_ms: int,
    *,
    own: Mapping[int, RuleSpec] | None = None,
    backtest_readings: int = MAX_BACKTEST_READINGS,
) -> HistoryFits:
    """Replay the devices' stored readings from ``rule.fit_from`` up to ``until_ms`` (at most)
    through a fresh evaluator of ``rule`` until each device is fitted, then back-test the fitted
    devices on their rows after the fit (at most ``backtest_readings`` readings; 0: none).
    ``own``: a device's rule with its overrides (its own sensitivity), as the monitor runs it."""
    if rule.fit_from is None:
        raise ValueError("the rule names no fit_from")
    size = max(devices, default=0) + 1
    params = DeviceParams(size)
    for device in devices:
        params.set(device, (own or {}).get(device, rule), 0)
    evaluator = RuleEngine.new_evaluator(rule, params)
    assert isinstance(evaluator, PlantEvaluator)
    evaluator.reserve(size)
    names = rule.inputs()
    start_ms = int(rule.fit_from.timestamp() * 1000)
    pending = sorted(set(devices))
    _seed(store, evaluator, pending, start_ms)

    def fit_on(table: pa.Table) -> None:
        nonlocal pending
        _replay(evaluator, table, names, pending)
        pending = [d for d in pending if not _fitted(evaluator, d)]

    _read_forward(store, lambda _start, _end: pending, names, start_ms, until_ms, fit_on)
    fits = tuple(_fit_of(evaluator, d) for d in sorted(set(devices)))
    backtest = _backtest(store, evaluator, fits, until_ms, backtest_readings)
    layout = evaluator.state_layout()
    states: dict[int, bytes] = {}
    kept = sorted(evaluator.detectors)
    for at in range(0, len(kept), EXPORT_CHUNK):
        chunk = kept[at : at + EXPORT_CHUNK]
        rows = evaluator.export_rows(chunk)
        states.update((d, Layout.pack(row)) for d, row in zip(chunk, rows, strict=True))
    return HistoryFits(layout.key, fits, states, evaluator.made_at, backtest)


def _backtest(
    store: TelemetryStore,
    evaluator: PlantEvaluator,
    fits: Sequence[HistoryFit],
    until_ms: int,
    budget: int,
) -> BackTest | None:
    """Judge each fitted device's stored rows after its fit, as the monitor would have."""
    fitted_at = {f.device: f.last_ms for f in fits if f.fitted and f.last_ms is not None}
    if not fitted_at:
        return None
    names = evaluator.rule.inputs()
    start_ms = min(fitted_at.values()) + 1
    devices = sorted(fitted_at)
    after = np.full(max(devices) + 1, np.iinfo(np.int64).max, np.int64)
    after[devices] = [fitted_at[d] for d in devices]
    alarms: dict[int, int] = {}
    first: dict[int, int] = {}
    judged = 0

    def judge(table: pa.Table) -> None:
        nonlocal judged
        device = table.column("device").to_numpy().astype(np.int64)
        # Rows up to a device's fit were taken by the fit: the rows after it are judged.
        table = table.filter(pa.array(table.column("ts").to_numpy() > after[device]))
        for dev, ts, step in _steps(evaluator, table, names):
            # Scored rows: rows taken while standing, or of conditions alone, are not judged.
            judged += int(np.isfinite(step.shown).sum())
            for i in np.flatnonzero(step.raised).tolist():
                d = int(dev[i])
                alarms[d] = alarms.get(d, 0) + 1
                first.setdefault(d, int(ts[i]))

    def fitted_by(_start: int, end: int) -> list[int]:
        # A span is read for the devices fitted before it ends: only the span holding a
        # device's fit end reads rows of it from before (the filter drops them).
        return [d for d in devices if fitted_at[d] < end]

    def joins(end: int) -> int:
        """When the first device not read up to ``end`` has rows after its fit."""
        return min((fitted_at[d] + 1 for d in devices if fitted_at[d] >= end), default=until_ms)

    readings, reached = _read_forward(
        store, fitted_by, names, start_ms, until_ms, judge, budget=budget, joins=joins
    )
    return BackTest(readings, judged, start_ms, reached, reached >= until_ms, alarms, first)


def _read_forward(
    store: TelemetryStore,
    devices: Callable[[int, int], Sequence[int]],
    names: Sequence[str],
    start_ms: int,
    until_ms: int,
    take: Callable[[pa.Table], None],
    *,
    budget: int | None = None,
    joins: Callable[[int], int] | None = None,
) -> tuple[int, int]:
    """Read the readings of ``devices(start, end)`` span by span from ``start_ms`` to
    ``until_ms``, handing each span's table to ``take``, while it names any. Over a stretch
    with no reading, jump to the span's devices' next reading, or to ``joins(end)`` if earlier
    (when a device not read up to ``end`` is first read). With a ``budget``, stop before a
    span would take the readings taken past it. Returns the readings taken and the time read
    to."""
    cursor, span, read = start_ms, CHUNK_MS, 0
    while cursor < until_ms:
        end = min(cursor + span, until_ms)
        wanted = devices(cursor, end)
        limit = ROWS_PER_READ if budget is None else min(ROWS_PER_READ, budget - read)
        if not wanted or limit <= 0:
            break
        query = RangeQuery(
            list(wanted), list(names), cursor, end, utc_offset_ms=CHINA_OFFSET_MS, limit=limit
        )
        table = store.query_range(query)
        if table.num_rows >= limit:
            # Cut short at the limit, the last devices' rows would lack metrics: read less.
            floor = 1 if budget is None else BACKTEST_MIN_SPAN_MS
            if span > floor:
                span = max(floor, span // 2)
                continue
            if budget is not None:
                break
        if table.num_rows:
            take(table)
            read += table.num_rows
            cursor = end
            if table.num_rows < ROWS_PER_READ // 4:
                # Sparse readings (a device that stands, or sends its flag only) are read in
                # longer spans, so a fit start long ago costs tens of reads, not thousands.
                span = min(span * 2, MAX_SPAN_MS)
        else:
            cursor = _next_reading(store, wanted, names, end - 1, until_ms)
            if joins is not None:
                cursor = min(cursor, joins(end))
    return read, min(cursor, until_ms)


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


Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Rows:
    """A table of readings gathered as the engine takes them: one row per device and moment
    (its readings in the rule's columns), in layers that each hold a device at most once, a
    device's k-th row in layer k."""

    device: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    grid: npt.NDArray[np.float64]
    layers: list[npt.NDArray[np.intp]]

    def values(self, layer: npt.NDArray[np.intp], names: Sequence[str]) -> dict[str, Floats]:
        return {name: self.grid[layer, j] for j, name in enumerate(names)}


def _gathered(table: pa.Table, names: Sequence[str], *, seeding: bool = False) -> _Rows:
    device = table.column("device").to_numpy().astype(np.int64)
    ts = table.column("ts").to_numpy().astype(np.int64)
    if seeding:
        # The last reading of each held metric comes at its own time; they count as one row.
        ts = np.zeros(len(ts), np.int64)
    value = table.column("value").to_numpy().astype(np.float64)
    metric = np.asarray(table.column("metric").to_pylist(), dtype=object)
    order = np.lexsort((ts, device))
    device, ts, value, metric = device[order], ts[order], value[order], metric[order]
    new_row = np.ones(len(device), np.bool_)
    new_row[1:] = (device[1:] != device[:-1]) | (ts[1:] != ts[:-1])
    row_of = np.cumsum(new_row) - 1
    row_dev, row_ts = device[new_row], ts[new_row]
    grid = np.full((len(row_dev), len(names)), np.nan)
    for j, name in enumerate(names):
        mine = metric == name
        grid[row_of[mine], j] = value[mine]
    first_of_device = np.ones(len(row_dev), np.bool_)
    first_of_device[1:] = row_dev[1:] != row_dev[:-1]
    starts = np.flatnonzero(first_of_device)
    rank = np.arange(len(row_dev)) - np.repeat(starts, np.diff(np.append(starts, len(row_dev))))
    by_layer = np.lexsort((row_dev, rank))
    bounds = np.flatnonzero(np.diff(rank[by_layer])) + 1
    layers = np.split(by_layer, bounds) if len(by_layer) else []
    return _Rows(row_dev, row_ts, grid, layers)


def _replay(
    evaluator: PlantEvaluator,
    table: pa.Table,
    names: Sequence[str],
    devices: list[int],
    *,
    seeding: bool = False,
) -> None:
    """Step the evaluator through a table of readings (device, metric, ts, value) as the
    monitor's engine does, each device's rows stopping once it is fitted."""
    rows = _gathered(table, names, seeding=seeding)
    done = {d: _fitted(evaluator, d) for d in devices}
    for layer in rows.layers:
        layer = layer[[not done.get(int(d), True) for d in rows.device[layer].tolist()]]
        if not len(layer):
            if all(done.values()):
                return
            continue
        evaluator.step(rows.device[layer], rows.ts[layer], rows.values(layer, names))
        if not seeding:
            for d in rows.device[layer].tolist():
                done[d] = _fitted(evaluator, d)


def _steps(
    evaluator: PlantEvaluator, table: pa.Table, names: Sequence[str]
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Step]]:
    """Step the evaluator through every row of a table of readings as the monitor's engine
    does; each step with its rows' devices and times."""
    rows = _gathered(table, names)
    for layer in rows.layers:
        dev, ts = rows.device[layer], rows.ts[layer]
        yield dev, ts, evaluator.step(dev, ts, rows.values(layer, names))
