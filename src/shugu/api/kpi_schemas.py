"""The JSON answers of the KPI and energy routes, and the body that fits an energy baseline.

Figures that are undefined (no planned time, no output, a division by zero) are ``null``,
never NaN, which JSON cannot carry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shugu.analytics.baseline import BaselineModel, MonthlySavings, SavingsFigures
from shugu.analytics.baseline_service import FittedBaseline
from shugu.analytics.energy import EnergyTable
from shugu.analytics.kpi_rows import Compared, Ranked, compared, finite, finite_list
from shugu.analytics.model import KpiSpec, ProfileKpis
from shugu.analytics.periods import Period
from shugu.analytics.query import Comparison, Group, KpiTable, League
from shugu.domain.timeutil import to_iso

Figure = float | None


class KpiOut(BaseModel):
    name: str
    unit: str
    label_zh: str
    label_en: str
    better: Literal["higher", "lower"] | None = Field(description="which way is good")
    up_to: str = Field(description="the coarsest level at which the KPI means something")
    quantity: bool = Field(description="a summed quantity (output, energy), not a ratio")

    @classmethod
    def of(cls, spec: KpiSpec) -> KpiOut:
        return cls(
            name=spec.name,
            unit=spec.unit,
            label_zh=spec.label_zh,
            label_en=spec.label_en,
            better=spec.better,
            up_to=spec.up_to,
            quantity=spec.quantity,
        )


class FactOut(BaseModel):
    name: str
    unit: str


class ProfileOut(BaseModel):
    profile: str
    label_zh: str
    label_en: str
    output_fact: str | None = Field(description="the fact energy per unit of output divides by")
    output_unit: str | None
    energy_fact: str | None
    is_meter: bool = Field(description="its energy stands for everything behind it")
    state_metric: str | None = Field(description="the state metric of the ISO 22400 time model")
    kpis: list[KpiOut]
    facts: list[FactOut]


class ProfilesAnswer(BaseModel):
    profiles: list[ProfileOut]


def profile_out(
    kpis: ProfileKpis, label_zh: str, label_en: str, output_unit: str | None, facts: list[FactOut]
) -> ProfileOut:
    return ProfileOut(
        profile=kpis.profile,
        label_zh=label_zh,
        label_en=label_en,
        output_fact=kpis.output_fact,
        output_unit=output_unit,
        energy_fact=kpis.energy_fact,
        is_meter=kpis.is_meter,
        state_metric=kpis.state_metric,
        kpis=[KpiOut.of(s) for s in kpis.kpis],
        facts=facts,
    )


class SpanOut(BaseModel):
    start: str = Field(description="ISO 8601, China time")
    end: str = Field(description="exclusive")
    start_ms: int
    end_ms: int

    @classmethod
    def of(cls, start_ms: int, end_ms: int) -> SpanOut:
        return cls(start=to_iso(start_ms), end=to_iso(end_ms), start_ms=start_ms, end_ms=end_ms)


class PeriodOut(SpanOut):
    label: str = Field(description="2026-12-05, 2026-W49, 2026-12, 12-05 08:00, or a shift")
    shift: str | None = None

    @classmethod
    def of_period(cls, period: Period) -> PeriodOut:
        return cls(
            start=to_iso(period.start_ms),
            end=to_iso(period.end_ms),
            start_ms=period.start_ms,
            end_ms=period.end_ms,
            label=period.label,
            shift=period.shift,
        )


class GroupOut(BaseModel):
    level: str
    id: int = Field(description="device, line (asset), enterprise or park id; industry code; 0")
    name: str
    devices: int = Field(description="machines in the group (of the table's profiles)")
    enterprise_id: int | None = Field(description="the enterprise of a machine or line")

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(
            level=group.level,
            id=group.id,
            name=group.name,
            devices=group.devices,
            enterprise_id=group.enterprise_id,
        )


class GroupFigures(GroupOut):
    kpis: dict[str, list[Figure]] = Field(description="KPI → one value per period")
    facts: dict[str, list[Figure]] = Field(description="summed fact → one value per period")


class KpiTableAnswer(BaseModel):
    profile: str
    level: str
    grain: str | None
    span: SpanOut
    kpis: list[KpiOut]
    periods: list[PeriodOut]
    groups: list[GroupFigures]

    @classmethod
    def of(cls, table: KpiTable) -> KpiTableAnswer:
        query = table.query
        facts = sorted(table.facts)
        return cls(
            profile=query.profile,
            level=query.level,
            grain=query.grain,
            span=SpanOut.of(query.start_ms, query.end_ms),
            kpis=[KpiOut.of(s) for s in table.specs],
            periods=[PeriodOut.of_period(p) for p in table.periods],
            groups=[
                GroupFigures(
                    **GroupOut.of(group).model_dump(),
                    kpis={s.name: finite_list(table.kpis[s.name][g]) for s in table.specs},
                    facts={name: finite_list(table.facts[name][g]) for name in facts},
                )
                for g, group in enumerate(table.groups)
            ],
        )


class RankedOut(BaseModel):
    rank: int | None = Field(description="1 for the best; null where the KPI is undefined")
    group: GroupOut
    value: Figure

    @classmethod
    def of(cls, ranked: Ranked) -> RankedOut:
        return cls(rank=ranked.rank, group=GroupOut.of(ranked.group), value=ranked.value)


class LeagueAnswer(BaseModel):
    profile: str
    level: str
    span: SpanOut
    kpi: KpiOut
    best: list[RankedOut] = Field(description="the best groups, best first")
    worst: list[RankedOut] = Field(
        description="the worst groups, worst first (empty when every group is among the best)"
    )
    ranked: int = Field(description="groups whose KPI is defined over the span")
    undefined: list[GroupOut] = Field(description="groups whose KPI is undefined over the span")

    @classmethod
    def of(cls, profile: str, level: str, span: SpanOut, league: League) -> LeagueAnswer:
        n = len(league.ranked)
        return cls(
            profile=profile,
            level=level,
            span=span,
            kpi=KpiOut.of(league.spec),
            best=[
                RankedOut.of(Ranked(i + 1, g, finite(v))) for i, (g, v) in enumerate(league.best)
            ],
            worst=[
                RankedOut.of(Ranked(n - i, g, finite(v))) for i, (g, v) in enumerate(league.worst)
            ],
            ranked=len(league.ranked),
            undefined=[GroupOut.of(g) for g in league.undefined],
        )


class ComparedOut(BaseModel):
    current: Figure
    previous: Figure = Field(description="the span before (环比)")
    change_previous: Figure = Field(description="current − previous")
    change_previous_pct: Figure = Field(description="(current − previous) / |previous| × 100")
    last_year: Figure = Field(description="the same span a year earlier (同比)")
    change_last_year: Figure
    change_last_year_pct: Figure

    @classmethod
    def of(cls, figures: Compared) -> ComparedOut:
        return cls(
            current=figures.current,
            previous=figures.previous,
            change_previous=figures.change_previous,
            change_previous_pct=figures.change_previous_pct,
            last_year=figures.last_year,
            change_last_year=figures.change_last_year,
            change_last_year_pct=figures.change_last_year_pct,
        )


class GroupCompared(GroupOut):
    kpis: dict[str, ComparedOut]


class CompareAnswer(BaseModel):
    profile: str
    level: str
    current: SpanOut
    previous: SpanOut
    last_year: SpanOut
    kpis: list[KpiOut]
    groups: list[GroupCompared]

    @classmethod
    def of(cls, comparison: Comparison) -> CompareAnswer:
        now = comparison.current
        specs = now.specs
        figures = {s.name: compared(comparison, s.name) for s in specs}

        def span(table: KpiTable) -> SpanOut:
            return SpanOut.of(table.query.start_ms, table.query.end_ms)

        return cls(
            profile=now.query.profile,
            level=now.query.level,
            current=span(now),
            previous=span(comparison.previous),
            last_year=span(comparison.last_year),
            kpis=[KpiOut.of(s) for s in specs],
            groups=[
                GroupCompared(
                    **GroupOut.of(group).model_dump(),
                    kpis={s.name: ComparedOut.of(figures[s.name][g]) for s in specs},
                )
                for g, group in enumerate(now.groups)
            ],
        )


class EnergyGroup(GroupOut):
    output_unit: str | None = Field(description="null: no output, or output in several units")
    output_profile: str | None
    energy_kwh: list[Figure] = Field(description="per period")
    output: list[Figure]
    per_unit: list[Figure] = Field(description="kWh per unit of output")
    facility_kwh: list[Figure]
    it_kwh: list[Figure]
    pue: list[Figure] = Field(description="facility over IT energy, where both are metered")


class EnergyAnswer(BaseModel):
    level: str
    grain: str | None
    span: SpanOut
    periods: list[PeriodOut]
    groups: list[EnergyGroup]

    @classmethod
    def of(cls, level: str, grain: str | None, span: SpanOut, table: EnergyTable) -> EnergyAnswer:
        return cls(
            level=level,
            grain=grain,
            span=span,
            periods=[PeriodOut.of_period(p) for p in table.periods],
            groups=[
                EnergyGroup(
                    level=level,
                    id=group.id,
                    name=group.name,
                    devices=group.devices,
                    enterprise_id=group.enterprise_id,
                    output_unit=table.output_unit[g],
                    output_profile=table.output_profile[g],
                    energy_kwh=finite_list(table.energy_kwh[g]),
                    output=finite_list(table.output[g]),
                    per_unit=finite_list(table.per_unit[g]),
                    facility_kwh=finite_list(table.facility_kwh[g]),
                    it_kwh=finite_list(table.it_kwh[g]),
                    pue=finite_list(table.pue[g]),
                )
                for g, group in enumerate(table.groups)
            ],
        )


# -- energy baselines ---------------------------------------------------------------------


class BaselineFitBody(BaseModel):
    """The reference period a baseline is fitted on: [reference_start, reference_end)."""

    model_config = ConfigDict(extra="forbid")

    reference_start: str | StrictInt = Field(
        description="ms since 1970 or ISO 8601 (a date is its midnight, China time)"
    )
    reference_end: str | StrictInt = Field(description="exclusive")
    use_weather: bool = Field(
        default=True,
        description="try cooling degree-days; kept only where they improve the fit",
    )


class CoefficientOut(BaseModel):
    name: str
    value: Figure
    unit: str
    std_error: Figure = None
    t_stat: Figure = None


class FitQualityOut(BaseModel):
    n_days: int
    parameters: int
    r2: Figure
    adj_r2: Figure
    cv_rmse_pct: Figure
    nmbe_pct: Figure
    n_months: int
    monthly_cv_rmse_pct: Figure
    monthly_nmbe_pct: Figure
    meets_guideline14: bool


class WeatherChoiceOut(BaseModel):
    requested: bool
    kept: bool
    reason: str
    base_temperature_c: Figure = None
    t_stat: Figure = None
    adj_r2_without: Figure = None
    adj_r2_with: Figure = None


class BaselineModelOut(BaseModel):
    output_unit: str
    intercept_kwh: Figure = Field(description="kWh per day at no output")
    kwh_per_output: Figure
    kwh_per_degree_day: Figure
    base_temperature_c: Figure
    coefficients: list[CoefficientOut]
    quality: FitQualityOut
    weather: WeatherChoiceOut
    first_day: str = Field(description="the first reference day with data")
    last_day: str
    output_min: Figure
    output_max: Figure
    temperature_min_c: Figure = None
    temperature_max_c: Figure = None

    @classmethod
    def of(cls, model: BaselineModel) -> BaselineModelOut:
        def num(value: float | None) -> Figure:
            return None if value is None else finite(value)

        q, w = model.quality, model.weather
        return cls(
            output_unit=model.output_unit,
            intercept_kwh=num(model.intercept_kwh),
            kwh_per_output=num(model.kwh_per_output),
            kwh_per_degree_day=num(model.kwh_per_degree_day),
            base_temperature_c=num(model.base_temperature_c),
            coefficients=[
                CoefficientOut(
                    name=c.name,
                    value=num(c.value),
                    unit=c.unit,
                    std_error=num(c.std_error),
                    t_stat=num(c.t_stat),
                )
                for c in model.coefficients
            ],
            quality=FitQualityOut(
                n_days=q.n_days,
                parameters=q.parameters,
                r2=num(q.r2),
                adj_r2=num(q.adj_r2),
                cv_rmse_pct=num(q.cv_rmse_pct),
                nmbe_pct=num(q.nmbe_pct),
                n_months=q.n_months,
                monthly_cv_rmse_pct=num(q.monthly_cv_rmse_pct),
                monthly_nmbe_pct=num(q.monthly_nmbe_pct),
                meets_guideline14=q.meets_guideline14,
            ),
            weather=WeatherChoiceOut(
                requested=w.requested,
                kept=w.kept,
                reason=w.reason,
                base_temperature_c=num(w.base_temperature_c),
                t_stat=num(w.t_stat),
                adj_r2_without=num(w.adj_r2_without),
                adj_r2_with=num(w.adj_r2_with),
            ),
            first_day=to_iso(model.first_day_ms)[:10],
            last_day=to_iso(model.last_day_ms)[:10],
            output_min=num(model.output_min),
            output_max=num(model.output_max),
            temperature_min_c=num(model.temperature_min_c),
            temperature_max_c=num(model.temperature_max_c),
        )


class BaselineAnswer(BaseModel):
    enterprise_id: int
    reference: SpanOut
    reference_days: int
    days_left_out: int = Field(description="reference days without data, not fitted on")
    output_fact: str
    output_unit: str
    use_weather: bool
    fitted_at: datetime
    fitted_by: str
    model: BaselineModelOut

    @classmethod
    def of(cls, fitted: FittedBaseline) -> BaselineAnswer:
        return cls(
            enterprise_id=fitted.enterprise_id,
            reference=SpanOut.of(fitted.reference_start_ms, fitted.reference_end_ms),
            reference_days=fitted.reference_days,
            days_left_out=fitted.days_left_out,
            output_fact=fitted.output_fact,
            output_unit=fitted.output_unit,
            use_weather=fitted.use_weather,
            fitted_at=fitted.fitted_at,
            fitted_by=fitted.fitted_by,
            model=BaselineModelOut.of(fitted.model),
        )


class SavingsOut(BaseModel):
    baseline_kwh: Figure = Field(description="the adjusted baseline: what the model expects")
    actual_kwh: Figure
    avoided_kwh: Figure = Field(description="baseline − actual (节能量)")
    savings_pct: Figure
    days_with_data: int
    days_left_out: int
    days_outside_reference: int

    @classmethod
    def of(cls, figures: SavingsFigures) -> SavingsOut:
        return cls(
            baseline_kwh=finite(figures.baseline_kwh),
            actual_kwh=finite(figures.actual_kwh),
            avoided_kwh=finite(figures.avoided_kwh),
            savings_pct=None if figures.savings_pct is None else finite(figures.savings_pct),
            days_with_data=figures.days_with_data,
            days_left_out=figures.days_left_out,
            days_outside_reference=figures.days_outside_reference,
        )


class MonthSavingsOut(SavingsOut):
    month: str = Field(description='"2026-11", China time')


class SavingsAnswer(BaseModel):
    enterprise_id: int
    span: SpanOut
    output_unit: str
    uses_weather: bool
    months: list[MonthSavingsOut]
    total: SavingsOut

    @classmethod
    def of(cls, enterprise_id: int, span: SpanOut, monthly: MonthlySavings) -> SavingsAnswer:
        return cls(
            enterprise_id=enterprise_id,
            span=span,
            output_unit=monthly.output_unit,
            uses_weather=monthly.uses_weather,
            months=[
                MonthSavingsOut(month=m.month, **SavingsOut.of(m).model_dump())
                for m in monthly.months
            ],
            total=SavingsOut.of(monthly.total),
        )
