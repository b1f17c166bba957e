"""The bureau's pages: the region's wall display (区域总览) and its list of enterprises.

Both show the region overview (``monitor/region_overview.py``), scoped by the caller's
``Access``: counts for every enterprise, machine states only of enterprises that let the caller
read their machine values. The bureau and the platform operator open them; enterprise accounts
are refused (403), as ``/api/summary`` refuses them.

The wall display refreshes itself by polling: its figures and machine tiles are htmx fragments
fetched every ``REFRESH_S`` seconds, its charts one JSON document on the same beat
(``static/region.js``). Polling, not the live stream's alarm events, because most of what the
wall shows changes without any event: a device goes offline by staying silent, today's count
grows with every batch, a consent is granted elsewhere. One request per part every ten seconds
from the few wall displays of a district costs far less than what changes would have to be
pushed, and a display that lost its connection simply catches up on the next beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from shugu.domain.classification import NBS_CATEGORIES
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.region_overview import (
    EnterpriseOverview,
    Machine,
    MachineState,
    RegionOverview,
    region_overview,
)
from shugu.web.i18n import N_, Translator
from shugu.web.region_charts import STATE_LABELS, STATE_ORDER, wall_charts
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

NO_STORE: Final = {"cache-control": "no-store"}
#: Seconds between two refreshes of the wall display (its fragments and charts).
REFRESH_S: Final = 10
#: Tile widths (in columns of the machine panel) by an enterprise's number of machines: a
#: column holds about 15 cells a row and five rows at 1920×1080.
TILE_SPANS: Final = ((70, 1), (160, 2))
WIDEST_SPAN: Final = 3
#: Columns of tiles the panel holds at 1920×1080, in one row: the panel is as high as one tile
#: that shows its name, counts and five rows of cells (two rows would leave no room for the
#: cells); more rotate through pages.
PAGE_SPANS: Final = 5
#: Beyond this many machines a tile draws smaller cells; beyond MAX_CELLS it says how many more.
DENSE_AFTER: Final = 240
#: Up to this many machines a one-column tile draws large cells (three rows of nine).
LARGE_UP_TO: Final = 27
MAX_CELLS: Final = 640


def _overview(user: PageUser) -> RegionOverview:
    return region_overview(user.services.registry, user.services.store, user.access, utc_now_ms())


def big_number(value: int, tr: Translator) -> tuple[str, str]:
    """A count as a wall shows it: a short number and its unit, as each language groups digits
    (Chinese by 万 and 亿, English by thousands)."""
    if tr.lang == "zh-CN":
        steps = ((100_000_000, N_("hundred million")), (10_000, N_("ten thousand")))
    else:
        steps = ((1_000_000_000, N_("billion")), (1_000_000, N_("million")))
    for divisor, unit in steps:
        if value >= divisor:
            return f"{value / divisor:,.2f}", tr(unit)
    return f"{value:,}", ""


#: Legal-form endings a wall leaves out of a company's name (the list keeps the whole name).
LEGAL_FORMS: Final = ("股份有限公司", "有限责任公司", "有限公司")


def short_name(name: str) -> str:
    """A company's name without its legal form, as wall displays name firms: 长乐01号织造."""
    for ending in LEGAL_FORMS:
        if name.endswith(ending) and len(name) > len(ending) + 1:
            return name[: -len(ending)]
    return name


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


# -- the wall display -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tile:
    enterprise: EnterpriseOverview
    span: int
    #: Cell size: "large" where few machines leave room, "dense" where many need it.
    cells: str
    machines: list[Machine]
    hidden: int

    def count(self, state: MachineState | str) -> int:
        return sum(1 for m in self.enterprise.machines or () if m.state == state)


def tile_of(enterprise: EnterpriseOverview) -> Tile:
    machines = enterprise.machines or []
    span = next((s for limit, s in TILE_SPANS if len(machines) <= limit), WIDEST_SPAN)
    cells = (
        "dense" if len(machines) > DENSE_AFTER else "large" if len(machines) <= LARGE_UP_TO else ""
    )
    return Tile(
        enterprise,
        span,
        cells,
        machines[:MAX_CELLS],
        max(0, len(machines) - MAX_CELLS),
    )


def tile_pages(shared: list[EnterpriseOverview]) -> list[list[Tile]]:
    """The consenting enterprises' tiles, in order, cut into pages that fill the panel."""
    pages: list[list[Tile]] = []
    page: list[Tile] = []
    used = 0
    for enterprise in shared:
        tile = tile_of(enterprise)
        if page and used + tile.span > PAGE_SPANS:
            pages.append(page)
            page, used = [], 0
        page.append(tile)
        used += tile.span
    if page:
        pages.append(page)
    return pages


def _figures(overview: RegionOverview, tr: Translator) -> dict[str, Any]:
    points, points_unit = big_number(overview.points_today, tr)
    alarms = overview.alarms
    shared = overview.shared()
    return {
        "overview": overview,
        "alarms": alarms,
        "online_share": share(overview.online, overview.devices),
        "points": points,
        "points_unit": points_unit,
        "shared_count": len(shared),
        "refresh_s": REFRESH_S,
    }


def _machines(overview: RegionOverview, page: int) -> dict[str, Any]:
    shared = overview.shared()
    pages = tile_pages(shared)
    index = page % len(pages) if pages else 0
    private = [e for e in overview.enterprises if e.machines is None]
    return {
        "tiles": pages[index] if pages else [],
        "page": index,
        "pages": len(pages),
        "next_page": (index + 1) % len(pages) if pages else 0,
        "private_enterprises": len(private),
        "private_devices": sum(e.devices for e in private),
        "private_online": sum(e.online for e in private),
        "state_labels": STATE_LABELS,
        "short_name": short_name,
        "state_order": STATE_ORDER,
        "refresh_s": REFRESH_S,
    }


@router.get("/region")
def wall_page(request: Request, user: PageUserDep) -> Response:
    overview = _overview(user)
    context = _figures(overview, user.tr) | _machines(overview, 0) | {"oob": False}
    return render(request, user, "region/wall.html", context, headers=NO_STORE)


@router.get("/region/figures")
def wall_figures(request: Request, user: PageUserDep) -> Response:
    """The figures across the top of the wall, and (out of band) the time they are as of."""
    context = _figures(_overview(user), user.tr) | {"oob": True}
    return render(request, user, "region/_figures.html", context, headers=NO_STORE)


@router.get("/region/machines")
def wall_machines(
    request: Request,
    user: PageUserDep,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """One page of the consenting enterprises' machine tiles; it fetches the next in turn."""
    context = _machines(_overview(user), page)
    return render(request, user, "region/_machines.html", context, headers=NO_STORE)


@router.get("/region/charts.json")
def wall_charts_json(user: PageUserDep) -> Response:
    """Every chart of the wall as an ECharts option, by the name of its element."""
    return JSONResponse(wall_charts(_overview(user), user.tr), headers=NO_STORE)


# -- the enterprise list --------------------------------------------------------------------


def nbs_label(code: str | None) -> str:
    if not code:
        return "—"
    category = NBS_CATEGORIES.get(code)
    return f"{code} {category.name_zh}" if category else code


@router.get("/region/enterprises")
def enterprises_page(
    request: Request,
    user: PageUserDep,
    park: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    overview = _overview(user)
    rows = [e for e in overview.enterprises if park is None or e.enterprise.park_id == park]
    return render(
        request,
        user,
        "region/enterprises.html",
        {
            "overview": overview,
            "rows": rows,
            "park": park,
            "share": share,
            "nbs_label": nbs_label,
        },
    )
