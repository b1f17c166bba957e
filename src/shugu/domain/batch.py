"""Batch: the one currency of the hot path.

Parallel numpy columns, one row per point. Devices and metrics are integer ids (the registry
numbers devices; the telemetry store numbers metric names), so a batch never holds a Python
object per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

QUALITY_GOOD = 0
#: Bit set when a value lies outside its metric's plausible range (stored, but flagged).
QUALITY_OUT_OF_RANGE = 1

ARROW_SCHEMA = pa.schema(
    [
        ("device", pa.int32()),
        ("metric", pa.int32()),
        ("ts", pa.int64()),
        ("value", pa.float64()),
        ("quality", pa.uint8()),
    ]
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Columns of equal length: device id, metric id, timestamp (ms since epoch), value, quality."""

    device: npt.NDArray[np.int32]
    metric: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        n = len(self.device)
        if not (len(self.metric) == len(self.ts) == len(self.value) == len(self.quality) == n):
            raise ValueError("batch columns differ in length")

    def __len__(self) -> int:
        return len(self.device)

    @staticmethod
    def empty() -> Batch:
        return Batch(
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            np.empty(0, np.uint8),
        )

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        if not batches:
            return Batch.empty()
        if len(batches) == 1:
            return batches[0]
        return Batch(
            np.concatenate([b.device for b in batches]),
            np.concatenate([b.metric for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
        )

    def pick(self, index: npt.NDArray[np.intp] | slice) -> Batch:
        """The rows at ``index`` (positions, in their order, or a slice)."""
        return Batch(
            self.device[index],
            self.metric[index],
            self.ts[index],
            self.value[index],
            self.quality[index],
        )

    def take(self, mask: npt.NDArray[np.bool_]) -> Batch:
        return Batch(
            self.device[mask],
            self.metric[mask],
            self.ts[mask],
            self.value[mask],
            self.quality[mask],
        )

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_arrays(
            [
                pa.array(self.device, pa.int32()),
                pa.array(self.metric, pa.int32()),
                pa.array(self.ts, pa.int64()),
                pa.array(self.value, pa.float64()),
                pa.array(self.quality, pa.uint8()),
            ],
            schema=ARROW_SCHEMA,
        )
