"""dewpoint(t, rh) in metric expressions: the Magnus formula, and its place in the grammar."""

from __future__ import annotations

import numpy as np
import pytest

from shugu.domain.errors import ValidationError
from shugu.domain.expr import parse_expression


def test_dew_point_by_the_magnus_formula() -> None:
    expr = parse_expression("dewpoint(inlet_c, inlet_rh_pct)")
    assert expr.names == ("inlet_c", "inlet_rh_pct")
    values = expr.evaluate(
        {
            "inlet_c": np.array([25.0, 20.0, 30.0, 18.5]),
            "inlet_rh_pct": np.array([50.0, 100, 0, 10]),
        }
    )
    # 25 °C at 50 %: γ = ln 0.5 + 17.62 × 25 / 268.12 = 0.94977, Td = 243.12 γ / (17.62 − γ).
    assert values[0] == pytest.approx(13.852, abs=1e-3)
    # Saturated air is at its dew point.
    assert values[1] == pytest.approx(20.0, abs=1e-9)
    # Dry air has no dew point: NaN, not a crash or −inf.
    assert np.isnan(values[2])
    # 18.5 °C at 10 %: below ASHRAE's −9 °C dew-point floor.
    assert values[3] == pytest.approx(-13.75, abs=0.01)


def test_dew_point_takes_exactly_two_arguments() -> None:
    for text in ("dewpoint(inlet_c)", "dewpoint(inlet_c, inlet_rh_pct, 3)"):
        with pytest.raises(ValidationError, match="wrong arguments to dewpoint"):
            parse_expression(text)
    with pytest.raises(ValidationError, match="dewpoint is a function"):
        parse_expression("dewpoint + inlet_c")
