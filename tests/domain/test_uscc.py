from __future__ import annotations

import pytest

from shugu.domain.errors import ValidationError
from shugu.domain.uscc import (
    USCC_ALPHABET,
    check_uscc,
    compute_check_char,
    compute_organisation_check_char,
)


@pytest.mark.parametrize("code", ["91110000600037341L", "91110108551385082Q"])
def test_valid_codes_pass_the_checksum(code: str) -> None:
    result = check_uscc(code)
    assert result.code == code
    assert result.checksum_ok
    assert result.warning is None
    assert result.organisation_check_ok


def test_worked_example_check_character() -> None:
    # docs/domain.md's worked example: the weighted sum is 538, 538 mod 31 = 11, 31 - 11 = 20 = 'L'.
    assert compute_check_char("91110000600037341") == "L"
    assert USCC_ALPHABET.index("L") == 20


def test_parts_are_parsed() -> None:
    result = check_uscc("91110000600037341L")
    assert result.registering_authority == "9"
    assert result.entity_kind == "1"
    assert result.division_code == "110000"
    assert result.organisation_code == "600037341"
    assert result.registering_authority_name is not None
    assert "工商" in result.registering_authority_name
    assert result.entity_kind_name is not None
    assert "enterprise" in result.entity_kind_name


def test_organisation_code_check_character() -> None:
    # GB 11714 example 60003734-1.
    assert compute_organisation_check_char("60003734") == "1"


def test_input_is_normalized() -> None:
    result = check_uscc("  91110108551385082q \n")
    assert result.code == "91110108551385082Q"
    assert result.checksum_ok


def test_fujian_pilot_code_is_accepted_with_a_warning() -> None:
    result = check_uscc("91350100M0001TGQXM")
    assert not result.checksum_ok
    assert result.warning is not None
    expected = compute_check_char("91350100M0001TGQX")
    assert repr(expected) in result.warning
    assert result.division_code == "350100"


def test_wrong_check_character_is_a_warning_not_an_error() -> None:
    result = check_uscc("91110000600037341M")
    assert not result.checksum_ok
    assert result.warning is not None and "'L'" in result.warning


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91110000600037341", "has 17"),
        ("91110000600037341LL", "has 19"),
        ("", "has 0"),
        ("91110000600O37341L", "'O' at position 12"),
        ("9111000060003734IL", "'I' at position 17"),
        ("S1110000600037341L", "'S' at position 1"),
        ("911100Z0600037341L", "'Z' at position 7"),
        ("9111A000600037341L", "position 5 is 'A'"),
        ("911100006000-7341L", "'-' at position 13"),
    ],
)
def test_malformed_codes_are_rejected(code: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_uscc(code)
    assert caught.value.code == "uscc_malformed"
    assert caught.value.details["field"] == "uscc"
    assert fragment in caught.value.message


def test_compute_check_char_needs_seventeen_characters() -> None:
    with pytest.raises(ValidationError) as caught:
        compute_check_char("9111")
    assert caught.value.code == "uscc_malformed"


def test_every_check_character_round_trips() -> None:
    # Changing the 17th character through the alphabet yields a valid code each time.
    for char in USCC_ALPHABET[:10]:
        first17 = "9111000060003734" + char
        assert check_uscc(first17 + compute_check_char(first17)).checksum_ok
