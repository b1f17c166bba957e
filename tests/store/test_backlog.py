"""A store's backlog: bounded, refusing with a Retry-After from the measured drain rate."""

from __future__ import annotations

import queue

from shugu.store.backlog import Backlog


def _enqueue() -> None:
    return None


def _full() -> None:
    raise queue.Full


def test_the_bound_refuses_what_would_cross_it_and_counts_nothing_for_it() -> None:
    backlog = Backlog(max_rows=100)
    assert backlog.admit(60, _enqueue) is None
    refused = backlog.admit(41, _enqueue)
    assert refused is not None and refused.code == "ingest_overloaded"
    assert (backlog.rows, backlog.refusals) == (60, 1)
    assert backlog.admit(40, _enqueue) is None and backlog.rows == 100
    backlog.release(100)
    # One batch larger than the whole bound is still taken when nothing waits.
    assert backlog.admit(500, _enqueue) is None and backlog.rows == 500


def test_a_full_writer_queue_is_a_refusal_that_leaves_the_count_as_it_was() -> None:
    backlog = Backlog(max_rows=100)
    assert backlog.admit(10, _full) is not None
    assert (backlog.rows, backlog.refusals) == (0, 1)


def test_retry_after_is_the_backlog_over_the_drain_rate_within_1_to_30_s() -> None:
    backlog = Backlog(max_rows=10_000_000)
    for _ in range(50):
        backlog.drained(100_000, 1.0)  # the writer makes 100 k points a second durable
    backlog.drained(10, 100.0)  # too small a commit to say anything
    assert backlog.admit(500_000, _enqueue) is None
    assert backlog.overloaded().retry_after_s == 5.0
    backlog.release(499_000)
    assert backlog.overloaded().retry_after_s == 1.0
    assert backlog.admit(9_000_000, _enqueue) is None
    assert backlog.overloaded().retry_after_s == 30.0
