"""Which monitor worker of a cluster watches which device: rendezvous hashing over the members.

Every monitor worker reads the same list of live members (``Registry.live_members``) and
computes the same owner for every device, with no coordinator: each device goes to the member
with the highest score ``mix(device, member)`` (highest-random-weight hashing). When a member
leaves, only its devices move, spread over the others; when one joins, it takes about a share
of ``1 / members`` from each. The score is a fixed integer mix, never Python's salted ``hash``,
so that every process on every node agrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def member_seed(member_id: str) -> np.uint64:
    """A member's 64-bit seed, the same in every process."""
    digest = hashlib.blake2b(member_id.encode("utf-8"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: every input bit moves every output bit."""
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def owners(devices: npt.ArrayLike, members: Sequence[str]) -> npt.NDArray[np.intp]:
    """Index into ``members`` of each device's owner; -1 for every device when none is alive."""
    ids = np.asarray(devices, dtype=np.int64).astype(np.uint64)
    if not members:
        return np.full(ids.shape, -1, dtype=np.intp)
    with np.errstate(over="ignore"):
        scores = np.stack([_mix(ids ^ member_seed(m)) for m in members])
    best: npt.NDArray[np.intp] = np.argmax(scores, axis=0).astype(np.intp)
    return best


@dataclass(frozen=True, slots=True)
class Handover:
    """What changes for one member when the live members change: devices it now watches that
    it did not (their rule state to rebuild from the store), and those it no longer watches
    (their state to drop)."""

    gained: frozenset[int]
    lost: frozenset[int]


def owned(devices: npt.ArrayLike, members: Sequence[str], me: str) -> frozenset[int]:
    """The devices ``me`` watches among ``devices`` while ``members`` are alive."""
    if me not in members:
        return frozenset()
    ids = np.asarray(devices, dtype=np.int64)
    mine = owners(ids, members) == list(members).index(me)
    return frozenset(int(d) for d in ids[mine])


def handover(
    devices: npt.ArrayLike, before: Sequence[str], after: Sequence[str], me: str
) -> Handover:
    had = owned(devices, before, me)
    has = owned(devices, after, me)
    return Handover(gained=has - had, lost=had - has)
