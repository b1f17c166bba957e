"""The demo district's bureau records, entered through the region's services as the people
who keep them would: monthly reports (accepted, awaiting the bureau, submitted, one returned by
the park, one missing), projects at every stage (one overdue, one SME digital transformation
with its go-live), appeals (open, assigned, answered, closed and rated), the particulars policies
ask about (leases, investments, capital, spending), and a computed batch of the
cloud-and-platform subsidy awaiting the bureau's approval. Each step skips what is there.
"""

from __future__ import annotations

import random

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.demo_seed import (
    BY,
    SEED,
    WEAVING,
    SeedReport,
    industry_of,
    key_enterprises,
)
from shugu.region.operation import months
from shugu.region.service import RegionServices
from shugu.store.registry.records import EnterpriseRecord


def _access(
    region: RegionServices,
    role: Role,
    *,
    enterprise_id: int | None = None,
    park_id: int | None = None,
    username: str = BY,
) -> Access:
    principal = Principal(0, username, role, enterprise_id, park_id=park_id)
    return Access(principal, lambda e, g: False, region.registry.park_of_enterprise)


def _admin(region: RegionServices, enterprise: EnterpriseRecord) -> Access:
    return _access(region, Role.ENTERPRISE_ADMIN, enterprise_id=enterprise.id)


def _bureau(region: RegionServices) -> Access:
    return _access(region, Role.BUREAU, username="bureau")


def _park(region: RegionServices, park_id: int) -> Access:
    return _access(region, Role.PARK_OFFICIAL, park_id=park_id, username="park")


# -- monthly reports --------------------------------------------------------------------------

#: What happens to each key enterprise's report of the month now due, in watch-list order.
DUE_MONTH_FATES = ("accepted", "accepted", "park_accepted", "submitted", "returned", "missing")
RETURN_REASON = "用电量与电表计量差异较大，请核实后重报。"


def _figures(enterprise: EnterpriseRecord, month: str, rng: random.Random) -> dict[str, object]:
    industry = industry_of(enterprise)
    yearly = rng.uniform(*industry.revenue)
    m = int(month[5:7])
    season = 0.6 if m == 2 else 1.0 + (0.05 if m >= 9 else 0.0)
    growth = 1.06 ** (int(month[:4]) - 2025)
    revenue = yearly / 12 * season * growth * rng.uniform(0.95, 1.05)
    kwh_per_wan = 420.0 if industry is WEAVING else 900.0
    return {
        "output_value_wan": round(revenue * 1.05, 1),
        "revenue_wan": round(revenue, 1),
        "profit_wan": round(revenue * rng.uniform(0.03, 0.09), 1),
        "power_kwh": round(revenue * kwh_per_wan * rng.uniform(0.95, 1.05)),
        "staff": rng.randrange(*industry.staff),
        "new_orders_wan": round(revenue * rng.uniform(0.8, 1.2), 1),
    }


def seed_monthly_reports(region: RegionServices, report: SeedReport) -> None:
    operation = region.operation
    registry = region.registry
    enterprises = registry.list_enterprises()
    key = key_enterprises(enterprises)
    watch = [e for e in enterprises if e.id in key]
    due = operation.due_month()
    earlier = [
        months.shift(due, -13),
        months.shift(due, -12),
        months.shift(due, -2),
        months.shift(due, -1),
    ]
    bureau = _bureau(region)
    for position, enterprise in enumerate(watch):
        admin = _admin(region, enterprise)
        park = _park(region, enterprise.park_id)
        fate = DUE_MONTH_FATES[position % len(DUE_MONTH_FATES)]
        for month in [*earlier, due]:
            final = "accepted" if month != due else fate
            if final == "missing" or registry.monthly_report(enterprise.id, month) is not None:
                continue
            rng = random.Random(f"{SEED}-{enterprise.id}-{month}")
            operation.save(admin, enterprise.id, month, _figures(enterprise, month, rng))
            filed = operation.submit(admin, enterprise.id, month)
            report.add("monthly reports", 1)
            if final == "submitted":
                continue
            if final == "returned":
                operation.review(park, filed.id, "return", RETURN_REASON)
                continue
            operation.review(park, filed.id, "accept", "")
            if final == "accepted":
                operation.review(bureau, filed.id, "accept", "")


# -- projects ---------------------------------------------------------------------------------


def _project_owner(enterprises: list[EnterpriseRecord], part: str) -> EnterpriseRecord | None:
    return next((e for e in enterprises if part in e.name), None)


