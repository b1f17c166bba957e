"""Where a simulated district's counters stood, kept in a file between runs.

A real loom's pick counter and a real meter's register do not return to zero when the platform
or the simulator restarts; a simulated one must not either, or "energy today" would fall by the
day's consumption at every restart. The file is rewritten after every step, before the step's
readings are sent, so that what shugu has stored never runs ahead of it.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: "<enterprise id>/<device name>" → counter metric → value
Counters = dict[str, dict[str, float]]


def save_counters(path: Path, clock_ms: int, counters: Counters) -> None:
    """Write the file whole or not at all: a crash mid-write leaves the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(
        json.dumps({"clock_ms": clock_ms, "counters": counters}, ensure_ascii=False),
        encoding="utf-8",
    )
    os.replace(partial, path)


def load_counters(path: Path) -> Counters:
    """The counters kept in ``path``; none if there is no file. A file that cannot be read, or
    entries that are not counters, are left out with a warning saying which."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("counters in %s cannot be read (%s): machines start from zero", path, exc)
        return {}
    raw = document.get("counters") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        log.warning("%s holds no counters: machines start from zero", path)
        return {}
    out: Counters = {}
    skipped = 0
    for device, values in raw.items():
        if not isinstance(values, dict):
            skipped += 1
            continue
        kept = {
            metric: float(value)
            for metric, value in values.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        }
        skipped += len(values) - len(kept)
        out[str(device)] = kept
    if skipped:
        log.warning("%s: %d counter entries are not counters and were left out", path, skipped)
    return out
