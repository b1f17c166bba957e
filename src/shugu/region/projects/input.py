"""What a caller sends about a project or a month's progress, checked field by field: every
fault a ValidationError naming its field, with a code the console translates.

Values come from JSON bodies, console forms (text) and XLSX rows (already typed), so each parser
takes any object. Money is written in 万元 with at most four decimals (one 元) and kept in 元.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from shugu.domain.errors import ValidationError
from shugu.domain.uscc import check_uscc
from shugu.store.registry.models_projects import PROJECT_STAGES, PROJECT_TYPES

YUAN_PER_WAN: Final = 10_000
#: 1,000 亿元: no district project is larger; a bigger figure is a typing slip.
MAX_WAN: Final = Decimal(10_000_000)
CODE_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,39}$")
INDUSTRY_PATTERN: Final = re.compile(r"^[0-9]{4}$")
MONTH_PATTERN: Final = re.compile(r"^([0-9]{4})-([0-9]{2})$")
ID_PATTERN: Final = re.compile(r"^[1-9][0-9]{0,8}$")
MAX_TEXT: Final = 4000


def _bad(message: str, code: str, field: str) -> ValidationError:
    return ValidationError(message, code=code, field=field)


def text(value: object, field: str, *, required: bool, limit: int = 200) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int):
        raise _bad(f"{field} must be text", "project_field_invalid", field)
    out = str(value).strip()
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(
            f"{field} holds characters that are not text", "project_field_invalid", field
        ) from None
    if required and not out:
        raise _bad(f"{field} is required", "project_field_required", field)
    if len(out) > limit:
        raise _bad(f"{field} has at most {limit} characters", "project_field_too_long", field)
    return out


def yuan_of_wan(value: object, field: str) -> int:
    """An amount in 万元 (number or text) as whole 元."""
    if isinstance(value, bool) or value is None or value == "":
        raise _bad(f"{field} is required, in 万元", "project_amount_invalid", field)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise _bad(f"{field} is not a number of 万元", "project_amount_invalid", field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_WAN:
        raise _bad(f"{field} is 0 to {MAX_WAN} 万元", "project_amount_invalid", field)
    yuan = amount * YUAN_PER_WAN
    if yuan != yuan.to_integral_value():
        raise _bad(f"{field} has at most four decimals (one 元)", "project_amount_invalid", field)
    return int(yuan)


def wan(yuan: int) -> Decimal:
    """元 as 万元, exactly (trailing zeros dropped)."""
    value = Decimal(yuan) / YUAN_PER_WAN
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def day(value: object, field: str, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            raise _bad(f"{field} is required (YYYY-MM-DD)", "project_field_required", field)
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _bad(f"{field} must be a date, YYYY-MM-DD", "project_date_invalid", field)


def month(value: object, field: str = "month") -> date:
    """A month as its first day, from ``YYYY-MM`` (or a date in it)."""
    if isinstance(value, date):
        return value.replace(day=1)
    found = MONTH_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if found is not None and 1 <= int(found[2]) <= 12 and 2000 <= int(found[1]) <= 2100:
        return date(int(found[1]), int(found[2]), 1)
    raise _bad(f"{field} must be a month, YYYY-MM", "project_month_invalid", field)


def choice(value: object, field: str, allowed: tuple[str, ...], code: str) -> str:
    if not isinstance(value, str) or value.strip() not in allowed:
        raise _bad(f"{field} is one of {', '.join(allowed)}", code, field)
    return value.strip()


def stage(value: object, field: str = "stage") -> str:
    return choice(value, field, PROJECT_STAGES, "project_stage_invalid")


def project_type(value: object) -> str:
    return choice(value, "project_type", PROJECT_TYPES, "project_type_invalid")


def code(value: object) -> str:
    out = text(value, "code", required=True, limit=40)
    if not CODE_PATTERN.match(out):
        raise _bad(
            "a project code is 1–40 letters, digits and . _ / - (starting with a letter or digit)",
            "project_code_invalid",
            "code",
        )
    return out


def industry(value: object) -> str | None:
    out = text(value, "industry_code", required=False, limit=4)
    if out and not INDUSTRY_PATTERN.match(out):
        raise _bad(
            "an industry class (GB/T 4754) is four digits",
            "project_industry_invalid",
            "industry_code",
        )
    return out or None


def uscc(value: object) -> str | None:
    out = text(value, "owner_uscc", required=False, limit=18)
    if not out:
        return None
    try:
        return check_uscc(out).code
    except ValidationError as exc:
        raise _bad(str(exc), "project_uscc_invalid", "owner_uscc") from None


def optional_int(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(f"{field} must be a whole number", "project_field_invalid", field)
    if isinstance(value, int) and 0 < value < 2**31:
        return value
    if isinstance(value, str) and ID_PATTERN.match(value.strip()):
        return int(value.strip())
    raise _bad(f"{field} must be a whole number", "project_field_invalid", field)


def planned_dates(raw: Mapping[str, object]) -> dict[str, date]:
    """Planned dates per stage (``<stage>_planned`` or a ``planned`` mapping), in stage order:
    a later stage is never planned before an earlier one."""
    nested = raw.get("planned")
    source: Mapping[str, object] = nested if isinstance(nested, Mapping) else {}
    out: dict[str, date] = {}
    for key in PROJECT_STAGES:
        value = source.get(key, raw.get(f"{key}_planned"))
        found = day(value, f"{key}_planned")
        if found is not None:
            out[key] = found
    ordered = [out[k] for k in PROJECT_STAGES if k in out]
    if ordered != sorted(ordered):
        raise _bad(
            "a later stage is planned before an earlier one", "project_plan_out_of_order", "planned"
        )
    return out
