from __future__ import annotations

import pytest

from shugu.domain.divisions import (
    KNOWN_DIVISIONS,
    DivisionLevel,
    division_name,
    parse_division_code,
)
from shugu.domain.errors import ValidationError


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("210000", DivisionLevel.PROVINCE),
        ("210200", DivisionLevel.PREFECTURE),
        ("210213", DivisionLevel.COUNTY),
        ("210211016", DivisionLevel.TOWNSHIP),
        ("210211016001", DivisionLevel.VILLAGE),
        ("210211000", DivisionLevel.COUNTY),
    ],
)
def test_levels(code: str, level: DivisionLevel) -> None:
    assert parse_division_code(code).level is level


def test_parts() -> None:
    division = parse_division_code("210211016")
    assert (division.province, division.prefecture, division.county) == ("21", "02", "11")
    assert division.township == "016"
    assert division.village is None
    assert division.province_name == "辽宁省"


def test_named_codes_from_the_domain_notes() -> None:
    assert division_name("210200") == "大连市"
    assert division_name("210213") == "金州区"
    assert division_name("210211") == "甘井子区"
    assert division_name("210211016") == "凌水街道"
    assert division_name("230600") == "大庆市"
    assert division_name("350100") == "福州市"
    assert division_name("350112") == "长乐区"
    assert division_name("350000") == "福建省"
    assert division_name("350103") is None
    for code in KNOWN_DIVISIONS:
        parse_division_code(code)


def test_containment() -> None:
    dalian = parse_division_code("210200")
    assert dalian.contains(parse_division_code("210211016"))
    assert dalian.contains(parse_division_code("210213"))
    assert not dalian.contains(parse_division_code("230600"))
    assert parse_division_code("350000").contains(parse_division_code("350112"))
    assert not parse_division_code("350112").contains(parse_division_code("350100"))


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("21020", "division_code_malformed"),
        ("2102000", "division_code_malformed"),
        ("21020A", "division_code_malformed"),
        ("990200", "division_code_unknown_province"),
    ],
)
def test_bad_codes(code: str, error_code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_division_code(code, field="division_code")
    assert caught.value.code == error_code
    assert caught.value.details["field"] == "division_code"


def test_statistical_forms_can_be_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_division_code("210211016", field="code", statistical=False)
    assert caught.value.details["field"] == "code"
    assert "6 digits" in caught.value.message
