"""A log line that may repeat thousands of times a second (every publish refused while the disk
is full, say) is written once per interval, with how many were held back."""

from __future__ import annotations

import logging
import threading
import time


class ThrottledLog:
    def __init__(self, logger: logging.Logger, interval_s: float = 10.0) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._held_back = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next_at:
                self._held_back += 1
                return
            held, self._held_back = self._held_back, 0
            self._next_at = now + self._interval_s
        if held:
            message += " (%d more like this since the last such line)"
            args = (*args, held)
        self._logger.warning(message, *args)
