"""Tables of the bureau's system: indicators (指标) with their values by period and yearly
targets.

An indicator is either computed by shugu from what the platform measures (its ``computation``
names a function of ``region/indicators/computations.py``) or reported (entered by the bureau,
or imported). A value row holds a reported figure or the month-end snapshot of a computed one;
live computed values are never stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, utc_now

INDICATOR_SOURCES = ("computed", "reported")
#: Which way is better: more enterprises on the platform, less energy per unit of output.
INDICATOR_DIRECTIONS = ("higher", "lower")
#: How a year's figure follows from its months: flows add up (revenue), stocks take the last
#: month (enterprises on the platform), rates average (a share).
INDICATOR_AGGREGATES = ("sum", "last", "mean")
#: A reported figure, or the month-end snapshot of a computed one.
VALUE_KINDS = ("reported", "snapshot")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Indicator(Base):
    """One entry of the indicator register (指标库)."""

    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint(_in("source", INDICATOR_SOURCES), name="source"),
        CheckConstraint(_in("direction", INDICATOR_DIRECTIONS), name="direction"),
        CheckConstraint(_in("aggregate", INDICATOR_AGGREGATES), name="aggregate"),
        CheckConstraint(
            "(source = 'computed' AND computation IS NOT NULL) OR "
            "(source = 'reported' AND computation IS NULL)",
            name="computation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    unit_zh: Mapped[str] = mapped_column(String(32))
    unit_en: Mapped[str] = mapped_column(String(32))
    definition_zh: Mapped[str] = mapped_column(Text, default="")
    definition_en: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    computation: Mapped[str | None] = mapped_column(String(64))
    aggregate: Mapped[str] = mapped_column(String(8))
    decimals: Mapped[int]
    position: Mapped[int]
    #: Retired indicators stay (their history and targets with them) but are not shown.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class IndicatorValue(Base):
    """An indicator's figure for one month (``2026-03``) or year (``2026``)."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period"),
        CheckConstraint(_in("kind", VALUE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(7))
    value: Mapped[float | None]
    kind: Mapped[str] = mapped_column(String(16))
    #: The figure's parts where it has some (by park, by category), as JSON.
    parts: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(default=utc_now)


class IndicatorTarget(Base):
    """What the district means to reach in a year, and where it started (the baseline)."""

    __tablename__ = "indicator_targets"
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int]
    target: Mapped[float]
    #: The figure the year starts from; progress is measured from it to the target.
    baseline: Mapped[float | None]
    note: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(default=utc_now)