def seed_projects(region: RegionServices, report: SeedReport) -> None:
    """Five projects: every stage reached by one, the data centre's second hall overdue (its
    production was planned for September), the first mill's smart weaving shed an SME digital
    transformation that went live in June."""
    service = region.projects
    registry = region.registry
    enterprises = registry.list_enterprises()
    parks = registry.list_parks()
    if not parks:
        return
    bureau = _bureau(region)
    today = service.today()
    last = months.shift(months.of_day(today), -1)
    mill = _project_owner(enterprises, "01号织造") or (enterprises[0] if enterprises else None)
    minjiang = _project_owner(enterprises, "闽江")
    data = _project_owner(enterprises, "数据中心")
    towers = _project_owner(enterprises, "冷塔")
    plans: list[tuple[dict[str, object], list[tuple[str, str, float]]]] = []
    if mill is not None:
        plans.append(
            (
                {
                    "code": "CL-2025-001",
                    "name": "智能织造车间数字化改造",
                    "enterprise_id": mill.id,
                    "project_type": "sme_digital_transformation",
                    "total_investment_wan": 1280,
                    "official": "陈立新",
                    "go_live_on": "2026-06-01",
                    "planned": {
                        "filing": "2025-09-01",
                        "permits": "2025-10-15",
                        "construction": "2025-12-01",
                        "production": "2026-06-01",
                        "policy": "2026-12-31",
                    },
                },
                [
                    ("2026-04", "construction", 210),
                    ("2026-05", "construction", 260),
                    ("2026-06", "production", 180),
                ],
            )
        )
    if data is not None:
        plans.append(
            (
                {
                    "code": "CL-2025-002",
                    "name": "滨海云数据中心二期机房",
                    "enterprise_id": data.id,
                    "project_type": "digital_economy",
                    "total_investment_wan": 26500,
                    "official": "林海",
                    "planned": {
                        "filing": "2025-06-01",
                        "permits": "2025-09-30",
                        "construction": "2025-12-01",
                        "production": "2026-09-30",
                    },
                },
                [
                    ("2026-07", "construction", 2100),
                    ("2026-08", "construction", 1800),
                    ("2026-09", "construction", 1500),
                ],
            )
        )
    if minjiang is not None:
        plans.append(
            (
                {
                    "code": "CL-2026-003",
                    "name": "喷气织机节能技术改造",
                    "enterprise_id": minjiang.id,
                    "project_type": "technical_upgrade",
                    "total_investment_wan": 860,
                    "official": "陈立新",
                    "planned": {
                        "filing": "2026-08-01",
                        "permits": "2026-11-30",
                        "construction": "2027-02-01",
                        "production": "2027-06-30",
                    },
                },
                [("2026-09", "filing", 20), ("2026-10", "permits", 45)],
            )
        )
    plans.append(
        (
            {
                "code": "CL-2026-004",
                "name": "纺织园污水处理提标改造",
                "owner_name": "长乐滨海纺织产业园管委会",
                "park_id": parks[0].id,
                "project_type": "infrastructure",
                "total_investment_wan": 4200,
                "official": "郑敏",
                "planned": {"filing": "2026-10-01", "permits": "2027-03-31"},
            },
            [("2026-10", "filing", 0)],
        )
    )
    if towers is not None:
        plans.append(
            (
                {
                    "code": "CL-2024-005",
                    "name": "冷却塔智慧运维平台",
                    "enterprise_id": towers.id,
                    "project_type": "digital_economy",
                    "total_investment_wan": 520,
                    "official": "林海",
                    "planned": {
                        "filing": "2024-05-01",
                        "permits": "2024-06-30",
                        "construction": "2024-08-01",
                        "production": "2025-03-01",
                        "policy": "2025-12-31",
                    },
                },
                [("2025-02", "production", 60), ("2025-11", "policy", 0)],
            )
        )
    for fields, progress in plans:
        if registry.project_by_code(str(fields["code"])) is not None:
            continue
        project, _ = service.save(bureau, fields)
        report.add("projects", 1)
        to_date = 0.0
        for month, stage, invested in progress:
            if month > last:
                continue
            to_date += invested
            owner = next((e for e in enterprises if e.id == project.enterprise_id), None)
            filer = _admin(region, owner) if owner is not None else bureau
            service.file_progress(
                filer,
                project.id,
                month,
                {
                    "investment_month_wan": invested,
                    "investment_to_date_wan": to_date,
                    "stage": stage,
                    "stage_reached_on": None,
                    "problems": "二期用电增容审批未完成"
                    if fields["code"] == "CL-2025-002" and month == "2026-09"
                    else "",
                },
            )


