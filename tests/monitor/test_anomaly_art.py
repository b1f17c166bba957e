"""The shape statistic: adaptive resonance over short windows (anomaly_art.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import CAUSES, AnomalyBank, DetectorParams
from shugu.monitor.anomaly_art import ArtParams, ArtState

ONE = np.array([0], dtype=np.intp)
YES = np.array([True])


def feed(state: ArtState, values: npt.NDArray[np.float64]) -> tuple[list[bool], list[float]]:
    novel, surprise = [], []
    for v in values:
        out = state.step(ONE, np.array([v]), YES)
        novel.append(bool(state.novel[0]))
        surprise.append(float(out[0]))
    return novel, surprise


def sawtooth(periods: int, period: int = 12) -> npt.NDArray[np.float64]:
    return np.tile(np.linspace(0.0, 10.0, period), periods)


def test_a_learned_shape_is_not_novel_and_a_new_one_is() -> None:
    state = ArtState(1, ArtParams(window=6, vigilance=0.9))
    novel, _ = feed(state, sawtooth(60))
    assert any(novel[:60]), "the first windows make categories"
    assert not any(novel[-240:]), "a shape repeated after it was learned is not novel"
    # The same range of values, other shape: a square wave between the sawtooth's extremes.
    square = np.tile(np.r_[np.zeros(6), np.full(6, 10.0)], 3)
    novel, _ = feed(state, square)
    assert any(novel[:8]), "a new shape is novel within a window"


def test_the_statistic_rises_on_a_new_shape_only_after_warm_up() -> None:
    state = ArtState(1, ArtParams(window=6, statistic="rarity", warmup_points=50))
    _, early = feed(state, sawtooth(4))
    assert max(early) == 0.0, "nothing is scored while warming up"
    _, learned = feed(state, sawtooth(80))
    assert max(learned[-300:]) == 0.0
    _, new = feed(state, np.tile(np.r_[np.zeros(6), np.full(6, 10.0)], 3))
    assert max(new) > 2.0, "a shape after hundreds of familiar ones is a rare event"


def test_the_category_count_is_bounded() -> None:
    params = ArtParams(window=8, categories=16, vigilance=0.98)
    state = ArtState(1, params)
    rng = np.random.default_rng(1)
    novel, _ = feed(state, rng.normal(0.0, 1.0, 3000))
    assert sum(novel) > 100, "noise at a high vigilance keeps making categories"
    assert state.category_count(0) == 16
    assert state.boxes.shape == (1, 16, 16)


def test_the_driver_is_the_part_of_the_window_that_is_new() -> None:
    params = ArtParams(window=6, vigilance=0.95)
    state = ArtState(1, params)
    feed(state, np.tile(np.r_[np.zeros(6), np.full(6, 10.0)], 40))
    # The low level, then a value half-way where the series has only ever been at 0 or 10: the
    # newest feature is the odd one.
    feed(state, np.zeros(5))
    state.step(ONE, np.array([5.0]), YES)
    assert state.novel[0]
    assert int(state.driver[0]) == params.window - 1


def test_invalid_points_change_nothing() -> None:
    state = ArtState(1, ArtParams(window=4))
    feed(state, sawtooth(10))
    before = {name: getattr(state, name).copy() for name in ArtState._FIELDS}
    out = state.step(ONE, np.array([np.nan]), np.array([False]))
    assert out[0] == 0.0
    for name, value in before.items():
        assert np.array_equal(getattr(state, name), value), name


def test_the_state_does_not_depend_on_the_sampling_interval() -> None:
    rng = np.random.default_rng(2)
    values = np.sin(np.arange(600) / 7.0) + rng.normal(0, 0.05, 600)
    params = DetectorParams(art_weight=1.0, art=ArtParams(window=6))
    states = []
    for step_ms in (1_000, 300_000, 86_400_000):
        bank = AnomalyBank(capacity=1, params=params)
        slot = np.array([bank.slot((1, 1))], dtype=np.intp)
        for i, v in enumerate(values):
            score, _ = bank.update(slot, np.array([i * step_ms], dtype=np.int64), np.array([v]))
            assert np.isfinite(score).all()
        assert bank.art is not None
        states.append((bank.art.boxes.copy(), bank.art.raw_mean.copy()))
    for boxes, mean in states[1:]:
        assert np.array_equal(boxes, states[0][0])
        assert np.array_equal(mean, states[0][1])


def test_the_bank_names_the_shape_as_the_cause() -> None:
    params = DetectorParams(
        context_weight=0.0, art_weight=5.0, art=ArtParams(window=6, statistic="rarity")
    )
    bank = AnomalyBank(capacity=1, params=params)
    slot = np.array([bank.slot((1, 1))], dtype=np.intp)
    values = np.r_[sawtooth(150), np.tile(np.r_[np.zeros(6), np.full(6, 10.0)], 2)]
    causes = []
    for i, v in enumerate(values):
        _, alarm = bank.update(slot, np.array([i * 60_000], dtype=np.int64), np.array([v]))
        if alarm[0]:
            causes.append(CAUSES[int(bank.causes[0])])
    assert causes and causes[0] == "unusual_shape"
