"""`shugu bench fuzz` runs every codec and reports its figures (a few cases each here)."""

from __future__ import annotations

from bench.fuzz import all_codecs, run, table


def test_every_codec_reports_its_figures() -> None:
    result = run(cases=5, seed=1, log=False)
    assert list(result["codecs"]) == [codec.name for codec in all_codecs()]
    for figures in result["codecs"].values():
        outcomes = ("accepted", "partial", "rejected", "crash", "unexplained")
        assert sum(figures[o] for o in outcomes) == figures["cases"] > 0
        assert figures["distinct_codes"] == len(figures["codes"])
    assert result["crashes"] == result["unexplained"] == 0
    assert "total: " in table(result)
