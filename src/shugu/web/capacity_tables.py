"""The capacity board's tables in the user's language: the labels the pages show, and each table
as a sheet for its XLSX export (``domain/xlsx_book.py``), from the same service views the pages
render."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from shugu.analytics.capacity import CapacityCell
from shugu.analytics.capacity_service import Board, IdleView, MatchView, RequestView
from shugu.domain.xlsx_book import Cell, Sheet
from shugu.store.registry.capacity import CapacityRequestRecord, MatchCounts
from shugu.web.i18n import N_, Translator

LOOM_TYPE_LABELS: Final = {
    "air_jet": N_("Air-jet"),
    "rapier": N_("Rapier"),
    "water_jet": N_("Water-jet"),
}
ANY_TYPE: Final = N_("Any loom type")
UNKNOWN_TYPE: Final = N_("Type not stated")
UNKNOWN_WIDTH: Final = N_("Width not stated")
REQUEST_STATUS: Final = {"open": N_("Open for offers"), "closed": N_("Closed")}
MATCH_STATUS: Final = {
    "proposed": N_("Proposed"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "completed": N_("Completed"),
}
EVENT_KINDS: Final = {
    "proposed": N_("Proposed"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "outcome": N_("Outcome recorded"),
}
SIDES: Final = {"requester": N_("We asked"), "offerer": N_("We offer")}
SCORE_PARTS: Final = {
    "cover": N_("Capacity before the deadline"),
    "efficiency": N_("Recent efficiency"),
    "fit": N_("Width fit"),
}
EXCLUSIONS: Final = {
    "loom_type": N_("Other loom types only"),
    "width": N_("Looms too narrow"),
    "deadline": N_("No free capacity before the deadline"),
}
LACKING: Final = {
    "loom_type": N_("Looms without a loom type"),
    "width_cm": N_("Looms without a width"),
    "rated_speed_rpm": N_("Looms without a rated speed"),
}


def loom_type_label(loom_type: str | None, tr: Translator, *, request: bool = False) -> str:
    if loom_type is None:
        return tr(ANY_TYPE if request else UNKNOWN_TYPE)
    return tr(LOOM_TYPE_LABELS.get(loom_type, loom_type))


def width_label(width: int | None, tr: Translator) -> str:
    return tr(UNKNOWN_WIDTH) if width is None else tr("≥ {width} cm", width=width)


def _yes_no(value: bool | None, tr: Translator) -> str:
    if value is None:
        return ""
    return tr("On time") if value else tr("Late")


def _cell_rows(cells: Sequence[CapacityCell], density: float, tr: Translator) -> list[list[Cell]]:
    return [
        [
            loom_type_label(c.loom_type, tr),
            c.width_class_cm,
            c.day,
            round(c.loom_hours, 2),
            round(c.effective_hours, 2),
            round(c.metres(density), 1),
        ]
        for c in cells
    ]


def _cell_headers(density: float, tr: Translator) -> list[str]:
    return [
        tr("Loom type"),
        tr("Width class (cm)"),
        tr("Day"),
        tr("Idle loom-hours"),
        tr("Effective loom-hours"),
        tr("Metres at {density} picks/cm", density=f"{density:g}"),
    ]


def idle_sheet(enterprise: str, view: IdleView, density: float, tr: Translator) -> Sheet:
    capacity = view.capacity
    info = [
        f"{tr('Enterprise')}: {enterprise}",
        tr(
            "{looms} looms, {waiting} waiting for an order now",
            looms=capacity.looms,
            waiting=capacity.waiting_now,
        ),
        tr(
            "Days from {first}, China time",
            first=capacity.days[0].isoformat() if capacity.days else "",
        ),
    ]
    return Sheet(
        tr("Our idle capacity"),
        info,
        _cell_headers(density, tr),
        _cell_rows(capacity.cells, density, tr),
    )


def board_sheets(
    board: Board, density: float, counts: MatchCounts | None, tr: Translator
) -> list[Sheet]:
    note = tr("Published sums per loom type, width class and day; no machine is named.")
    sheets = [
        Sheet(
            tr("Published capacity"),
            [note],
            _cell_headers(density, tr),
            _cell_rows(board.totals, density, tr),
        ),
    ]
    rows: list[list[Cell]] = []
    for offer in board.offers:
        for row in _cell_rows(offer.cells, density, tr):
            rows.append([offer.enterprise_name, *row, offer.publication.refreshed_at])
    sheets.append(
        Sheet(
            tr("Offers by enterprise"),
            [note],
            [tr("Enterprise"), *_cell_headers(density, tr), tr("Updated at")],
            rows,
        )
    )
    if counts is not None:
        sheets.append(counts_sheet(counts, tr))
    return sheets


def counts_sheet(counts: MatchCounts, tr: Translator) -> Sheet:
    by_status: list[list[Cell]] = [
        [tr(label), counts.by_status.get(status, 0)] for status, label in MATCH_STATUS.items()
    ]
    rows: list[list[Cell]] = [
        [tr("Enterprises publishing"), counts.publications],
        [tr("Open requests"), counts.open_requests],
        *by_status,
        [tr("Metres delivered"), round(counts.delivered_m, 1)],
        [tr("Delivered on time"), counts.on_time],
        [tr("Delivered late"), counts.late],
    ]
    return Sheet(tr("Matches in the district"), [], [tr("Figure"), tr("Value")], rows)


def request_headers(tr: Translator) -> list[str]:
    return [
        tr("No."),
        tr("Fabric"),
        tr("Loom type"),
        tr("Minimum width (cm)"),
        tr("Weft density (picks/cm)"),
        tr("Metres"),
        tr("Deadline"),
        tr("State"),
        tr("Posted by"),
        tr("Posted at"),
    ]


def request_row(r: CapacityRequestRecord, tr: Translator) -> list[Cell]:
    return [
        r.id,
        r.fabric,
        loom_type_label(r.loom_type, tr, request=True),
        r.min_width_cm,
        r.picks_per_cm,
        r.metres,
        r.deadline,
        tr(REQUEST_STATUS.get(r.status, r.status)),
        r.created_by,
        r.created_at,
    ]


def requests_sheet(requests: Sequence[CapacityRequestRecord], tr: Translator) -> Sheet:
    return Sheet(
        tr("Our requests"), [], request_headers(tr), [request_row(r, tr) for r in requests]
    )


def matches_sheet(matches: Sequence[MatchView], tr: Translator) -> Sheet:
    headers = [
        tr("Match"),
        tr("Our side"),
        tr("Requester"),
        tr("Offerer"),
        tr("Fabric"),
        tr("Metres"),
        tr("Deadline"),
        tr("Score"),
        tr("State"),
        tr("Proposed at"),
        tr("Metres delivered"),
        tr("Delivery"),
    ]
    rows: list[list[Cell]] = []
    for view in matches:
        match = view.match
        score = match.ranking.get("score")
        rows.append(
            [
                match.id,
                tr(SIDES[view.side]) if view.side else "",
                view.requester_name,
                view.offerer_name,
                view.request.fabric,
                view.request.metres,
                view.request.deadline,
                score if isinstance(score, int | float) else None,
                tr(MATCH_STATUS.get(match.status, match.status)),
                match.proposed_at,
                match.delivered_m,
                _yes_no(match.on_time, tr),
            ]
        )
    return Sheet(tr("Matches"), [], headers, rows)


def offers_sheet(view: RequestView, tr: Translator) -> Sheet:
    r = view.request
    info = [
        f"{tr('Fabric')}: {r.fabric}",
        tr("{metres} m by {deadline}", metres=f"{r.metres:g}", deadline=r.deadline.isoformat()),
    ]
    headers = [
        tr("Rank"),
        tr("Enterprise"),
        tr("Score"),
        *(tr(label) for label in SCORE_PARTS.values()),
        tr("Metres before the deadline"),
        tr("Effective loom-hours"),
        tr("Days"),
    ]
    rows: list[list[Cell]] = []
    for rank, named in enumerate(view.offers, start=1):
        offer = named.offer
        points = {p.name: round(p.points, 1) for p in offer.parts}
        rows.append(
            [
                rank,
                named.enterprise_name,
                round(offer.score, 1),
                *(points.get(name) for name in SCORE_PARTS),
                round(offer.metres, 1),
                round(offer.effective_hours, 1),
                ", ".join(d.isoformat() for d in offer.days),
            ]
        )
    return Sheet(tr("Ranked offers"), info, headers, rows)
