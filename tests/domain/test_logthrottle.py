from __future__ import annotations

import logging
import time

import pytest

from shugu.domain.logthrottle import ThrottledLog


def test_a_repeating_line_is_written_once_per_interval_with_the_count_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = ThrottledLog(logging.getLogger("shugu.test.throttle"), interval_s=0.2)
    with caplog.at_level(logging.WARNING, logger="shugu.test.throttle"):
        for i in range(100):
            log.warning("refused %d", i)
        time.sleep(0.25)
        log.warning("refused %d", 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused 0", "refused 100 (99 more like this since the last such line)"]