# -- appeals ----------------------------------------------------------------------------------

APPEALS = (
    # (owner's place among the mills, category, title, text, how far it went, rating)
    (
        0,
        "electricity",
        "织造车间增容",
        "新增喷气织机 40 台，需增容 800 kVA，申请加快审批。",
        "open",
        None,
    ),
    (1, "labour", "挡车工招工难", "旺季缺挡车工约 30 人，希望协助对接职业院校。", "assigned", None),
    (2, "transport", "园区货车通行", "园区北门限高，货车绕行 5 公里。", "answered", None),
    (3, "finance", "技改贷款贴息", "技改项目贷款 600 万元，咨询贴息政策。", "closed", 5),
    (4, "permits", "环评审批进度", "印染配套项目环评已报 40 天，未有答复。", "closed", 3),
)
DEPARTMENTS = {
    "electricity": "industry_bureau",
    "labour": "human_resources",
    "transport": "development_reform",
    "finance": "industry_bureau",
    "permits": "development_reform",
}


def seed_appeals(region: RegionServices, report: SeedReport) -> None:
    service = region.appeals
    registry = region.registry
    if registry.list_appeals():
        return
    mills = [e for e in registry.list_enterprises() if industry_of(e) is WEAVING]
    bureau = _bureau(region)
    for place, category, title, text, reached, rating in APPEALS:
        if place >= len(mills):
            continue
        owner = mills[place]
        admin = _admin(region, owner)
        appeal = service.file(admin, owner.id, {"category": category, "title": title, "text": text})
        report.add("appeals", 1)
        if reached == "open":
            continue
        department = DEPARTMENTS.get(category, "industry_bureau")
        service.assign(bureau, appeal.id, department, "请按时限答复")
        if reached == "assigned":
            continue
        service.answer(bureau, appeal.id, "已协调相关部门，预计两周内办结。")
        if reached == "answered":
            continue
        # The enterprise confirms the answer settled it, and rates it; that closes it.
        service.confirm(admin, appeal.id, rating, "感谢协调" if rating and rating >= 4 else "")


# -- particulars ------------------------------------------------------------------------------

#: Particulars by the enterprise's place in the list, beside those every enterprise gets: a
#: gazelle filing for its IPO with its investment in the district, a headquarters with capital
#: from outside the province, tech firms in designated buildings with their leases.
PARTICULARS_BY_PLACE: dict[int, dict[str, object]] = {
    0: {"in_designated_building": True, "leased_area_m2": 1200.0, "rent_yuan_m2_month": 45.0},
    1: {"outside_province_capital_wan": 62000.0, "paid_in_capital_wan": 62000.0},
    2: {"in_designated_building": True, "leased_area_m2": 380.0, "rent_yuan_m2_month": 52.0},
    4: {"pre_ipo": True, "investment_in_district_wan": 8600.0},
    9: {"in_designated_building": True, "leased_area_m2": 260.0, "rent_yuan_m2_month": 48.0},
}


def seed_particulars(region: RegionServices, report: SeedReport) -> None:
    """Patents and cloud spending for most, equipment and talent for the key enterprises, and
    the particular cases above; recorded by the bureau, nothing again once recorded."""
    bureau = _bureau(region)
    enterprises = region.registry.list_enterprises()
    key = key_enterprises(enterprises)
    for index, e in enumerate(enterprises):
        rng = random.Random(SEED * 7000 + index)
        values: dict[str, object] = {"invention_patents": rng.randrange(0, 36)}
        if index % 3 != 2:
            values["cloud_spend_wan"] = round(rng.uniform(4.0, 45.0), 1)
        if e.id in key:
            values["equipment_investment_wan"] = round(rng.uniform(900.0, 6000.0), -1)
            values["talent_spend_wan"] = round(rng.uniform(60.0, 480.0), 1)
        values.update(PARTICULARS_BY_PLACE.get(index, {}))
        if region.registry.particulars(e.id):
            continue
        made = region.files.record_particulars(bureau, e.id, values)
        report.add("particulars", len(made))


# -- policies ---------------------------------------------------------------------------------

CLOUD_POLICY = "cl-cloud-devices"


def seed_policies(region: RegionServices, report: SeedReport) -> None:
    """The cloud-and-platform subsidy (上云上平台) computed from the devices' first data,
    awaiting the bureau's approval."""
    if region.registry.list_grant_batches(CLOUD_POLICY):
        return
    region.policies.compute_batch(_bureau(region), CLOUD_POLICY, "bureau")
    report.add("policy batches", 1)
