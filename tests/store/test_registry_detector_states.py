"""The registry's table of detector states, on SQLite and PostgreSQL: a save replaces each
device's earlier state, reads return only the asked layout, a deleted rule or device takes its
states away, and a save that collides with another monitor's is written again, not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from shugu.store.registry import Registry


def test_states_are_replaced_read_by_layout_and_pruned(registry: Registry) -> None:
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园")
    ent = registry.create_enterprise(park.id, "甲数据中心", "91350112MA000901XW")
    d1, d2 = (registry.create_device(ent.id, f"rack-{i}", "rack_sensor")[0].id for i in (1, 2))
    registry.save_detector_states(
        [("custom.1", d1, "a" * 32, b"one"), ("custom.1", d2, "a" * 32, b"two")]
    )
    registry.save_detector_states(
        [("custom.1", d1, "b" * 32, b"\x00" * 600), ("custom.2", d1, "a" * 32, b"x")]
    )
    assert registry.detector_states("custom.1", "a" * 32, [d1, d2]) == {d2: b"two"}
    assert registry.detector_states("custom.1", "b" * 32, [d1, d2]) == {d1: b"\x00" * 600}
    assert registry.detector_state_count() == (3, 3 + 600 + 1)
    assert registry.prune_detector_states({"custom.1"}) == 1
    registry.delete_device(d1)
    assert registry.detector_state_count() == (1, 3)
    # More rows than one statement carries.
    many = [("custom.3", 10_000 + i, "c" * 32, bytes([i % 256])) for i in range(1_234)]
    registry.save_detector_states(many)
    got = registry.detector_states("custom.3", "c" * 32, [r[1] for r in many])
    assert len(got) == 1_234 and got[10_300] == bytes([300 % 256])


def test_a_save_that_collides_with_another_is_written_again(registry: Registry) -> None:
    """Another monitor inserted the same row between this save's delete and its insert: the
    database refuses the insert on the key, and the save runs once more and replaces it."""
    calls = 0
    replace = registry._replace_states

    def colliding(states, now, model_at):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise IntegrityError("INSERT INTO detector_states", {}, Exception("duplicate key"))
        replace(states, now, model_at)

    registry.save_detector_states([("custom.1", 7, "z" * 32, b"theirs")])
    registry._replace_states = colliding  # type: ignore[method-assign]
    registry.save_detector_states([("custom.1", 7, "a" * 32, b"ours")])
    assert calls == 2
    assert registry.detector_states("custom.1", "a" * 32, [7]) == {7: b"ours"}
    assert registry.detector_state_count() == (1, 4)


def test_an_old_model_s_save_does_not_replace_a_newer_model_s_state(registry: Registry) -> None:
    """A save that copied the old model's states before the rule changed, and writes them after
    a newer model's fitted state was saved (decision 0076), leaves the newer state in place."""
    before = datetime.now(UTC) - timedelta(seconds=5)
    registry.save_detector_states(
        [("custom.9", 3, "new-model", b"fitted")], model_at=datetime.now(UTC)
    )
    registry.save_detector_states(
        [("custom.9", 3, "old-model", b"stale"), ("custom.9", 4, "old-model", b"kept")],
        model_at=before,
    )
    assert registry.detector_states("custom.9", "new-model", [3, 4]) == {3: b"fitted"}
    assert registry.detector_states("custom.9", "old-model", [3, 4]) == {4: b"kept"}
    # The same model's newer learning replaces it; so does a model made after it, whenever the
    # older model's rows were written.
    registry.save_detector_states([("custom.9", 3, "new-model", b"more")], model_at=before)
    assert registry.detector_states("custom.9", "new-model", [3]) == {3: b"more"}
    registry.save_detector_states([("custom.9", 3, "newest", b"x")], model_at=datetime.now(UTC))
    assert registry.detector_states("custom.9", "newest", [3]) == {3: b"x"}


def test_a_rule_not_known_yet_keeps_its_recent_states_through_a_prune(registry: Registry) -> None:
    registry.save_detector_states([("custom.77", 3, "k", b"fitted")])
    settled = datetime.now(UTC) - timedelta(minutes=10)
    assert registry.prune_detector_states(set(), saved_before=settled) == 0
    assert registry.prune_detector_states(set(), saved_before=datetime.now(UTC)) == 1


def test_an_old_model_s_late_rows_do_not_block_the_new_model_s_saves(registry: Registry) -> None:
    """Rows the old model wrote after the new model was made (a save that copied before the
    rule changed) are replaced by the new model's next save."""
    old_model = datetime.now(UTC) - timedelta(hours=1)
    new_model = datetime.now(UTC) - timedelta(minutes=1)
    registry.save_detector_states([("custom.5", 3, "old", b"late")], model_at=old_model)
    registry.save_detector_states([("custom.5", 3, "new", b"learned")], model_at=new_model)
    assert registry.detector_states("custom.5", "new", [3]) == {3: b"learned"}
    # Saved with no model time (before it was kept), a row is any model's to replace.
    registry.save_detector_states([("custom.5", 4, "old", b"unaged")])
    registry.save_detector_states([("custom.5", 4, "new", b"x")], model_at=old_model)
    assert registry.detector_state_devices("custom.5", "new", [3, 4, 5]) == {3, 4}
