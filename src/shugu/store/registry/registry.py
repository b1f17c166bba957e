"""The registry: one class over the parts, so callers hold a single object."""

from __future__ import annotations

from shugu.store.registry.accounts import AccountMixin
from shugu.store.registry.assets import AssetMixin
from shugu.store.registry.baselines import BaselineMixin
from shugu.store.registry.calendars import CalendarMixin
from shugu.store.registry.capacity import CapacityMixin
from shugu.store.registry.cluster import ClusterMixin
from shugu.store.registry.consents import ConsentMixin
from shugu.store.registry.detector_states import DetectorStateMixin
from shugu.store.registry.devices import DeviceMixin
from shugu.store.registry.hierarchy import HierarchyMixin
from shugu.store.registry.incidents import IncidentMixin
from shugu.store.registry.monitoring import MonitorMixin
from shugu.store.registry.region_appeals import AppealMixin
from shugu.store.registry.region_counts import RegionCountsMixin
from shugu.store.registry.region_files import EnterpriseFileMixin
from shugu.store.registry.region_indicators import IndicatorMixin
from shugu.store.registry.region_operation import OperationMixin
from shugu.store.registry.region_particulars import ParticularsMixin
from shugu.store.registry.region_policies import PolicyMixin
from shugu.store.registry.region_projects import ProjectMixin


class Registry(
    HierarchyMixin,
    AssetMixin,
    DeviceMixin,
    AccountMixin,
    ConsentMixin,
    MonitorMixin,
    IncidentMixin,
    RegionCountsMixin,
    BaselineMixin,
    CalendarMixin,
    CapacityMixin,
    EnterpriseFileMixin,
    OperationMixin,
    ProjectMixin,
    AppealMixin,
    PolicyMixin,
    IndicatorMixin,
    ParticularsMixin,
    ClusterMixin,
    DetectorStateMixin,
):
    """Regions, parks, enterprises, assets, devices, accounts, tokens and consents.

    ``Registry(url)`` opens a SQLAlchemy URL (``sqlite:///path`` or ``postgresql://…``), brings
    the schema to the newest migration and is ready. Every method runs in its own transaction
    and returns frozen records. ``close()`` releases the connections.
    """
