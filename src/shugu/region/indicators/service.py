"""The indicator service: the register, values, targets and the board, with who may do what.

Reading is for those who see the district's figures: the bureau, park officials and the platform
operator (whose wall display shows the targets too); enterprise accounts are refused. Changing
the register, entering values and setting targets is the bureau's alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shugu.analytics.service import Analytics
from shugu.domain.errors import ConflictError, ForbiddenError
from shugu.domain.tenancy import Access, Role
from shugu.domain.timeutil import utc_now_ms
from shugu.region.indicators.board import Board, build_board, trend_range
from shugu.region.indicators.computations import Sources
from shugu.region.indicators.definitions import (
    CODE_PATTERN,
    parse_indicator,
    parse_target,
    parse_value,
    shipped_register,
    shipped_targets,
)
from shugu.region.indicators.figures import Figure, FigureBook, stored_figure
from shugu.region.indicators.periods import PeriodKey, month_of, parse_period, parse_year
from shugu.region.indicators.sheets_io import (
    export_board,
    import_values,
    values_template,
)
from shugu.region.sheets import ImportReport, Lang
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.region_indicators import (
    IndicatorRecord,
    IndicatorValueRecord,
    TargetRecord,
)
from shugu.store.telemetry import TelemetryStore

SEED_BY = "shugu"


def may_read(access: Access) -> bool:
    return access.is_bureau() or access.role is Role.PARK_OFFICIAL or access.can_read_aggregates()


def require_reader(access: Access) -> None:
    if not may_read(access):
        raise ForbiddenError(
            "indicators and targets are for the bureau, park officials and the operator",
            code="forbidden",
        )


def require_bureau(access: Access) -> None:
    require_reader(access)
    if not access.is_bureau():
        raise ForbiddenError(
            "only the district bureau changes indicators, their values and targets",
            code="indicator_bureau_only",
        )


class IndicatorService:
    def __init__(
        self,
        registry: Registry,
        store: TelemetryStore,
        analytics: Analytics,
        *,
        clock: Callable[[], int] = utc_now_ms,
    ) -> None:
        self.registry = registry
        self.book = FigureBook(Sources(registry, store, analytics), clock)
        self._seeded = False
        self._seed_lock = threading.Lock()

    # -- the register --------------------------------------------------------------------

    def ensure_seeded(self) -> None:
        """The shipped register and targets, added where the registry lacks them (once a
        process; what the bureau changed is kept)."""
        if self._seeded:
            return
        with self._seed_lock:
            if self._seeded:
                return
            self.registry.add_missing_indicators(shipped_register(), SEED_BY)
            by_code = {i.code: i for i in self.registry.list_indicators(retired=True)}
            years = {t.year for t in shipped_targets()}
            have = {
                (t.indicator_id, t.year) for y in years for t in self.registry.targets_of_year(y)
            }
            for shipped in shipped_targets():
                indicator = by_code[shipped.code]
                if (indicator.id, shipped.year) in have:
                    continue
                self.registry.put_target(
                    indicator.id,
                    shipped.year,
                    shipped.target.target,
                    shipped.target.baseline,
                    by=SEED_BY,
                    note=shipped.target.note,
                )
            self._seeded = True

    def register(self, access: Access, *, retired: bool = False) -> list[IndicatorRecord]:
        require_reader(access)
        self.ensure_seeded()
        return self.registry.list_indicators(retired=retired)

    def indicator(self, access: Access, code: str) -> IndicatorRecord:
        require_reader(access)
        self.ensure_seeded()
        # A code no indicator can have (a lone surrogate, say) is not looked up at all.
        found = (
            self.registry.indicator_by_code(code)
            if isinstance(code, str) and CODE_PATTERN.fullmatch(code)
            else None
        )
        if found is None:
            raise missing("indicator", field="code")
        return found

    def define(self, access: Access, body: object) -> tuple[IndicatorRecord, bool]:
        """Create an indicator or replace its definition (keyed by its code)."""
        require_bureau(access)
        self.ensure_seeded()
        last = max((i.position for i in self.registry.list_indicators(retired=True)), default=0)
        spec = parse_indicator(body, position=last + 10)
        known = self.registry.indicator_by_code(spec.code)
        if known is not None and known.source != spec.source:
            raise ConflictError(
                "an indicator keeps its source: define a new code for the other source",
                code="indicator_source_fixed",
                field="source",
            )
        saved = self.registry.save_indicator(spec, access.principal.username)
        self.book.forget()
        return saved

    def retire(self, access: Access, code: str, *, active: bool = False) -> IndicatorRecord:
        require_bureau(access)
        known = self.indicator(access, code)
        return self.registry.set_indicator_active(known.code, active, access.principal.username)

    # -- values --------------------------------------------------------------------------

    def values(
        self, access: Access, code: str, first: str | None = None, last: str | None = None
    ) -> list[Figure]:
        """The indicator's stored values between two periods (the last 24 months by
        default), and for a computed one, the live figure of the current month."""
        indicator = self.indicator(access, code)
        now = month_of(self.book.now_ms())
        lo = parse_period(first, "from") if first is not None else _months_back(now, 23)
        hi = parse_period(last, "to") if last is not None else now
        self.book.snapshot_due(self.registry.list_indicators())
        stored = self.registry.indicator_values([indicator.id], lo.text, hi.text)
        figures = [stored_figure(v) for v in stored]
        if indicator.computation is not None and lo <= now <= hi:
            live = self.book.figure(indicator, now, {})
            if live.value is not None:
                figures.append(live)
        return figures

    def put_value(
        self, access: Access, code: str, period: str, body: object
    ) -> tuple[IndicatorValueRecord, bool]:
        """A reported indicator's figure for a month or a year, entered by the bureau."""
        require_bureau(access)
        indicator = self.indicator(access, code)
        key = parse_period(period)
        value = parse_value(body)
        _reported(indicator)
        return self.registry.put_indicator_value(
            indicator.id,
            key.text,
            value.value,
            kind="reported",
            by=access.principal.username,
            note=value.note,
        )

    def delete_value(self, access: Access, code: str, period: str) -> None:
        require_bureau(access)
        indicator = self.indicator(access, code)
        key = parse_period(period)
        _reported(indicator)
        if not self.registry.delete_indicator_value(indicator.id, key.text):
            raise missing("value", field="period")

    def snapshot(self, access: Access, period: str, *, replace: bool = False) -> int:
        """Snapshot an ended month's computed figures now (the bureau, say after correcting
        the registry); how many were taken."""
        require_bureau(access)
        key = parse_period(period)
        if key.month is None or key.end_ms > self.book.now_ms():
            raise ConflictError(
                "only a month that has ended is snapshotted",
                code="indicator_snapshot_not_ended",
                field="period",
            )
        self.ensure_seeded()
        return self.book.snapshot_month(self.registry.list_indicators(), key, replace=replace)

    def values_template(self, access: Access, lang: Lang) -> bytes:
        """The XLSX template for reported values, its drop-down listing them."""
        return values_template(self.register(access), lang)

    def import_values(self, access: Access, data: bytes) -> ImportReport:
        """Reported values from an uploaded XLSX: every good row kept, every bad one reported
        by row number and reason; a re-import of the same file changes nothing."""
        require_bureau(access)
        return import_values(self.registry, self.register(access), data, access.principal.username)

    # -- targets -------------------------------------------------------------------------

    def targets(self, access: Access, year: object) -> list[tuple[IndicatorRecord, TargetRecord]]:
        require_reader(access)
        self.ensure_seeded()
        by_id = {i.id: i for i in self.registry.list_indicators()}
        return [
            (by_id[t.indicator_id], t)
            for t in self.registry.targets_of_year(parse_year(year))
            if t.indicator_id in by_id
        ]

    def put_target(
        self, access: Access, code: str, year: object, body: object
    ) -> tuple[TargetRecord, bool]:
        require_bureau(access)
        indicator = self.indicator(access, code)
        when = parse_year(year)
        target = parse_target(body)
        return self.registry.put_target(
            indicator.id,
            when,
            target.target,
            target.baseline,
            by=access.principal.username,
            note=target.note,
        )

    def delete_target(self, access: Access, code: str, year: object) -> None:
        require_bureau(access)
        indicator = self.indicator(access, code)
        if not self.registry.delete_target(indicator.id, parse_year(year)):
            raise missing("target", field="year")

    def target_years(self, access: Access) -> list[int]:
        require_reader(access)
        self.ensure_seeded()
        years = set(self.registry.target_years())
        years.add(month_of(self.book.now_ms()).year)
        return sorted(years)

    # -- the board -----------------------------------------------------------------------

    def board(self, access: Access, year: object | None = None) -> Board:
        """Targets against actuals for the year (this year by default), every active
        indicator: those with a target first, in the register's order."""
        require_reader(access)
        self.ensure_seeded()
        when = month_of(self.book.now_ms()).year if year is None else parse_year(year)
        indicators = self.registry.list_indicators()
        self.book.snapshot_due(indicators)
        targets = self.registry.targets_of_year(when)
        first, last = trend_range(when, self.book.now_ms())
        values = self.registry.indicator_values([i.id for i in indicators], first, last)
        with_target = {t.indicator_id for t in targets}
        ordered = sorted(indicators, key=lambda i: (i.id not in with_target, i.position, i.id))
        return build_board(self.book, when, ordered, targets, values)


def board_xlsx(board: Board, lang: Lang) -> bytes:
    return export_board(board, lang)


def _reported(indicator: IndicatorRecord) -> None:
    if indicator.computation is not None:
        raise ConflictError(
            "a computed indicator's values are worked out by shugu, not entered",
            code="indicator_computed",
            field="code",
        )


def _months_back(month: PeriodKey, count: int) -> PeriodKey:
    for _ in range(count):
        month = month.previous_month()
    return month
