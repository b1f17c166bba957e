"""Shared capacity (统一调配产能), the pure part: a weaving enterprise's idle loom capacity for the
coming days, and the ranking of what enterprises published against a request for fabric.

Idle capacity is counted per group of looms of one type and width class and per coming day (China
time): the shift calendar's planned loom-hours times the share of time the loom has recently spent
*not* allocated to an order (a loom waiting for an order now counts fully idle on the first day).
It is also given as effective loom-hours (× the loom's recent efficiency while it had an order)
and as picks the effective hours insert at each loom's rated speed, so that metres follow for
any weft density:

    metres per effective loom-hour = rpm × 60 / (picks per cm × 100)

A group keeps only sums; nothing here names a device, so what an enterprise publishes is the
groups and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Final, Literal

from shugu.domain.timeutil import CHINA_OFFSET_MS, CHINA_TZ

LoomType = Literal["air_jet", "rapier", "water_jet"]
LOOM_TYPES: Final[tuple[LoomType, ...]] = ("air_jet", "rapier", "water_jet")
#: The loom profile's stop cause "waiting for an order" (待单, ``domain/profiles/loom.yaml``).
NO_ORDER_CAUSE: Final = 4
#: Looms are grouped by width floored to this step: nominal reed widths are whole tens of cm.
WIDTH_STEP_CM: Final = 10
#: How far ahead capacity is counted and published.
MAX_DAYS: Final = 14
DAY_MS: Final = 86_400_000
HOURS_PER_DAY: Final = 24.0
_EPOCH: Final = date(1970, 1, 1)

#: How much each part weighs in an offer's score (they add up to 1).
WEIGHTS: Final[Mapping[str, float]] = {"cover": 0.5, "efficiency": 0.3, "fit": 0.2}


@dataclass(frozen=True, slots=True)
class LoomStatus:
    """One loom as the analytics engine sees it now (never published as such)."""

    device_id: int
    #: The device's client attribute ``loom_type``; None where it did not say.
    loom_type: LoomType | None
    #: Client attribute ``width_cm``: the loom's nominal (reed) width.
    width_cm: float | None
    #: Client attribute ``rated_speed_rpm``: picks per minute at full speed.
    rated_speed_rpm: float | None
    running: bool
    #: The stop cause now (the loom profile's codes), None while running or unknown.
    stop_cause: int | None
    #: running / (running + stopped) over the last 7 days, 0–1; None without data.
    efficiency: float | None
    #: Share of the last 7 days not waiting for an order, 0–1; None without data.
    allocation: float | None

    @property
    def waiting_for_order(self) -> bool:
        return not self.running and self.stop_cause == NO_ORDER_CAUSE

    @property
    def working_efficiency(self) -> float | None:
        """How well the loom ran while it had an order: running / (running + stopped − waiting
        for an order) = efficiency / allocation, both over the same 7 days. Idle hours are
        hours *with* an order once offered, so time spent waiting for one must not count
        against them. None when unknown, or when the loom had no order at all."""
        efficiency, allocation = _share(self.efficiency), _share(self.allocation)
        if efficiency is None:
            return None
        if allocation is None:
            return efficiency
        return min(1.0, efficiency / allocation) if allocation > 0 else None


def width_class(width_cm: float | None) -> int | None:
    """The width group of a loom: its width floored to ``WIDTH_STEP_CM`` (None: unknown)."""
    if width_cm is None or not math.isfinite(width_cm) or width_cm <= 0:
        return None
    return int(width_cm // WIDTH_STEP_CM) * WIDTH_STEP_CM


def picks_per_metre(picks_per_cm: float) -> float:
    return picks_per_cm * 100.0


def metres_per_effective_hour(rated_speed_rpm: float, picks_per_cm: float) -> float:
    """Fabric one loom weaves in an hour of running at its rated speed."""
    return rated_speed_rpm * 60.0 / picks_per_metre(picks_per_cm)


def first_day(now_ms: int) -> date:
    """The first coming day: tomorrow in China time (today's remaining hours are not offered)."""
    today = _EPOCH + timedelta(days=(now_ms + CHINA_OFFSET_MS) // DAY_MS)
    return today + timedelta(days=1)


def today(now_ms: int) -> date:
    return first_day(now_ms) - timedelta(days=1)


def day_start_ms(day: date) -> int:
    """Midnight of ``day`` in China time, in ms since 1970."""
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class CapacityCell:
    """The idle capacity of one group of looms (type, width class) on one day."""

    loom_type: LoomType | None
    width_class_cm: int | None
    day: date
    loom_hours: float
    #: Loom-hours × the looms' recent efficiency: the hours they would actually run.
    effective_hours: float
    #: Picks the effective hours insert at each loom's rated speed (looms without one add none).
    picks: float

    @property
    def efficiency(self) -> float | None:
        return self.effective_hours / self.loom_hours if self.loom_hours > 0 else None

    def metres(self, picks_per_cm: float) -> float:
        """Fabric of ``picks_per_cm`` weft density these hours weave."""
        return self.picks / picks_per_metre(picks_per_cm)

    def scaled(self, share: float) -> CapacityCell:
        return replace(
            self,
            loom_hours=self.loom_hours * share,
            effective_hours=self.effective_hours * share,
            picks=self.picks * share,
        )


@dataclass(frozen=True, slots=True)
class IdleCapacity:
    """An enterprise's idle capacity: one cell per group and day, and what it is counted from."""

    days: tuple[date, ...]
    cells: tuple[CapacityCell, ...]
    looms: int
    waiting_now: int
    #: Looms whose attribute is missing, by attribute: they land in an "unknown" group
    #: (type, width) or add hours but no metres (speed).
    lacking: Mapping[str, int]

    def held_back(self, share: float) -> IdleCapacity:
        """The capacity with ``share`` of every cell kept back (not offered)."""
        keep = 1.0 - share
        return replace(self, cells=tuple(c.scaled(keep) for c in self.cells))

    def totals(self) -> tuple[float, float, float]:
        """Loom-hours, effective hours and picks over every cell."""
        return (
            sum(c.loom_hours for c in self.cells),
            sum(c.effective_hours for c in self.cells),
            sum(c.picks for c in self.cells),
        )


def _share(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, value))


def _hours(value: float) -> float:
    return min(HOURS_PER_DAY, max(0.0, value)) if math.isfinite(value) else 0.0


def _speed(loom: LoomStatus) -> float:
    rpm = loom.rated_speed_rpm
    return rpm if rpm is not None and math.isfinite(rpm) and rpm > 0 else 0.0


def idle_capacity(
    looms: Sequence[LoomStatus], planned_hours: Sequence[float], start: date
) -> IdleCapacity:
    """Idle capacity of ``looms`` on the days from ``start``, one per entry of ``planned_hours``
    (each loom's planned production hours that day, from the enterprise's shift calendar).

    Effective hours use each loom's efficiency while it had an order
    (``LoomStatus.working_efficiency``). A loom without a recent allocation is counted as fully
    allocated (nothing is offered that the record does not show free), unless it waits for an
    order now. A loom without a working efficiency takes the mean of the enterprise's looms that
    have one (none: it adds no effective hours).
    """
    days = tuple(start + timedelta(days=i) for i in range(len(planned_hours)))
    known = [e for e in (loom.working_efficiency for loom in looms) if e is not None]
    fallback_efficiency = sum(known) / len(known) if known else 0.0
    sums: dict[tuple[LoomType | None, int | None, int], list[float]] = {}
    for loom in looms:
        allocation = _share(loom.allocation)
        idle_share = 1.0 - allocation if allocation is not None else 0.0
        efficiency = loom.working_efficiency
        efficiency = fallback_efficiency if efficiency is None else efficiency
        rpm = _speed(loom)
        group = (loom.loom_type, width_class(loom.width_cm))
        for index, planned in enumerate(planned_hours):
            share = 1.0 if index == 0 and loom.waiting_for_order else idle_share
            hours = _hours(planned) * share
            cell = sums.setdefault((*group, index), [0.0, 0.0, 0.0])
            cell[0] += hours
            cell[1] += hours * efficiency
            cell[2] += hours * efficiency * rpm * 60.0
    cells = tuple(
        CapacityCell(loom_type, width, days[index], *values)
        for (loom_type, width, index), values in sorted(sums.items(), key=_cell_order)
    )
    lacking = {
        "loom_type": sum(1 for loom in looms if loom.loom_type is None),
        "width_cm": sum(1 for loom in looms if width_class(loom.width_cm) is None),
        "rated_speed_rpm": sum(1 for loom in looms if _speed(loom) == 0.0),
    }
    return IdleCapacity(
        days=days,
        cells=cells,
        looms=len(looms),
        waiting_now=sum(1 for loom in looms if loom.waiting_for_order),
        lacking=lacking,
    )


def _cell_order(
    item: tuple[tuple[LoomType | None, int | None, int], list[float]],
) -> tuple[str, int, int]:
    (loom_type, width, index), _ = item
    return (loom_type or "~", width if width is not None else -1, index)


# -- ranking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapacityNeed:
    """What a request asks for."""

    loom_type: LoomType | None
    min_width_cm: float
    picks_per_cm: float
    metres: float
    #: The day the fabric is due: capacity on the days before it counts.
    deadline: date


@dataclass(frozen=True, slots=True)
class Offer:
    """What one enterprise published."""

    offer_id: int
    enterprise_id: int
    cells: Sequence[CapacityCell]


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One part of an offer's score: its value (0–1), its weight, and the points it gives."""

    name: str
    value: float
    weight: float

    @property
    def points(self) -> float:
        return 100.0 * self.value * self.weight


@dataclass(frozen=True, slots=True)
class RankedOffer:
    offer_id: int
    enterprise_id: int
    #: 0–100: the sum of the parts' points.
    score: float
    parts: tuple[ScorePart, ...]
    #: Metres of the requested fabric the fitting looms weave before the deadline.
    metres: float
    loom_hours: float
    effective_hours: float
    efficiency: float | None
    #: The fitting groups, (loom type, width class), and the days counted.
    groups: tuple[tuple[LoomType | None, int | None], ...]
    days: tuple[date, ...]


#: Why an offer is not ranked, in the order they are tested.
EXCLUSIONS: Final = ("loom_type", "width", "deadline")


@dataclass(frozen=True, slots=True)
class Ranking:
    offers: tuple[RankedOffer, ...]
    #: Offers left out, by reason (``EXCLUSIONS``).
    excluded: Mapping[str, int]


def type_fits(need: CapacityNeed, cell: CapacityCell) -> bool:
    return need.loom_type is None or cell.loom_type == need.loom_type


def width_fits(need: CapacityNeed, cell: CapacityCell) -> bool:
    return cell.width_class_cm is not None and cell.width_class_cm >= need.min_width_cm


def _in_window(cell: CapacityCell, start: date, deadline: date) -> bool:
    return start <= cell.day < deadline


def rank_offer(need: CapacityNeed, offer: Offer, start: date) -> RankedOffer | str:
    """The offer's score for ``need``, counting capacity from ``start`` (the first coming day)
    to the day before the deadline; or why it does not fit (one of ``EXCLUSIONS``)."""
    typed = [c for c in offer.cells if type_fits(need, c)]
    if not typed:
        return "loom_type"
    fitting = [c for c in typed if width_fits(need, c)]
    if not fitting:
        return "width"
    usable = [c for c in fitting if _in_window(c, start, need.deadline) and c.loom_hours > 0]
    picks = sum(c.picks for c in usable)
    if not usable or picks <= 0:
        return "deadline"
    metres = picks / picks_per_metre(need.picks_per_cm)
    loom_hours = sum(c.loom_hours for c in usable)
    effective = sum(c.effective_hours for c in usable)
    efficiency = effective / loom_hours if loom_hours > 0 else None
    # Fit: the narrower the loom for the width asked, the better (a wide loom weaving narrow
    # fabric wastes reed width), weighed by what each group contributes.
    fit = sum(need.min_width_cm / (c.width_class_cm or 1) * c.picks for c in usable) / picks
    parts = (
        ScorePart("cover", min(1.0, metres / need.metres), WEIGHTS["cover"]),
        ScorePart("efficiency", efficiency or 0.0, WEIGHTS["efficiency"]),
        ScorePart("fit", min(1.0, fit), WEIGHTS["fit"]),
    )
    groups = tuple(dict.fromkeys((c.loom_type, c.width_class_cm) for c in usable))
    return RankedOffer(
        offer_id=offer.offer_id,
        enterprise_id=offer.enterprise_id,
        score=sum(p.points for p in parts),
        parts=parts,
        metres=metres,
        loom_hours=loom_hours,
        effective_hours=effective,
        efficiency=efficiency,
        groups=groups,
        days=tuple(sorted({c.day for c in usable})),
    )


def rank_offers(need: CapacityNeed, offers: Iterable[Offer], start: date) -> Ranking:
    """Every offer that fits, best first (score, then metres, then the older offer)."""
    ranked: list[RankedOffer] = []
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    for offer in offers:
        outcome = rank_offer(need, offer, start)
        if isinstance(outcome, str):
            excluded[outcome] += 1
        else:
            ranked.append(outcome)
    ranked.sort(key=lambda r: (-round(r.score, 9), -r.metres, r.offer_id))
    return Ranking(tuple(ranked), excluded)


# -- the board -------------------------------------------------------------------------------


def board_cells(published: Iterable[Sequence[CapacityCell]], start: date) -> list[CapacityCell]:
    """What several enterprises published, summed per group and day from ``start`` on."""
    sums: dict[tuple[LoomType | None, int | None, date], list[float]] = {}
    for cells in published:
        for cell in cells:
            if cell.day < start:
                continue
            values = sums.setdefault((cell.loom_type, cell.width_class_cm, cell.day), [0, 0, 0])
            values[0] += cell.loom_hours
            values[1] += cell.effective_hours
            values[2] += cell.picks
    return [
        CapacityCell(loom_type, width, day, *values)
        for (loom_type, width, day), values in sorted(
            sums.items(),
            key=lambda kv: (kv[0][0] or "~", kv[0][1] if kv[0][1] is not None else -1, kv[0][2]),
        )
    ]
