from __future__ import annotations

import pytest

from shugu.domain.classification import (
    NBS_CATEGORIES,
    check_nbs_category,
    middle_categories,
    top_categories,
)
from shugu.domain.errors import ValidationError


def test_five_top_and_thirty_two_middle_categories() -> None:
    assert [c.code for c in top_categories()] == ["01", "02", "03", "04", "05"]
    middles = [c for c in NBS_CATEGORIES.values() if not c.is_top]
    assert len(middles) == 32
    assert len(middle_categories("05")) == 9


def test_core_industries_are_01_to_04() -> None:
    assert check_nbs_category("0301").is_core_industry
    assert check_nbs_category("04").is_core_industry
    assert not check_nbs_category("0502").is_core_industry
    assert check_nbs_category("0502").name_zh == "智能制造"


@pytest.mark.parametrize("code", ["06", "0110", "5", "abcd"])
def test_unknown_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_nbs_category(code)
    assert caught.value.code == "unknown_nbs_category"
    assert caught.value.details["field"] == "nbs_category"
