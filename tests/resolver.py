"""Name resolution for notification targets without DNS: a table the test writes, or a script of
answers that change between calls (DNS rebinding)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence


class TableResolver:
    """Answers names from ``table``; a name's list of answers is used one per call and its last
    answer repeats (``{"hook.test": [["127.0.0.2"], ["127.0.0.1"]]}`` rebinds on the second
    call). Unknown names fail as the system's resolver does. Counts calls per name."""

    def __init__(self, table: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self._table = {
            name: [list(answer) for answer in answers] for name, answers in table.items()
        }
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def __call__(self, host: str, port: int) -> list[str]:
        with self._lock:
            count = self.calls.get(host, 0)
            self.calls[host] = count + 1
        answers = self._table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[min(count, len(answers) - 1)]


def fixed(table: Mapping[str, Sequence[str]]) -> TableResolver:
    """Every name always answers the same addresses."""
    return TableResolver({name: [addresses] for name, addresses in table.items()})
