"""The anomaly bank's pattern statistic (sequences of value ranges, decisions 0060 and 0062)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from shugu.cli import app
from shugu.domain.errors import ValidationError
from shugu.monitor.anomaly import (
    CAUSES,
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    AnomalyBank,
    DetectorParams,
    explain_series,
    score_many,
)
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine
from shugu.monitor.rules import RuleScope, RuleSpec, validate_rule
from tests.monitor.points import one_point

T0 = 1_700_000_000_000
MINUTE = 60_000
#: Three minutes: the series stay shorter than a week (so the time-of-week statistic has nothing
#: to say), and the pattern statistic is judged per time, 0.22 decades lower than at NAB's
#: 5 minutes (decision 0066). At one minute its score alone could no longer alarm.
STEP = 3 * MINUTE
#: A staircase up and down through eight levels, three points on each step.
STAIRS = np.concatenate([np.arange(8), np.arange(8)[::-1]]).repeat(3).astype(float)
#: The same eight levels visited in an order the staircase never takes.
ZIGZAG = np.array([0, 7, 1, 6, 2, 5, 3, 4] * 2, dtype=float).repeat(3)


def every_step(n: int) -> npt.NDArray[np.int64]:
    return (T0 + np.arange(n, dtype=np.int64) * STEP).astype(np.int64)


def stairs_then_zigzag(n: int = 2600, at: int = 2400) -> npt.NDArray[np.float64]:
    x = np.resize(STAIRS, n)
    x[at : at + len(ZIGZAG)] = ZIGZAG
    return x


def test_a_new_order_of_usual_values_is_found_only_by_the_pattern() -> None:
    x = stairs_then_zigzag()
    _, without, _ = explain_series(every_step(len(x)), x, PATTERN_SENSITIVITY)
    assert not without.any()
    scores, alarms, causes = explain_series(
        every_step(len(x)), x, PATTERN_SENSITIVITY, WITH_PATTERN
    )
    fired = np.flatnonzero(alarms)
    assert len(fired) == 1
    assert 2400 <= fired[0] < 2400 + len(ZIGZAG)
    assert CAUSES[causes[fired[0]]] == "unusual_pattern"
    assert scores[fired[0]] >= 1 - PATTERN_SENSITIVITY


def test_white_noise_never_trusts_the_pattern() -> None:
    x = np.random.default_rng(3).normal(size=4000)
    scores, alarms, causes = explain_series(
        every_step(len(x)), x, PATTERN_SENSITIVITY, DetectorParams(pattern_weight=2.0)
    )
    assert not alarms.any()
    assert not (causes == CAUSES.index("unusual_pattern")).any()
    assert scores.max() < 1 - PATTERN_SENSITIVITY


def test_missing_and_repeated_points_change_nothing() -> None:
    x = stairs_then_zigzag()
    ts = every_step(len(x))
    _, alarms, causes = explain_series(ts, x, PATTERN_SENSITIVITY, WITH_PATTERN)
    # NaN rows, and rows that repeat the previous timestamp with a wild value, inserted.
    holes = np.arange(7, len(x), 11)
    x_more = np.insert(x, holes, np.nan)
    ts_more = np.insert(ts, holes, ts[holes])
    dup = np.arange(5, len(x), 13)
    x_more = np.insert(x_more, dup + np.searchsorted(holes, dup), 1e6)
    ts_more = np.insert(ts_more, dup + np.searchsorted(holes, dup), ts[dup - 1])
    kept = np.isfinite(x_more) & (x_more < 1e6)
    _, alarms_more, causes_more = explain_series(ts_more, x_more, PATTERN_SENSITIVITY, WITH_PATTERN)
    assert (alarms_more[kept] == alarms).all()
    assert (causes_more[kept] == causes).all()
    assert not alarms_more[~kept].any()


def test_many_series_in_one_bank_match_each_alone() -> None:
    rng = np.random.default_rng(5)
    series = [
        (every_step(2000), np.resize(STAIRS, 2000) + rng.normal(0, 0.05, 2000)),
        (every_step(1500), rng.normal(size=1500)),
        (every_step(2600), stairs_then_zigzag()),
    ]
    together = score_many(series, PATTERN_SENSITIVITY, WITH_PATTERN)
    for (ts, x), (scores, alarms) in zip(series, together, strict=True):
        alone, alone_alarms, _ = explain_series(ts, x, PATTERN_SENSITIVITY, WITH_PATTERN)
        assert np.array_equal(scores, alone)
        assert np.array_equal(alarms, alone_alarms)


def test_slots_grow_with_their_pattern_state() -> None:
    bank = AnomalyBank(PATTERN_SENSITIVITY, capacity=1, params=WITH_PATTERN)
    for key in range(5):
        bank.slot((key, 0))
    assert bank.pattern is not None
    assert len(bank.pattern.started) >= 5
    slots = np.arange(5, dtype=np.intp)
    for i in range(600):
        ts = np.full(5, T0 + i * MINUTE, dtype=np.int64)
        bank.update(slots, ts, np.resize(STAIRS, 600)[i] + np.arange(5.0))
    assert bank.pattern.started[:5].all()
    assert (bank.pattern.transitions[:5].sum(axis=1) > 0).all()


def raised_rows(rule: dict[str, object], x: npt.NDArray[np.float64]) -> list[int]:
    """Rows at which an anomaly rule on metric v of one device raises its alarm."""
    engine = RuleEngine({"v": 1}.get)
    spec = validate_rule({"key": "r", "label_zh": "异常", "label_en": "anomaly", **rule})
    engine.configure(
        [DeviceInfo(1, 1, "d1", "generic")],
        [RuleBinding("r", spec, RuleScope(profile="generic"))],
        {},
    )
    raised = []
    for i, (ts, value) in enumerate(zip(every_step(len(x)).tolist(), x.tolist(), strict=True)):
        one = one_point(ts, value)
        for t in engine.evaluate(one, ts):
            if t.raised:
                assert t.driver == "unusual_pattern"  # what the alarm's text will say drove it
                raised.append(i)
    return raised


def test_an_anomaly_rule_judges_the_pattern_unless_told_not_to() -> None:
    x = stairs_then_zigzag()
    assert raised_rows({"kind": "anomaly", "metric": "v", "pattern": False}, x) == []
    for rule in (
        {"kind": "anomaly", "metric": "v"},
        {"kind": "anomaly", "metric": "v", "pattern": True},
    ):
        raised = raised_rows(rule, x)
        assert len(raised) == 1 and 2400 <= raised[0] < 2400 + len(ZIGZAG), raised


def anomaly_rule(**extra: object) -> RuleSpec:
    base = {"key": "r", "kind": "anomaly", "metric": "v", "label_zh": "x", "label_en": "x"}
    return validate_rule({**base, **extra})


def test_an_anomaly_rules_limit_says_when_it_does_not_judge_the_pattern() -> None:
    assert anomaly_rule().limit_text() == "sensitivity 0.34"
    assert anomaly_rule(pattern=False).limit_text() == "sensitivity 0.4, no pattern"
    plain = anomaly_rule(pattern=False, sensitivity=0.5)
    assert plain.limit_text() == "sensitivity 0.5, no pattern"


def test_pattern_belongs_to_anomaly_rules_only() -> None:
    with pytest.raises(ValidationError, match="pattern: belongs to anomaly rules"):
        anomaly_rule(kind="threshold", above=1, pattern=True)
    assert anomaly_rule(pattern=1).pattern is True


def test_cli_judges_the_pattern_by_default_and_refuses_the_flag_with_columns(
    tmp_path: Path,
) -> None:
    x = stairs_then_zigzag()
    stamps = np.asarray(every_step(len(x)), dtype="datetime64[ms]").astype("datetime64[s]")
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [f"{str(t).replace('T', ' ')},{v:g}" for t, v in zip(stamps, x, strict=True)]
    src.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    runner = CliRunner()
    for flags in ([], ["--pattern"]):
        answer = runner.invoke(app, ["anomaly", "score", str(src), str(out), "--explain", *flags])
        assert answer.exit_code == 0, answer.output
        lines = csv_rows(out)
        alarms = [i for i, r in enumerate(lines) if r[3] == "1"]
        assert len(alarms) == 1 and lines[alarms[0]][4] == "unusual_pattern"
    answer = runner.invoke(app, ["anomaly", "score", str(src), str(out), "--no-pattern"])
    assert answer.exit_code == 0 and "1" not in {r[3] for r in csv_rows(out)}
    for flag in ("--pattern", "--no-pattern"):
        answer = runner.invoke(
            app, ["anomaly", "score", str(src), str(out), flag, "--columns", "value"]
        )
        assert answer.exit_code == 2 and "--pattern/--no-pattern" in answer.output


def csv_rows(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()[1:]]
