"""Detector state kept across monitor restarts and handovers (decision 0068).

An anomaly rule's detector learns each device for days, and an anomaly rule stays silent for a
device's first day (decision 0067); a plant rule fits each device on its first rows of normal
running. A monitor that forgot this on every restart would spend a silent day relearning, or
fit a plant detector on whatever the machine is doing then, a fault included.

Each such evaluator describes one device's state as a :class:`Layout`: named arrays of fixed
shape. A device's arrays are packed into one compressed blob and saved in the registry under
the layout's key; a blob is read back only by an evaluator whose layout has the same key, so a
rule moved to another metric, a detector with other parameters or arrays of another shape start
afresh instead of reading state that means something else.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

#: Raised when what a saved state means changes without its arrays' shapes changing.
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Field:
    """One array of a device's state: its name, numpy dtype (``dtype.str``) and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.dtype(self.dtype).itemsize * int(np.prod(self.shape, dtype=np.int64)))


@dataclass(frozen=True)
class Layout:
    """The arrays of one device's state, and what they mean (kind, metrics, parameters)."""

    fields: tuple[Field, ...]
    meaning: str

    @cached_property
    def key(self) -> str:
        text = repr((STATE_VERSION, self.meaning, self.fields))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @cached_property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.fields)

    def gather(
        self, arrays: Sequence[npt.NDArray[np.generic]], rows: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.uint8]:
        """Rows ``rows`` of per-slot arrays (in the layout's order) as one byte matrix, a
        device's state a row: a copy, so it can be packed without holding the arrays."""
        if len(arrays) != len(self.fields):
            raise ValueError(f"expected {len(self.fields)} arrays, got {len(arrays)}")
        parts = []
        for field, array in zip(self.fields, arrays, strict=True):
            if array.dtype.str != field.dtype or tuple(array.shape[1:]) != field.shape:
                raise ValueError(f"{field.name}: not of this layout")
            taken = np.ascontiguousarray(array[rows])
            parts.append(taken.view(np.uint8).reshape(len(rows), field.nbytes))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(rows), 0), np.uint8)

    @staticmethod
    def pack(raw: npt.NDArray[np.uint8]) -> bytes:
        """One device's row of :meth:`gather` as a compressed blob."""
        return zlib.compress(np.ascontiguousarray(raw).data, 1)

    def unpack(self, blob: bytes) -> npt.NDArray[np.uint8]:
        """A blob :meth:`pack` made, as its row of bytes; ValueError if it is not one of this
        layout."""
        try:
            raw = zlib.decompress(blob)
        except zlib.error as exc:
            raise ValueError(f"not a packed state: {exc}") from exc
        if len(raw) != self.nbytes:
            raise ValueError(f"packed state of {len(raw)} bytes, expected {self.nbytes}")
        return np.frombuffer(raw, np.uint8)

    def named(self, raw: npt.NDArray[np.uint8]) -> dict[str, npt.NDArray[np.generic]]:
        """One device's row of bytes (:meth:`unpack`) as its arrays, by field name."""
        out: dict[str, npt.NDArray[np.generic]] = {}
        offset = 0
        for field in self.fields:
            part = np.ascontiguousarray(raw[offset : offset + field.nbytes])
            out[field.name] = part.view(np.dtype(field.dtype)).reshape(field.shape)
            offset += field.nbytes
        return out

    def scatter(
        self,
        rows: npt.NDArray[np.uint8],
        arrays: Sequence[npt.NDArray[np.generic]],
        at: npt.NDArray[np.intp],
    ) -> None:
        """The inverse of :meth:`gather`: byte rows written into rows ``at`` of the arrays."""
        offset = 0
        for field, array in zip(self.fields, arrays, strict=True):
            part = np.ascontiguousarray(rows[:, offset : offset + field.nbytes])
            array[at] = part.view(np.dtype(field.dtype)).reshape(len(at), *field.shape)
            offset += field.nbytes


def layout_of(arrays: Sequence[tuple[str, npt.NDArray[np.generic]]], meaning: str) -> Layout:
    """The layout of per-slot arrays (axis 0 is the slot): one row of each is a device's."""
    fields = tuple(
        Field(name, a.dtype.str, tuple(int(s) for s in a.shape[1:])) for name, a in arrays
    )
    return Layout(fields, meaning)
