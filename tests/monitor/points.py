"""Batches for monitor tests, built point by point."""

from __future__ import annotations

import numpy as np

from shugu.domain.batch import Batch


def one_point(ts_ms: int, value: float, device: int = 1, metric: int = 1) -> Batch:
    """A batch of one good point: ``value`` of ``metric`` on ``device`` at ``ts_ms``."""
    return Batch(
        np.array([device], np.int32),
        np.array([metric], np.int32),
        np.array([ts_ms], np.int64),
        np.array([value]),
        np.zeros(1, np.uint8),
    )
