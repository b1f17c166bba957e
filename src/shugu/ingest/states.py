"""States sent as text in columnar payloads (an Arrow ``value`` column of strings).

A text is looked up once per distinct (profile, metric, text) of the request and the answer is
spread to its rows, so a million rows of ``"RUNNING"`` cost one lookup. A text for a state metric
that names one of its states becomes the state's code; any other text is refused with the reason
(``unknown_state`` listing the known states, or ``non_numeric`` for a metric without states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.domain.profiles import get_profile
from shugu.ingest.thingsboard import unknown_state_reason
from shugu.store.telemetry import RejectRecord, Rejects

#: Longest text kept as the sample of a refusal.
_SAMPLE_CHARS = 200


@dataclass(slots=True)
class TextColumn:
    """A column of texts, dictionary-encoded: row i holds ``texts[index[i]]``."""

    texts: list[str]
    index: npt.NDArray[np.int32]


def codes_from_text(
    column: TextColumn,
    device: npt.NDArray[np.int32],
    metric_names: list[str],
    metric_index: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    profiles: dict[int, str],
    rows: npt.NDArray[np.bool_],
    received: int,
    rejects: Rejects,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Each row's state code, and which of ``rows`` named a state; the others are refused
    into ``rejects``. Rows outside ``rows`` (already refused) are left alone."""
    n = len(column.index)
    values = np.full(n, np.nan)
    named = np.zeros(n, dtype=bool)
    chosen = np.flatnonzero(rows)
    if not len(chosen):
        return values, named
    profile_names = sorted({profiles[int(d)] for d in np.unique(device[chosen]).tolist()})
    position = {name: i for i, name in enumerate(profile_names)}
    devices, device_pos = np.unique(device[chosen], return_inverse=True)
    per_device = np.array([position[profiles[int(d)]] for d in devices.tolist()], np.int64)
    n_metrics, n_texts = len(metric_names), max(len(column.texts), 1)
    key = (per_device[device_pos] * n_metrics + metric_index[chosen]) * n_texts + column.index[
        chosen
    ]
    pairs, inverse = np.unique(key, return_inverse=True)
    codes = np.full(len(pairs), np.nan)
    reasons: dict[int, tuple[str, str]] = {}
    for i, k in enumerate(pairs.tolist()):
        profile = get_profile(profile_names[k // n_texts // n_metrics])
        spec = profile.metrics.get(metric_names[(k // n_texts) % n_metrics])
        code = spec.state_code(column.texts[k % n_texts]) if spec is not None else None
        if code is not None:
            codes[i] = code
        elif spec is not None and spec.states:
            reasons[i] = ("unknown_state", unknown_state_reason(spec))
        else:
            reasons[i] = ("non_numeric", "strings are not stored as telemetry")
    values[chosen] = codes[inverse]
    named[chosen] = ~np.isnan(codes[inverse])
    _refuse(
        column,
        device,
        metric_names,
        metric_index,
        ts,
        chosen[~named[chosen]],
        inverse[~named[chosen]],
        reasons,
        received,
        rejects,
    )
    return values, named


def _refuse(
    column: TextColumn,
    device: npt.NDArray[np.int32],
    metric_names: list[str],
    metric_index: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    refused: npt.NDArray[np.intp],
    pair: npt.NDArray[np.intp],
    reasons: dict[int, tuple[str, str]],
    received: int,
    rejects: Rejects,
) -> None:
    """Counts per device and reason; one example per device and distinct refused text."""
    if not len(refused):
        return
    group = device[refused].astype(np.int64) * (max(reasons) + 1) + pair
    _, firsts, counts = np.unique(group, return_index=True, return_counts=True)
    for first, count in zip(firsts.tolist(), counts.tolist(), strict=True):
        row = int(refused[first])
        code, reason = reasons[int(pair[first])]
        rejects.add(
            RejectRecord(
                received,
                int(device[row]),
                code,
                reason,
                metric_names[int(metric_index[row])],
                int(ts[row]),
                column.texts[int(column.index[row])][:_SAMPLE_CHARS],
            ),
            count=count,
        )
