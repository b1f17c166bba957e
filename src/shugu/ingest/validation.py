"""The rules every point meets whatever brought it in, vectorised over a whole column set.

- timestamps more than ``max_future_ms`` ahead are refused (``future_timestamp``), and so are
  points older than the retention (``too_old``), which would otherwise vanish at the next purge;
- non-finite values are refused (``not_finite``), and so are malformed metric names
  (``bad_metric_name``);
- a metric the device's profile does not know is refused when the profile is strict
  (``unknown_metric``);
- a request may introduce only so many new metric names (``too_many_new_metrics``);
- a value outside its metric's plausible range, or a state code the metric does not declare, is
  stored with the out-of-range quality flag.

Pure: columns and the time in, which rows to keep and their quality out, every refusal counted
and sampled into the caller's ``Rejects``. What it needs of the world (whether a metric name is
already numbered, the numbers of the kept names) it is handed as functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import QUALITY_OUT_OF_RANGE, Batch
from shugu.domain.profiles import Profile, get_profile
from shugu.ingest.columns import Columns
from shugu.store.telemetry import RejectRecord, Rejects

_DAY_MS = 86_400_000
MAX_METRIC_NAME = 128
#: Examples kept per device and reason when many rows are refused for one reason.
SAMPLES_PER_REFUSAL = 10
#: New metric names are numbered for good; a request may add only so many at once.
MAX_NEW_METRICS_PER_REQUEST = 1000


def valid_metric_name(name: str) -> bool:
    """1–128 printable characters that are valid UTF-8 (no lone surrogates)."""
    if not 0 < len(name) <= MAX_METRIC_NAME or not name.isprintable():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings the rules read."""

    max_future_ms: int
    retention_days: int


@dataclass(frozen=True, slots=True)
class Checked:
    """Which rows passed, and the quality flag of every row."""

    keep: npt.NDArray[np.bool_]
    quality: npt.NDArray[np.uint8]


def check(
    cols: Columns,
    profiles: dict[int, str],
    rejects: Rejects,
    limits: Limits,
    now: int,
    is_numbered: Callable[[str], bool],
) -> Checked:
    """Apply the rules; refused rows go to ``rejects``. ``is_numbered`` tells whether a metric
    name already has a number (a new one counts against the request's allowance)."""
    refuse = _Refuser(cols, rejects, now)
    refuse(
        cols.ts > now + limits.max_future_ms,
        "future_timestamp",
        f"timestamp is more than {limits.max_future_ms // 60000} minutes ahead of the server clock",
    )
    refuse(
        cols.ts < now - limits.retention_days * _DAY_MS,
        "too_old",
        f"timestamp is older than the retention of {limits.retention_days} days",
    )
    refuse(~np.isfinite(cols.value), "not_finite", "NaN and infinity are not values")
    bad_name = np.array([not valid_metric_name(m) for m in cols.metric_names], dtype=bool)
    if bad_name.any():
        refuse(
            bad_name[cols.metric_index],
            "bad_metric_name",
            f"a metric name is 1 to {MAX_METRIC_NAME} printable characters",
        )
    quality = np.zeros(len(cols), np.uint8)
    unknown, low, high, state_flags = _profile_tables(cols, profiles)
    if unknown is not None:
        refuse(unknown, "unknown_metric", "the device's profile does not define this metric")
    with np.errstate(invalid="ignore"):
        out_of_range = (cols.value < low) | (cols.value > high)
    quality[out_of_range | state_flags] = QUALITY_OUT_OF_RANGE

    new = [
        i for i in used_metrics(cols, refuse.keep).tolist() if not is_numbered(cols.metric_names[i])
    ]
    if len(new) > MAX_NEW_METRICS_PER_REQUEST:
        excess = np.zeros(len(cols.metric_names), dtype=bool)
        excess[new[MAX_NEW_METRICS_PER_REQUEST:]] = True
        refuse(
            excess[cols.metric_index],
            "too_many_new_metrics",
            f"one request may introduce at most {MAX_NEW_METRICS_PER_REQUEST} new metric names",
        )
    return Checked(refuse.keep, quality)


def to_batch(
    cols: Columns,
    checked: Checked,
    number: Callable[[list[str]], npt.NDArray[np.int32]],
) -> Batch:
    """The kept rows as a Batch; ``number`` gives the ids of metric names, numbering new ones.

    Only the names of kept rows get a number: refused names leave no trace.
    """
    used = used_metrics(cols, checked.keep)
    metric_ids = np.full(len(cols.metric_names), -1, np.int32)
    if len(used):
        metric_ids[used] = number([cols.metric_names[i] for i in used])
    batch = Batch(
        cols.device,
        metric_ids[cols.metric_index] if len(cols) else np.empty(0, np.int32),
        cols.ts,
        cols.value,
        checked.quality,
    )
    return batch if checked.keep.all() else batch.take(checked.keep)


