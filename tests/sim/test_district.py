from __future__ import annotations

from pathlib import Path

import pytest

from shugu.domain.uscc import check_uscc
from shugu.sim.district import DistrictError, expand_enterprises, generated_uscc, load_district
from shugu.sim.provision import layout

CHANGLE = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"


def test_changle_has_the_documented_scale() -> None:
    district = load_district(CHANGLE)
    textile, digital = district.parks
    every = expand_enterprises(textile, district.region.code, 0)
    # Forty mills of one description, and one mill short of orders (shared capacity's offerer).
    firms = [f for f in every if f.name.startswith("长乐") and "号织造" in f.name]
    assert len(firms) == 40 and len(every) == 41
    looms = sum(len(p.devices) for f in firms for p in layout(f, 1.0))
    assert looms == 2000
    codes = [f.uscc for f in firms]
    assert len(set(codes)) == 40
    assert all(check_uscc(c).checksum_ok for c in codes if c)
    hall = layout(expand_enterprises(digital, district.region.code, 40)[0], 1.0)[0]
    assert (len(hall.crahs), len(hall.devices)) == (8, 200)
    assert sum(len(p.devices) for f in firms for p in layout(f, 0.25)) == 480


def test_generated_codes_are_valid() -> None:
    for serial in (1, 99, 123456):
        result = check_uscc(generated_uscc("350112", serial))
        assert result.checksum_ok and result.warning is None


def test_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'name: x\nregion: {code: "35011", name: y}\nparks:\n  - name: p\n    enterprises:\n'
        "      - name: e\n        plants:\n          - kind: loom\n            line: l\n"
        '            devices: "a {i}"\n            count: 1\n'
    )
    with pytest.raises(DistrictError) as info:
        load_district(bad)
    message = info.value.message
    assert f"{bad}:2: region.code" in message
    assert f"{bad}:8: parks.0.enterprises.0.plants.0.kind" in message


def test_not_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(DistrictError, match="not valid YAML"):
        load_district(bad)
