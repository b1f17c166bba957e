"""Units for benchmark figures, read from the figures' names.

Every `shugu bench` subcommand answers a dict whose keys name their unit, so that the JSON stays
machine-friendly and a reader still knows what a number means: ``p99_ms``, ``rss_mib``,
``http_batch_pps``, ``endpoint_msgs_per_s``, ``server_cpu_cores``, ``monitor_cpu_share`` (a
fraction), ``ratio_endpoint_to_mosquitto``. :func:`unit_of` turns a name into the unit people
read, and :func:`human` prints a result with each figure's unit beside it. A count names what it
counts (``acked_points``, ``devices``) and is printed without a unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: A token naming a unit by itself, anywhere in the key: ``recovery_s_max``, ``rss_mib_first``.
_UNIT_TOKENS = {
    "us": "µs",
    "ms": "ms",
    "s": "s",
    "seconds": "s",
    "min": "min",
    "minutes": "min",
    "mib": "MiB",
    "kib": "KiB",
    "gib": "GiB",
    "bytes": "B",
    "pct": "%",
    "cores": "CPU cores",
}
#: Dimensionless figures: a share is shown as a percentage, a ratio or factor with "×".
_SHARE = "share"
_TIMES = ("ratio", "factor")
#: What a rate counts, when it is the word before ``per``: ``points_per_s`` → points/s.
_COUNTED = {"points", "msgs", "acks", "metrics", "fp", "connections", "rows", "jobs", "units"}
#: A rate whose word before ``per`` is "rate": what the word before that counts.
_RATE_OF = {"connect": "connections"}
_TIME_UNITS = {"s", "min", "h", "day", "week"}


def unit_of(key: str) -> str | None:
    """The unit a figure's name states, or None when the name states none (a count, a flag)."""
    tokens = key.lower().split("_")
    if "pps" in tokens:
        return "points/s"
    if tokens[-2:] == ["nab", "score"]:
        return "/100"  # NAB's normalised score: 0 never fires, 100 is perfect
    if "per" in tokens:
        at = tokens.index("per")
        before = tokens[at - 1] if at > 0 else ""
        numerator = _UNIT_TOKENS.get(before) or (before if before in _COUNTED else "")
        if before == "rate" and at > 1:
            numerator = _RATE_OF.get(tokens[at - 2], "")
        after = tokens[at + 1 :]
        if not after:
            return numerator or None
        denominator = after[0] if after[0] in _TIME_UNITS else " ".join(after)
        return f"{numerator}/{denominator}"
    for token in tokens:
        if token in _UNIT_TOKENS:
            return _UNIT_TOKENS[token]
    if _SHARE in tokens:
        return "%"
    if any(word in tokens for word in _TIMES):
        return "×"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else str(round(value, 6))


def figure(key: str, value: Any) -> str:
    """A value with its unit (``12.5 ms``, ``4.2 %``, ``[1.5, 2.0] s``); others as they are."""
    unit = unit_of(key)
    if unit is None:
        return str(value)
    scale = 100 if unit == "%" and _SHARE in key.lower().split("_") else 1
    if _is_number(value):
        return f"{_number(value * scale)} {unit}"
    if isinstance(value, list) and value and all(_is_number(v) or v is None for v in value):
        shown = ["null" if v is None else _number(v * scale) for v in value]
        return f"[{', '.join(shown)}] {unit}"
    return str(value)


def human(result: Mapping[str, Any], indent: int = 0) -> str:
    """A result for people: one figure a line, with its unit; nested results indented."""
    pad = "  " * indent
    width = max(32 - len(pad), 1)
    lines: list[str] = []
    for key, value in result.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines.append(human(value, indent + 1))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            lines.append(f"{pad}{key}:")
            for number, item in enumerate(value, 1):
                lines.append(f"{pad}  [{number}]")
                lines.append(human(item, indent + 2))
        else:
            lines.append(f"{pad}{key:{width}s} {figure(key, value)}")
    return "\n".join(line for line in lines if line)
