"""Points before validation, as every codec hands them to the ingest door (`ingest/door.py`).

A codec turns one request's bytes into one ``Decoded``: a column set of (device, metric, ts,
value) and the refusals it made while decoding. The column set comes in two forms with the same
meaning: ``Columns`` (numpy arrays, metric names dictionary-encoded), what validation reads and
what Arrow decodes to; and ``ListColumns`` (plain lists), what the JSON decoders build. Lists
exist because a 10-value MQTT message is far cheaper to append to a list than to turn into
arrays: the door turns the lists of all the messages of one loop turn into arrays once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.store.telemetry import Rejects


@dataclass(slots=True)
class Columns:
    """Points of one request before validation; metric names are dictionary-encoded."""

    device: npt.NDArray[np.int32]
    metric_names: list[str]
    metric_index: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class ListColumns:
    """The same columns as plain lists, one entry per point, metric names not encoded."""

    device: list[int]
    metric: list[str]
    ts: list[int]
    value: list[float]

    @staticmethod
    def empty() -> ListColumns:
        return ListColumns([], [], [], [])

    def __len__(self) -> int:
        return len(self.value)

    def extend(self, device_id: int, metrics: list[str], ts: list[int], value: list[float]) -> None:
        """Append one device's points."""
        self.device.extend([device_id] * len(value))
        self.metric.extend(metrics)
        self.ts.extend(ts)
        self.value.extend(value)

    def arrays(self) -> Columns:
        names, codes = dictionary_encode(self.metric)
        return Columns(
            device=np.asarray(self.device, dtype=np.int32),
            metric_names=names,
            metric_index=codes,
            ts=np.asarray(self.ts, dtype=np.int64),
            value=np.asarray(self.value, dtype=np.float64),
        )


@dataclass(slots=True)
class Decoded:
    """What a codec made of one request: its points, the profile of each device they belong
    to, and the values or rows it refused while decoding (in the order it met them)."""

    columns: Columns | ListColumns
    profiles: dict[int, str]
    rejects: Rejects

    def __len__(self) -> int:
        return len(self.columns)


def dictionary_encode(names: Sequence[str]) -> tuple[list[str], npt.NDArray[np.int32]]:
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(m, len(index)) for m in names), np.int32, len(names))
    return list(index), codes


def as_arrays(sets: Sequence[Columns | ListColumns]) -> Columns:
    """One ``Columns`` of several column sets, rows in order, with one metric dictionary.

    Runs of list sets are appended as lists and turned into arrays once; a single array set
    is returned as it is.
    """
    parts: list[Columns] = []
    run = ListColumns.empty()
    for cols in sets:
        if isinstance(cols, ListColumns):
            run.device.extend(cols.device)
            run.metric.extend(cols.metric)
            run.ts.extend(cols.ts)
            run.value.extend(cols.value)
            continue
        if len(run):
            parts.append(run.arrays())
            run = ListColumns.empty()
        parts.append(cols)
    if len(run) or not parts:
        parts.append(run.arrays())
    return parts[0] if len(parts) == 1 else _concatenate(parts)


def _concatenate(parts: list[Columns]) -> Columns:
    names: dict[str, int] = {}
    indices = []
    for c in parts:
        remap = np.array([names.setdefault(m, len(names)) for m in c.metric_names], np.int32)
        indices.append(remap[c.metric_index] if len(c.metric_index) else c.metric_index)
    return Columns(
        device=np.concatenate([c.device for c in parts]),
        metric_names=list(names),
        metric_index=np.concatenate(indices).astype(np.int32, copy=False),
        ts=np.concatenate([c.ts for c in parts]),
        value=np.concatenate([c.value for c in parts]),
    )
