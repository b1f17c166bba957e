"""Alarm text as an engineer reads it on a phone: what, where, how far from the limit, since
when, in Chinese and English, with the device's name and the profile's labels."""

from __future__ import annotations

from shugu.monitor.alarm_text import alarm_text, limit_line, number, span
from shugu.monitor.engine import describe
from shugu.monitor.rules import default_rules, validate_rule

#: 2026-12-05 14:30 China time.
AT = 1_796_452_200_000


def rule(ref: str):  # type: ignore[no-untyped-def]
    return default_rules()[ref][1]


def test_a_burst_of_warp_stops_reads_as_count_in_the_window_against_the_limit() -> None:
    warp = rule("loom.warp_stops_high")
    zh = describe(warp, 9, "zh", device="织机 007", profile="loom", at_ms=AT)
    en = describe(warp, 9, "en", device="织机 007", profile="loom", at_ms=AT)
    assert zh == "织机 007 经停 1 小时内 9 次（上限 8 次）"
    assert en == "织机 007: warp break 9 times in 1 h (limit 8)"


def test_a_held_limit_reads_value_limit_excess_and_since_when() -> None:
    hot = rule("cooling_tower.gearbox_oil_hot")
    zh = alarm_text(hot, 88.46, "zh", device="甲站冷却塔 02", profile="cooling_tower", at_ms=AT)
    assert zh == (
        "甲站冷却塔 02 齿轮箱油温 88.5 °C，高于上限 85 °C（超出 3.5 °C），已持续 5 分钟以上"
        "（自 14:25 起）"
    )
    en = alarm_text(hot, 88.46, "en", device="甲站冷却塔 02", profile="cooling_tower", at_ms=AT)
    assert en == (
        "甲站冷却塔 02: Gearbox oil temperature 88.5 °C, above the limit 85 °C by 3.5 °C, "
        "for over 5 min (since 14:25)"
    )


def test_a_low_value_reads_below_the_limit() -> None:
    low = rule("rack_sensor.inlet_low")
    text = alarm_text(low, 16.2, "en", device="机柜 R001", profile="rack_sensor")
    assert text == "机柜 R001: Inlet temperature 16.2 °C, below the limit 18 °C by 1.8 °C"


def test_a_state_reads_as_its_label() -> None:
    fan = rule("crah.fan_stopped")
    zh = alarm_text(fan, 0.0, "zh", device="精密空调 02", profile="crah", at_ms=AT)
    assert zh == "精密空调 02 风机运行：停止，已持续 30 秒以上（自 14:29 起）"


def test_a_condition_written_as_arithmetic_reads_as_the_rule_s_label() -> None:
    down = rule("loom.fault_stop_long")
    zh = alarm_text(down, 0.0, "zh", device="织机 002", profile="loom", at_ms=AT)
    assert zh.startswith("织机 002 织机故障停机超过 30 分钟，已持续 30 分钟以上（自 14:00 起）")


def test_an_expression_reads_with_the_rule_s_label_and_unit() -> None:
    coc = rule("cooling_tower.coc_high")
    en = alarm_text(coc, 5.04, "en", device="丙站冷却塔 01", profile="cooling_tower")
    assert en.startswith("丙站冷却塔 01: Cycles of concentration high (blowdown short) 5.04,")
    assert "above the limit 5 by 0.04" in en


def test_offline_stalled_and_rate_read_durations_and_rates() -> None:
    offline = rule("loom.offline")
    assert (
        alarm_text(offline, 720, "zh", device="织机 001")
        == "织机 001 已 12 分钟无数据（上限 10 分钟）"
    )
    stalled = rule("loom.picks_stalled")
    assert (
        alarm_text(stalled, 180, "en", device="织机 001", profile="loom")
        == "织机 001: running but Picks inserted not rising for 3 min (limit 2 min)"
    )
    rate = rule("rack_sensor.inlet_rate")
    assert (
        alarm_text(rate, -23.4, "zh", device="机柜 R010", profile="rack_sensor")
        == "机柜 R010 进风温度每小时下降 23.4 °C（上限 20 °C/h）"
    )


def test_without_a_device_or_profile_the_line_still_reads() -> None:
    custom = validate_rule(
        {
            "key": "t",
            "kind": "threshold",
            "metric": "temp",
            "above": 30,
            "unit": "°C",
            "label_zh": "温度高",
            "label_en": "Hot",
        }
    )
    assert alarm_text(custom, 31, "zh") == "temp 31 °C，高于上限 30 °C（超出 1 °C）"
    assert alarm_text(custom, None, "en") == "temp"


def test_an_anomaly_reads_what_drove_it() -> None:
    odd = validate_rule(
        {
            "key": "a",
            "kind": "anomaly",
            "metric": "supply_air_c",
            "label_zh": "送风温度",
            "label_en": "Supply air",
        }
    )
    zh = alarm_text(odd, 0.934, "zh", device="空调 03", profile="crah", driver="unusual_pattern")
    en = alarm_text(odd, 0.934, "en", device="空调 03", profile="crah", driver="unusual_pattern")
    assert zh == "空调 03 送风温度异常：常见数值以罕见次序出现（评分 0.93）"
    assert en == (
        "空调 03: Supply air temperature anomalous: usual values in an unusual order (score 0.93)"
    )
    for cause in ("spike", "level_shift", "unusual_sequence", "unusual_shape", "unusual_for_time"):
        assert "：" in alarm_text(odd, 0.9, "zh", driver=cause)
    # Without a known cause (an alarm raised before causes were kept) the line still reads.
    plain = "空调 03 送风温度异常（评分 0.9）"
    assert alarm_text(odd, 0.9, "zh", device="空调 03", profile="crah") == plain
    assert alarm_text(odd, 0.9, "zh", device="空调 03", profile="crah", driver="gone") == plain


def test_limits_with_words_read_in_the_reader_s_language() -> None:
    def made(**extra: object):  # type: ignore[no-untyped-def]
        return validate_rule({"key": "a", "label_zh": "x", "label_en": "x", **extra})

    odd = made(kind="anomaly", metric="v")
    assert limit_line(odd, "zh") == "灵敏度 0.34"
    assert limit_line(odd, "en") == odd.limit_text() == "sensitivity 0.34"
    plain = made(kind="anomaly", metric="v", pattern=False, sensitivity=0.5)
    assert limit_line(plain, "zh") == "灵敏度 0.5，不判序列模式"
    assert limit_line(plain, "en") == plain.limit_text() == "sensitivity 0.5, no pattern"
    plant = made(kind="plant", metrics=["a", "b"], fit_points=400)
    assert limit_line(plant, "zh") == "按前 400 行拟合，灵敏度 0.4"
    assert limit_line(plant, "en") == plant.limit_text()
    hot = rule("cooling_tower.gearbox_oil_hot")
    assert limit_line(hot, "zh") == limit_line(hot, "en") == hot.limit_text()


def test_numbers_and_spans_are_short() -> None:
    assert [number(v) for v in (29.44, 5.0, 0.041, 1500.4, -0.001)] == [
        "29.4",
        "5",
        "0.04",
        "1500",
        "0",
    ]
    assert [span(s, "zh") for s in (30, 1800, 3600, 9000)] == [
        "30 秒",
        "30 分钟",
        "1 小时",
        "2.5 小时",
    ]
