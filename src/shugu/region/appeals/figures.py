"""How the bureau handles appeals, in figures (decision 0038): per category and per department,
the time to the first answer and to closing (median and 90th percentile, in hours), how many
are open, how many are overdue, and the enterprises' ratings.

The 90th percentile is the nearest rank: the smallest time that at least 90 % of the appeals
took no longer than, so it is always a time some appeal really took. An open appeal is overdue
when it has waited longer than its category allows for a first answer (none yet) or for closing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shugu.region.appeals.catalogue import AppealCatalogue
from shugu.store.registry.region_appeals import AppealRecord

#: The department key of appeals not assigned yet.
UNASSIGNED = ""


@dataclass(frozen=True, slots=True)
class Times:
    count: int
    median_h: float | None
    p90_h: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    key: str
    appeals: int
    open: int
    overdue: int
    first_answer: Times
    closing: Times
    rating_avg: float | None
    ratings: int


def nearest_rank(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def times(hours: Iterable[float]) -> Times:
    values = list(hours)
    if not values:
        return Times(0, None, None)
    return Times(
        len(values), round(statistics.median(values), 2), round(nearest_rank(values, 0.9), 2)
    )


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def is_overdue(appeal: AppealRecord, catalogue: AppealCatalogue, now: datetime) -> bool:
    if appeal.status == "closed":
        return False
    category = catalogue.category(appeal.category)
    waited = now - appeal.filed_at
    if appeal.first_answer_at is None and waited > timedelta(days=category.answer_days):
        return True
    return waited > timedelta(days=category.close_days)


def figures_of(
    key: str, appeals: Sequence[AppealRecord], catalogue: AppealCatalogue, now: datetime
) -> Figures:
    ratings = [a.rating for a in appeals if a.rating is not None]
    return Figures(
        key=key,
        appeals=len(appeals),
        open=sum(1 for a in appeals if a.status != "closed"),
        overdue=sum(1 for a in appeals if is_overdue(a, catalogue, now)),
        first_answer=times(
            _hours(a.first_answer_at, a.filed_at) for a in appeals if a.first_answer_at
        ),
        closing=times(_hours(a.closed_at, a.filed_at) for a in appeals if a.closed_at),
        rating_avg=round(statistics.fmean(ratings), 2) if ratings else None,
        ratings=len(ratings),
    )


def grouped(
    appeals: Sequence[AppealRecord],
    key: Callable[[AppealRecord], str],
    order: Sequence[str],
    catalogue: AppealCatalogue,
    now: datetime,
) -> list[Figures]:
    """Figures per group in ``order`` (groups without appeals included), then any other."""
    groups: dict[str, list[AppealRecord]] = {k: [] for k in order}
    for appeal in appeals:
        groups.setdefault(key(appeal), []).append(appeal)
    return [figures_of(k, members, catalogue, now) for k, members in groups.items()]


@dataclass(frozen=True, slots=True)
class AppealFigures:
    total: Figures
    by_category: list[Figures]
    by_department: list[Figures]


def appeal_figures(
    appeals: Sequence[AppealRecord], catalogue: AppealCatalogue, now: datetime
) -> AppealFigures:
    return AppealFigures(
        total=figures_of("", appeals, catalogue, now),
        by_category=grouped(
            appeals, lambda a: a.category, [c.key for c in catalogue.categories], catalogue, now
        ),
        by_department=grouped(
            appeals,
            lambda a: a.department or UNASSIGNED,
            [d.key for d in catalogue.departments],
            catalogue,
            now,
        ),
    )
