"""Addresses the KPI pages link to: the same page with another period, profile or sort, another
KPI page, and each table's XLSX export from the KPI API (the same figures, the same scope)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from shugu.analytics.model import Grain, Level
from shugu.web.kpi_periods import CUSTOM, Span


@dataclass(frozen=True, slots=True)
class PageState:
    """What a KPI page was asked for, to link to it again with one thing changed."""

    path: str
    period: str
    start: str = ""
    end: str = ""
    profile: str = ""
    sort: str = ""
    order: str = ""

    def _query(self) -> dict[str, str]:
        pairs = {
            "period": self.period,
            "start": self.start if self.period == CUSTOM else "",
            "end": self.end if self.period == CUSTOM else "",
            "profile": self.profile,
            "sort": self.sort,
            "order": self.order,
        }
        return {k: v for k, v in pairs.items() if v}

    def url(self, **changes: str) -> str:
        query = replace(self, **changes)._query() if changes else self._query()
        return self.path + ("?" + urlencode(query) if query else "")

    def elsewhere(self, path: str, profile: str = "") -> str:
        """Another KPI page over the same period (its own sort; the profile given)."""
        return replace(self, path=path, profile=profile, sort="", order="").url()

    def sorted_by(self, column: str, current: str, order: str, first_order: str) -> str:
        """This page sorted by ``column``: the other way round when it already is."""
        if column == current:
            return self.url(sort=column, order="desc" if order == "asc" else "asc")
        return self.url(sort=column, order=first_order)


def _span_params(span: Span) -> dict[str, str]:
    return {"start": str(span.start_ms), "end": str(span.end_ms)}


def table_xlsx(
    profile: str,
    level: Level,
    span: Span,
    *,
    enterprise: int | None = None,
    within: tuple[Level, int] | None = None,
    grain: Grain | None = None,
    compare: bool = False,
) -> str:
    """The KPI table's export (``GET /api/kpis``): one row per group, and per period with a
    grain; with ``compare``, each group against the period before and a year earlier
    (``GET /api/kpis/compare``)."""
    query = {"profile": profile, "level": level, **_span_params(span)}
    if grain is not None:
        query["grain"] = grain
    if enterprise is not None:
        query["enterprise"] = str(enterprise)
    if within is not None:
        # The API narrows to one line or machine by its own parameter of that name.
        query[within[0]] = str(within[1])
    query["format"] = "xlsx"
    return ("/api/kpis/compare?" if compare else "/api/kpis?") + urlencode(query)


def league_xlsx(profile: str, kpi: str, level: Level, span: Span) -> str:
    """The league table's export (``GET /api/kpis/league``): every ranked group, best first."""
    query = {"profile": profile, "kpi": kpi, "level": level, **_span_params(span)}
    query["format"] = "xlsx"
    return "/api/kpis/league?" + urlencode(query)