def used_metrics(cols: Columns, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Indices of the metric names that kept rows use (a presence mask: no sort needed)."""
    present = np.zeros(len(cols.metric_names), dtype=bool)
    present[cols.metric_index[keep]] = True
    return np.flatnonzero(present)


class _Refuser:
    """Refuses rows still kept, with one count per device and reason and a few examples."""

    def __init__(self, cols: Columns, rejects: Rejects, received: int) -> None:
        self._cols = cols
        self._rejects = rejects
        self._received = received
        self.keep = np.ones(len(cols), dtype=bool)

    def __call__(self, rows: npt.NDArray[np.bool_], code: str, reason: str) -> None:
        mask = rows & self.keep
        if not mask.any():
            return
        cols = self._cols
        self.keep &= ~mask
        refused = np.flatnonzero(mask)
        devices, counts = np.unique(cols.device[refused], return_counts=True)
        for dev, count in zip(devices.tolist(), counts.tolist(), strict=True):
            of_device = refused[cols.device[refused] == dev]
            # One example per distinct metric, a few at most: enough to see what went wrong.
            _, firsts = np.unique(cols.metric_index[of_device], return_index=True)
            examples = of_device[np.sort(firsts)[:SAMPLES_PER_REFUSAL]]
            for i, row in enumerate(examples.tolist()):
                self._rejects.add(
                    RejectRecord(
                        self._received,
                        int(dev),
                        code,
                        reason,
                        cols.metric_names[int(cols.metric_index[row])],
                        int(cols.ts[row]),
                        repr(float(cols.value[row])),
                    ),
                    count=count if i == 0 else 0,
                )


def _profile_tables(
    cols: Columns, profiles: dict[int, str]
) -> tuple[
    npt.NDArray[np.bool_] | None,
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
]:
    """Per-row unknown-metric mask, plausible bounds and undeclared-state flags.

    Looked up once per distinct (profile, metric) pair of the request, then spread to rows.
    """
    n = len(cols)
    profile_names = sorted(set(profiles.values()))
    if len(profile_names) == 1:
        row_profile = np.zeros(n, np.int64)
    else:
        pos = {name: i for i, name in enumerate(profile_names)}
        devs, inverse = np.unique(cols.device, return_inverse=True)
        per_dev = np.array([pos[profiles[int(d)]] for d in devs], np.int64)
        row_profile = per_dev[inverse]
    pair = row_profile * len(cols.metric_names) + cols.metric_index
    uniq, inverse = _distinct(pair, len(profile_names) * len(cols.metric_names))
    known = np.ones(len(uniq), dtype=bool)
    lows = np.full(len(uniq), -np.inf)
    highs = np.full(len(uniq), np.inf)
    loaded: dict[str, Profile] = {}
    states: list[tuple[int, npt.NDArray[np.float64]]] = []
    for i, p in enumerate(uniq.tolist()):
        pname = profile_names[p // len(cols.metric_names)]
        profile = loaded.get(pname) or loaded.setdefault(pname, get_profile(pname))
        spec = profile.metrics.get(cols.metric_names[p % len(cols.metric_names)])
        if spec is None:
            known[i] = not profile.strict
            continue
        if spec.min is not None:
            lows[i] = spec.min
        if spec.max is not None:
            highs[i] = spec.max
        if spec.states:
            states.append((i, np.array(sorted(spec.states), np.float64)))
    unknown = None if known.all() else ~known[inverse]
    state_flags = np.zeros(n, dtype=bool)
    for i, allowed in states:
        rows = inverse == i
        state_flags[rows] = ~np.isin(cols.value[rows], allowed)
    return unknown, lows[inverse], highs[inverse], state_flags


def _distinct(
    codes: npt.NDArray[np.int64], space: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Sorted distinct codes in ``[0, space)`` and each row's position among them.

    What ``np.unique(..., return_inverse=True)`` gives, by a presence mask over the space
    instead of a sort when the space is not much larger than the rows.
    """
    if space > 4 * len(codes) + 4096:
        uniq, inverse = np.unique(codes, return_inverse=True)
        return uniq, inverse
    present = np.zeros(space, dtype=bool)
    present[codes] = True
    rank = np.cumsum(present, dtype=np.intp) - 1
    return np.flatnonzero(present).astype(np.int64, copy=False), rank[codes]
