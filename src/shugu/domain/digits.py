"""Whole numbers sent as text from outside (a state code, an RPC request id in a topic, an id in
a query): ASCII digits only, and few of them.

``str.isdigit`` and ``str.isdecimal`` also accept other scripts' digits (Arabic-Indic ``٣``,
fullwidth ``３``), and ``isdigit`` characters ``int()`` then refuses (superscript ``²``); ``int()``
raises past 4,300 digits. Text checked that way and handed to ``int()`` crashed the code that
read it."""

from __future__ import annotations

import re

_ASCII_DIGITS = re.compile(r"[0-9]+")
#: Every number of 18 digits fits a signed 64-bit column.
MAX_DIGITS = 18


def ascii_int(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The number ``text`` writes in 1 to ``max_digits`` ASCII digits (no sign, no spaces), or
    None when it is anything else."""
    if not 0 < len(text) <= max_digits or _ASCII_DIGITS.fullmatch(text) is None:
        return None
    return int(text)
