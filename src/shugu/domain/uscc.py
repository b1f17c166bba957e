"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

An 18-character code: registering authority, entity kind, the six-digit division code of the
registering office, the nine-character organisation code (GB 11714, with its own check character)
and a final check character.

Validation separates two kinds of failure on purpose. A *malformed* code (wrong length, a character
outside the code alphabet, a non-digit division part) cannot be a code at all and is rejected. A
*checksum mismatch* is accepted with a warning a person can see, because some early pilot codes
issued in Fujian (e.g. ``91350100M0001TGQXM``) fail the checksum and are nonetheless legal.
"""

from __future__ import annotations

from dataclasses import dataclass

from shugu.domain.errors import ValidationError

#: The 31 characters a USCC may use (no I, O, S, V, Z); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18

_VALUE = {char: index for index, char in enumerate(USCC_ALPHABET)}
#: Weight of position i (1-based) is 3^(i-1) mod 31.
_WEIGHTS = tuple(pow(3, i, 31) for i in range(USCC_LENGTH - 1))

#: GB 11714 organisation code: digits 0-9 and letters A-Z valued 10-35.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

REGISTERING_AUTHORITIES: dict[str, str] = {
    "1": "编制 (institutional establishment)",
    "5": "民政 (civil affairs)",
    "9": "工商 (market regulation)",
    "Y": "其他 (other)",
}

#: Entity kinds when the registering authority is 9 (market regulation).
MARKET_ENTITY_KINDS: dict[str, str] = {
    "1": "企业 (enterprise)",
    "2": "个体工商户 (individual business)",
    "3": "农民专业合作社 (farmers' cooperative)",
}


@dataclass(frozen=True, slots=True)
class UsccCheck:
    """The outcome of checking one well-formed code."""

    #: The code upper-cased and stripped of surrounding whitespace.
    code: str
    checksum_ok: bool
    #: A message for a person when something is off but the code is still accepted.
    warning: str | None
    registering_authority: str
    entity_kind: str
    division_code: str
    #: Positions 9-17: eight characters and their own GB 11714 check character.
    organisation_code: str
    organisation_check_ok: bool

    @property
    def registering_authority_name(self) -> str | None:
        return REGISTERING_AUTHORITIES.get(self.registering_authority)

    @property
    def entity_kind_name(self) -> str | None:
        if self.registering_authority != "9":
            return None
        return MARKET_ENTITY_KINDS.get(self.entity_kind)


def _malformed(message: str) -> ValidationError:
    return ValidationError(message, code="uscc_malformed", field="uscc")


def _check_alphabet(code: str) -> None:
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            raise _malformed(
                f"the unified social credit code has {char!r} at position {position}; "
                f"only the characters {USCC_ALPHABET} are allowed (no I, O, S, V, Z)"
            )


def compute_check_char(first17: str) -> str:
    """The check character (position 18) for the first 17 characters of a code."""
    prefix = first17.strip().upper()
    if len(prefix) != USCC_LENGTH - 1:
        raise _malformed(
            f"need the first 17 characters to compute a check character, got {len(prefix)}"
        )
    _check_alphabet(prefix)
    total = sum(_VALUE[char] * weight for char, weight in zip(prefix, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def compute_organisation_check_char(first8: str) -> str | None:
    """The GB 11714 check character for eight organisation-code characters.

    Returns None when a character has no GB 11714 value, which cannot happen for characters from
    the USCC alphabet but keeps the function total for other callers.
    """
    total = 0
    for char, weight in zip(first8, _ORG_WEIGHTS, strict=True):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        else:
            return None
        total += value * weight
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def check_uscc(code: str) -> UsccCheck:
    """Parse and check a USCC; raise ValidationError only when it is malformed."""
    normalized = code.strip().upper()
    if len(normalized) != USCC_LENGTH:
        raise _malformed(
            f"a unified social credit code has {USCC_LENGTH} characters; "
            f"{normalized!r} has {len(normalized)}"
        )
    _check_alphabet(normalized)
    division = normalized[2:8]
    for offset, char in enumerate(division):
        if not char.isdigit():
            raise _malformed(
                f"positions 3-8 of a unified social credit code are the division code and must be "
                f"digits; position {offset + 3} is {char!r}"
            )

    expected = compute_check_char(normalized[:17])
    checksum_ok = expected == normalized[17]
    organisation = normalized[8:17]
    organisation_check_ok = compute_organisation_check_char(organisation[:8]) == organisation[8]

    warning = None
    if not checksum_ok:
        warning = (
            f"the check character of {normalized} is {normalized[17]!r} but the GB 32100 "
            f"checksum gives {expected!r}; some early pilot codes fail the checksum and are "
            f"still legal, so please verify the code against the business licence"
        )
    return UsccCheck(
        code=normalized,
        checksum_ok=checksum_ok,
        warning=warning,
        registering_authority=normalized[0],
        entity_kind=normalized[1],
        division_code=division,
        organisation_code=organisation,
        organisation_check_ok=organisation_check_ok,
    )
