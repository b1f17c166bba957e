"""The demo district's bureau data (`shugu demo`): each enterprise's file (industry, division,
date of establishment, key-enterprise flag), three years of yearly figures, certifications, the
indicators' reported values and targets; then monthly reports, projects, appeals and a computed
policy batch (``demo_seed_records.py``).

Everything goes through the registry's records and the region's services, as the bureau, the
parks and each enterprise's administrator would enter it, never SQL. Every step looks first at
what is there, so a restarted demo adds nothing twice. Figures are made up but believable for a
weaving district: a mill of 50 looms turns over some 3,000 to 6,000 万元 a year.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.indicators.periods import PeriodKey, month_of
from shugu.region.indicators.service import SEED_BY
from shugu.region.service import RegionServices
from shugu.store.registry.records import EnterpriseRecord

log = logging.getLogger(__name__)

SEED = 14
FIGURE_YEARS = (2023, 2024, 2025)
BY = "demo"


@dataclass(frozen=True, slots=True)
class Industry:
    code: str
    #: Revenue per year, 万元, low and high.
    revenue: tuple[float, float]
    staff: tuple[int, int]


#: GB/T 4754-2017 classes by what the demo's enterprises do.
WEAVING = Industry("1751", (2800.0, 6500.0), (60, 180))
DATA_CENTRE = Industry("6450", (9000.0, 14000.0), (40, 90))
SERVICES = Industry("7519", (1500.0, 2600.0), (25, 60))


def industry_of(enterprise: EnterpriseRecord) -> Industry:
    if "数据" in enterprise.name:
        return DATA_CENTRE
    if "织造" in enterprise.name:
        return WEAVING
    return SERVICES


@dataclass
class SeedReport:
    steps: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, count: int) -> None:
        self.steps[step] = self.steps.get(step, 0) + count


def access_as(
    role: Role, *, enterprise_id: int | None = None, park_id: int | None = None, username: str = BY
) -> Access:
    """An Access for a seed step acting in a role (no consent to anyone's machines)."""
    principal = Principal(0, username, role, enterprise_id, park_id=park_id)
    return Access(principal, lambda e, g: False, None)


def key_enterprises(enterprises: list[EnterpriseRecord]) -> set[int]:
    """The watch list: the first five mills and the data centre."""
    mills = [e for e in enterprises if industry_of(e) is WEAVING]
    data = [e for e in enterprises if industry_of(e) is DATA_CENTRE]
    return {e.id for e in mills[:5] + data[:1]}


def seed_files(region: RegionServices, report: SeedReport) -> None:
    registry = region.registry
    enterprises = registry.list_enterprises()
    parks = {p.id: p for p in registry.list_parks()}
    key = key_enterprises(enterprises)
    for index, e in enumerate(enterprises):
        rng = random.Random(SEED * 1000 + index)
        industry = industry_of(e)
        park = parks.get(e.park_id)
        _, changed = registry.update_enterprise_file(
            e.id,
            {
                "industry_code": industry.code,
                "division_code": park.division_code if park is not None else None,
                "established_on": date(2003 + rng.randrange(18), rng.randrange(1, 13), 1),
                "key_enterprise": e.id in key,
            },
        )
        report.add("files", int(changed))
        revenue = rng.uniform(*industry.revenue)
        staff = rng.randrange(*industry.staff)
        for year in FIGURE_YEARS:
            growth = rng.uniform(0.96, 1.22)
            revenue *= growth
            staff = max(10, int(staff * rng.uniform(0.95, 1.08)))
            values: dict[str, float | int | None] = {
                "revenue_wan": round(revenue, 1),
                "main_business_revenue_wan": round(revenue * 0.96, 1),
                "output_value_wan": round(revenue * rng.uniform(1.02, 1.12), 1),
                "rd_spend_wan": round(revenue * rng.uniform(0.018, 0.055), 1),
                "staff": staff,
                "tech_staff": int(staff * rng.uniform(0.08, 0.22)),
                "energy_tce": round(revenue * rng.uniform(0.035, 0.06), 1),
                "total_assets_wan": round(revenue * rng.uniform(0.9, 1.4), 1),
                "total_liabilities_wan": round(revenue * rng.uniform(0.3, 0.6), 1),
            }
            _, status = registry.put_year_figures(e.id, year, values, BY)
            report.add("yearly figures", int(status != "unchanged"))
        seed_certifications(region, e, index, report)


#: Certifications by the enterprise's place in the list: (kind, granted on, years valid).
CERTIFICATIONS: dict[int, list[tuple[str, date, int | None]]] = {
    0: [("高企", date(2023, 11, 20), 3), ("专精特新", date(2024, 6, 1), 3)],
    1: [
        ("高企", date(2022, 12, 10), 3),
        ("专精特新", date(2023, 5, 15), 3),
        ("小巨人", date(2025, 7, 1), 3),
    ],
    2: [("科小", date(2025, 4, 1), 1)],
    3: [("高企", date(2024, 12, 1), 3)],
    4: [("瞪羚", date(2025, 9, 1), None)],
    6: [("雏鹰", date(2024, 9, 1), None)],
    9: [("科小", date(2026, 3, 1), 1)],
}


def seed_certifications(
    region: RegionServices, enterprise: EnterpriseRecord, index: int, report: SeedReport
) -> None:
    wanted = CERTIFICATIONS.get(index, [])
    if industry_of(enterprise) is DATA_CENTRE:
        wanted = [("高企", date(2024, 10, 15), 3)]
    if not wanted:
        return
    held = {(c.kind, c.granted_on) for c in region.registry.certifications(enterprise.id)}
    for kind, granted, years in wanted:
        if (kind, granted) in held:
            continue
        expires = granted.replace(year=granted.year + years) if years else None
        region.registry.add_certification(enterprise.id, kind, granted, expires, None, BY)
        report.add("certifications", 1)


#: Reported indicators' monthly figures (万元) and yearly ones, for 2025 and this year so far.
MONTHLY_OUTPUT_WAN = 960_000.0
MONTHLY_INVESTMENT_WAN = 140_000.0
YEARLY: dict[str, dict[int, float]] = {
    "enterprises_on_cloud": {2024: 1100, 2025: 1460},
    "energy_per_value_added": {2024: 0.42, 2025: 0.409},
    "smart_factories": {2024: 22, 2025: 29},
}


def seed_indicator_values(region: RegionServices, report: SeedReport) -> None:
    """The bureau's reported figures: each month's output value and investment from January
    2025 to last month (a Spring Festival dip in February), and the yearly ones."""
    service = region.indicators
    bureau = access_as(Role.BUREAU, username="bureau")
    service.ensure_seeded()
    indicators = {i.code: i for i in service.register(bureau)}
    now = month_of(service.book.now_ms())
    have = {
        (v.indicator_id, v.period)
        for v in region.registry.indicator_values(None, "2024", now.text)
        if v.kind == "reported"
    }

    def put(code: str, period: str, value: float) -> None:
        indicator = indicators.get(code)
        if indicator is None or (indicator.id, period) in have:
            return
        service.put_value(bureau, code, period, {"value": value, "note": "演示数据"})
        report.add("indicator values", 1)

    month = PeriodKey(2025, 1)
    rng = random.Random(SEED)
    while month < now:
        season = 0.62 if month.month == 2 else 1.0 + 0.04 * (month.month in (9, 10, 11, 12))
        growth = 1.065 if month.year > 2025 else 1.0
        put(
            "industrial_output_value",
            month.text,
            round(MONTHLY_OUTPUT_WAN * season * growth * rng.uniform(0.97, 1.03)),
        )
        put(
            "industrial_investment",
            month.text,
            round(MONTHLY_INVESTMENT_WAN * rng.uniform(0.7, 1.3)),
        )
        if month.year > 2025:
            put("enterprises_on_cloud", month.text, 1460 + 22 * (month.month or 0))
        month = _next(month)
    for code, by_year in YEARLY.items():
        for year, value in by_year.items():
            put(code, str(year), value)


def seed_demo_targets(region: RegionServices, report: SeedReport) -> None:
    """This year's platform targets at the demo district's own scale (the shipped ones are a
    whole district's: a thousand enterprises), as the bureau would set them for a pilot; a
    target the bureau has changed since is left alone."""
    registry = region.registry
    service = region.indicators
    service.ensure_seeded()
    year = month_of(service.book.now_ms()).year
    enterprises = registry.list_enterprises()
    devices = registry.device_places()
    core = sum(1 for e in enterprises if (e.nbs_category or "")[:2] in ("01", "02", "03", "04"))
    wanted = {
        "enterprises_on_platform": float(math.ceil(len(enterprises) * 1.15)),
        "devices_connected": float(math.ceil(len(devices) * 1.1 / 10) * 10),
        "core_digital_enterprises": float(core + 2),
    }
    by_id = {i.id: i.code for i in registry.list_indicators()}
    current = {by_id.get(t.indicator_id): t for t in registry.targets_of_year(year)}
    bureau = access_as(Role.BUREAU, username="bureau")
    for code, target in wanted.items():
        known = current.get(code)
        if known is not None and known.set_by != SEED_BY:
            continue
        service.put_target(bureau, code, year, {"target": target, "note": "试点目标"})
        report.add("targets", 1)


def _next(month: PeriodKey) -> PeriodKey:
    assert month.month is not None
    return PeriodKey(month.year + month.month // 12, month.month % 12 + 1)


Step = Callable[[RegionServices, SeedReport], None]


def seed_bureau(region: RegionServices, *, after_data: bool | None = None) -> SeedReport:
    """The demo's bureau data, every step skipping what is there; a step that fails is logged
    and the others still run (the district goes on without it). ``after_data``: only the steps
    that need the machines' history (the subsidy counts devices by their first data, so it is
    computed once the history is in), or only those that do not; None: all."""
    from shugu.region import demo_seed_records as records

    before: tuple[Step, ...] = (
        seed_files,
        seed_indicator_values,
        seed_demo_targets,
        records.seed_monthly_reports,
        records.seed_projects,
        records.seed_appeals,
        records.seed_particulars,
    )
    after: tuple[Step, ...] = (records.seed_policies,)
    steps = before + after if after_data is None else after if after_data else before
    report = SeedReport()
    for step in steps:
        try:
            step(region, report)
        except Exception:
            log.exception("demo: the bureau's data step %s failed", step.__name__)
    log.info("demo: the bureau's data seeded: %s", report.steps or "nothing new")
    return report
