"""What the KPI and energy routes share: their query parameters read and checked (the span,
level, grain and KPI names), which machines a caller's table may sum (``scope.kpi_enterprises``),
and the XLSX answer.

A table narrowed to one line or machine shows that line's or machine's figures whatever level
it is grouped at, so the caller's scope is decided at the finer of the level asked for and the
object it is narrowed to: the bureau needs an enterprise's consent to sum one of its lines even
"per enterprise".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response

from shugu.analytics.kpi_export import XLSX_MEDIA_TYPE, xlsx_rows
from shugu.analytics.kpi_rows import Rows
from shugu.analytics.model import GRAINS, LEVELS, Grain, Level
from shugu.analytics.periods import DAY_MS, local, month_start
from shugu.analytics.query import MAX_SPAN_DAYS
from shugu.api.downloads import download
from shugu.api.scope import kpi_enterprises
from shugu.domain.errors import NotFoundError, ValidationError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import parse_instant, utc_now_ms
from shugu.store.registry import Registry
from shugu.store.registry.records import AssetLevel

#: Spans are kept inside these years, so that months and years before and after them (环比,
#: 同比, month periods) are still calendar dates.
FIRST_INSTANT_MS = 31_536_000_000  # 1971-01-01 UTC
LAST_INSTANT_MS = 253_339_228_800_000  # 9998-01-01 UTC
MAX_KPI_NAMES = 64
MAX_KPI_NAME_LENGTH = 64

StartQ = Annotated[
    str | None,
    Query(
        description="ms since 1970 or ISO 8601, a date or a time (China time without an offset); "
        "default: the start of this month"
    ),
]
EndQ = Annotated[
    str | None,
    Query(description="exclusive; ms since 1970 or ISO 8601 (default: now)"),
]
LevelQ = Annotated[str, Query(description="device, line, enterprise, park, industry or region")]
GrainQ = Annotated[
    str | None,
    Query(description="hour, shift, day, week or month (omit for one figure over the span)"),
]
EnterpriseQ = Annotated[int | None, Query(description="only this enterprise's machines")]
ParkQ = Annotated[int | None, Query(description="only the machines of this park")]
LineQ = Annotated[int | None, Query(description="only the machines of this line (asset id)")]
DeviceQ = Annotated[int | None, Query(description="only this machine")]
TableFormat = Literal["json", "xlsx"]
FormatQ = Annotated[TableFormat, Query(description="json, or xlsx for a workbook")]

#: The 200 answer of routes that take ``format=json|xlsx``: the JSON model, or a workbook.
XLSX_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or an XLSX workbook (``format=xlsx``) with a file name",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def xlsx_answer(sheets: Sequence[Rows], name: str) -> Response:
    """The sheets as a workbook to download as ``name``.xlsx."""
    return download(xlsx_rows(sheets), f"{name}.xlsx")


def file_stamp(span: Span) -> str:
    """The span in a file name: 20261101-20261201 (local days)."""
    first, last = local(span.start_ms), local(span.end_ms)
    return f"{first:%Y%m%d}-{last:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class Span:
    start_ms: int
    end_ms: int


def parse_span(start: str | None, end: str | None, now_ms: int | None = None) -> Span:
    """[start, end): by default this month so far; a start alone runs up to now, an end alone
    from the start of its month."""
    now = utc_now_ms() if now_ms is None else now_ms
    end_ms = parse_instant(end, "end") if end else now
    start_ms = parse_instant(start, "start") if start else month_start(max(end_ms - 1, 0))
    for name, value in (("start", start_ms), ("end", end_ms)):
        if not FIRST_INSTANT_MS <= value <= LAST_INSTANT_MS:
            raise ValidationError(
                f"{name} must lie between 1971 and 9997", code="kpi_span_invalid", field=name
            )
    if end_ms <= start_ms:
        raise ValidationError(
            "the span must end after it starts", code="kpi_span_invalid", field="end"
        )
    return Span(start_ms, end_ms)


def check_span_length(span: Span, grain: Grain | None) -> None:
    """The longest span a table answers at ``grain`` (as the KPI service counts it)."""
    longest = MAX_SPAN_DAYS[grain]
    if span.end_ms - span.start_ms > longest * DAY_MS:
        raise ValidationError(
            f"a table by {grain or 'span'} covers at most {longest} days",
            code="kpi_span_too_long",
            field="end",
        )


def parse_level(text: str) -> Level:
    for level in LEVELS:
        if text.strip() == level:
            return level
    raise ValidationError(
        f"level must be one of {', '.join(LEVELS)}; got {text[:40]!r}",
        code="kpi_level_unknown",
        field="level",
    )


def parse_grain(text: str | None) -> Grain | None:
    if text is None or not text.strip():
        return None
    for grain in GRAINS:
        if text.strip() == grain:
            return grain
    raise ValidationError(
        f"grain must be one of {', '.join(GRAINS)}, or left out; got {text[:40]!r}",
        code="kpi_grain_unknown",
        field="grain",
    )


def parse_kpi_names(text: str | None) -> tuple[str, ...] | None:
    """Comma-separated KPI names; None (every KPI that means something at the level) if empty."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        return None
    if len(names) > MAX_KPI_NAMES or any(len(n) > MAX_KPI_NAME_LENGTH for n in names):
        raise ValidationError(
            f"kpi takes at most {MAX_KPI_NAMES} names of at most {MAX_KPI_NAME_LENGTH} characters",
            code="unknown_kpi",
            field="kpi",
        )
    return names


