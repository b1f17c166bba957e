"""Fault runs: what shugu keeps when it is killed, cut off, starved of disk or flooded.

Each scenario is a module ``bench.faults.<name>`` with a function
``run(options: FaultOptions) -> dict[str, object]`` whose answer contains at least the ledger
fields of :class:`Tally` (points sent, acknowledged, stored, lost, duplicated), or ``skipped``
with the reason where what it needs is missing here. ``shugu bench faults`` runs the chosen
scenarios one after the other and prints one JSON object.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any

#: Run order; each name is a module of this package.
SCENARIOS = ("crash", "broker_outage", "disk_full", "overload", "soak", "cluster")


@dataclass(frozen=True)
class FaultOptions:
    quick: bool = False
    #: Soak duration; the other scenarios ignore it.
    minutes: float = 10.0
    log: bool = True
    #: ``shugu serve --workers`` for the scenarios that serve devices themselves (crash, disk
    #: full, overload, soak); the broker and cluster scenarios' nodes take no device
    #: connections and run with ``--workers 1``.
    workers: int = 1


@dataclass
class Tally:
    """The client's ledger against the store, summed over devices."""

    sent: int = 0
    acked: int = 0
    stored: int = 0
    #: Acknowledged points missing from the store, or present with another value.
    lost: int = 0
    #: Acknowledged points the store answers with more than once.
    duplicated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run(names: list[str] | None = None, *, options: FaultOptions) -> dict[str, Any]:
    chosen = names or list(SCENARIOS)
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown fault scenario(s): {', '.join(unknown)}; known: {SCENARIOS}")
    results: dict[str, Any] = {}
    for name in chosen:
        module = importlib.import_module(f"bench.faults.{name}")
        results[name] = module.run(options)
    results["lost_total"] = sum(
        int(r.get("lost", 0)) for r in results.values() if isinstance(r, dict)
    )
    return results
