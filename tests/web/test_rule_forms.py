"""The own-rule form's proposal of a plant model's fit, apart from any page."""

from __future__ import annotations

from shugu.web.rule_forms import Choice, Choices, GaugeGroup, proposed_fit


def _choices(*groups: GaugeGroup) -> Choices:
    return Choices(profiles=[], assets=[], devices=[], metrics=[], gauges=list(groups))


def _group(profile: str, gauges: tuple[str, ...], day_rows: int | None) -> GaugeGroup:
    return GaugeGroup(profile, profile, [Choice(g, g) for g in gauges], day_rows)


def test_the_fit_proposed_is_a_day_of_rows_of_the_profile_that_reports_every_gauge() -> None:
    tower = _group("cooling_tower", ("hot_water_c", "fan_power_kw", "wet_bulb_c"), 2880)
    fast_tower = _group("fast_tower", ("hot_water_c", "fan_power_kw"), 86_400)
    kiln = _group("kiln", ("temp_c",), None)
    allowed = _choices(tower, fast_tower, kiln)
    # Two profiles report both: the longer day, so every device's fit spans one.
    assert proposed_fit(allowed, ["hot_water_c", "fan_power_kw"], "asset:3") == 86_400
    # Scoped to a profile: that profile's day.
    assert proposed_fit(allowed, ["hot_water_c", "fan_power_kw"], "profile:cooling_tower") == 2880
    # A condition counts as a gauge the profile must report.
    assert proposed_fit(allowed, ["hot_water_c", "wet_bulb_c"], "device:7") == 2880
    # No profile states its interval, or none reports them all: no proposal.
    assert proposed_fit(allowed, ["temp_c"], "profile:kiln") is None
    assert proposed_fit(allowed, ["temp_c", "hot_water_c"], "asset:3") is None
    assert proposed_fit(allowed, ["hot_water_c"], "profile:kiln") is None


def test_the_placeholder_is_the_proposal_or_the_rule_s_own_default() -> None:
    allowed = _choices(_group("cooling_tower", ("hot_water_c",), 2880))
    scoped = {"applies": "profile:cooling_tower", "metrics": "hot_water_c", "conditions": ""}
    assert allowed.fit_shown(scoped) == 2880
    assert allowed.fit_shown({"applies": "asset:1", "metrics": "temp_c"}) == 400
    assert _choices().fit_shown({}) == 400