@dataclass(frozen=True, slots=True)
class TableScope:
    """What a caller's table sums: these enterprises' machines (None: every enterprise's),
    only those under ``within`` when given."""

    enterprises: frozenset[int] | None
    within: tuple[Level, int] | None


def table_scope(
    registry: Registry,
    access: Access,
    level: Level,
    *,
    enterprise: int | None = None,
    park: int | None = None,
    line: int | None = None,
    device: int | None = None,
) -> TableScope:
    """The scope of a table at ``level`` for the caller, narrowed to one enterprise and to at
    most one of a park, a line or a machine. Objects the caller may not know of, or that do not
    exist, are 404; levels and objects it may not see summed are 403 (``kpi_enterprises``)."""
    narrowed = [n for n, v in (("park", park), ("line", line), ("device", device)) if v is not None]
    if len(narrowed) > 1 or any(v is not None and v <= 0 for v in (park, line, device)):
        raise ValidationError(
            "narrow a table to one park, one line or one machine (a positive id), not several",
            code="kpi_scope_conflict",
            field=narrowed[-1] if narrowed else "park",
        )
    within: tuple[Level, int] | None = None
    owner = enterprise
    if device is not None:
        owner = _device_enterprise(registry, access, device, enterprise)
        within = ("device", device)
    elif line is not None:
        owner = _line_enterprise(registry, access, line, enterprise)
        within = ("line", line)
    elif park is not None:
        registry.get_park(park)  # NotFoundError when there is none
        within = ("park", park)
    if owner is not None:
        if not access.can_see_enterprise(owner):
            raise NotFoundError("no such enterprise", code="not_found")
        registry.get_enterprise(owner)
    finest = LEVELS[min(LEVELS.index(level), LEVELS.index(within[0]) if within else 99)]
    enterprises = kpi_enterprises(registry, access, finest, owner)
    return TableScope(enterprises, within)


def _device_enterprise(
    registry: Registry, access: Access, device_id: int, enterprise: int | None
) -> int:
    ref = registry.get_device_ref(device_id)
    if (
        ref is None
        or not access.can_see_enterprise(ref.enterprise_id)
        or (enterprise is not None and ref.enterprise_id != enterprise)
    ):
        raise NotFoundError("no such device", code="not_found")
    return ref.enterprise_id


def _line_enterprise(
    registry: Registry, access: Access, line_id: int, enterprise: int | None
) -> int:
    gone = NotFoundError("no such line", code="not_found")
    try:
        asset = registry.get_asset(line_id)
    except NotFoundError:
        raise gone from None
    if (
        asset.level is not AssetLevel.LINE
        or not access.can_see_enterprise(asset.enterprise_id)
        or (enterprise is not None and asset.enterprise_id != enterprise)
    ):
        raise gone
    return asset.enterprise_id
