"""The bureau's system of one process: the services routes and pages call, each area's in a
field of its own. Built by the runtime next to analytics, whose figures flow into it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from shugu.analytics.service import Analytics
from shugu.region.appeals.service import AppealService
from shugu.region.files.measured import MeasuredFacts
from shugu.region.files.service import EnterpriseFiles
from shugu.region.indicators.service import IndicatorService
from shugu.region.operation.measured import AnalyticsMeters
from shugu.region.operation.schedule import OperationSchedule
from shugu.region.operation.service import OperationService
from shugu.region.policies.service import PolicyService, engine_first_data
from shugu.region.projects.pdf import project_summary_files
from shugu.region.projects.service import ProjectService
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore


@dataclass(slots=True)
class RegionServices:
    registry: Registry
    store: TelemetryStore
    analytics: Analytics
    #: The project library (项目库).
    projects: ProjectService = field(init=False)
    #: Enterprise appeals (企业诉求).
    appeals: AppealService = field(init=False)
    #: One file per enterprise (一企一档): figures, certifications, tags and tiers.
    files: EnterpriseFiles = field(init=False)
    #: Indicators and targets (指标与目标).
    indicators: IndicatorService = field(init=False)
    #: Monthly operation (经济运行监测): reports, review, discrepancies, warnings.
    operation: OperationService = field(init=False)
    #: Policies (惠企政策), grants without applying (免申即享), innovation points.
    policies: PolicyService = field(init=False)
    #: The scheduled work of the month: reminders, warnings, the reports of its first working day.
    schedules: list[OperationSchedule] = field(init=False, default_factory=list)

    def start(self) -> None:
        """Start the bureau's scheduled work (the runtime calls this with the other schedules)."""
        self.schedules = [OperationSchedule(self.operation)]
        for schedule in self.schedules:
            schedule.start()

    def stop(self) -> None:
        for schedule in reversed(self.schedules):
            schedule.stop()
        self.schedules = []


def open_region(registry: Registry, store: TelemetryStore, analytics: Analytics) -> RegionServices:
    """The bureau's services over the registry, with the platform's measurements beside them."""
    region = RegionServices(registry, store, analytics)
    region.projects = ProjectService(registry, analytics.kpis)
    region.appeals = AppealService(registry)
    region.files = EnterpriseFiles(registry, MeasuredFacts(registry, store, analytics))
    region.indicators = IndicatorService(registry, store, analytics)
    region.operation = OperationService(registry, AnalyticsMeters(analytics.kpis))
    region.operation.companion_reports["projects"] = partial(project_summary_files, region.projects)
    region.policies = PolicyService(
        registry,
        region.files.facts.enterprise_facts,
        engine_first_data(registry, analytics.engine),
        facts_of_many=region.files.facts.facts_many,
    )
    return region
