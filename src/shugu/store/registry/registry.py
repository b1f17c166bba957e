"""The registry: one class over the parts, so callers hold a single object."""

from __future__ import annotations

from shugu.store.registry.accounts import AccountMixin
from shugu.store.registry.assets import AssetMixin
from shugu.store.registry.baselines import BaselineMixin
from shugu.store.registry.calendars import CalendarMixin
from shugu.store.registry.capacity import CapacityMixin
from shugu.store.registry.consents import ConsentMixin
from shugu.store.registry.devices import DeviceMixin
from shugu.store.registry.hierarchy import HierarchyMixin
from shugu.store.registry.monitoring import MonitorMixin
from shugu.store.registry.region_counts import RegionCountsMixin


class Registry(
    HierarchyMixin,
    AssetMixin,
    DeviceMixin,
    AccountMixin,
    ConsentMixin,
    MonitorMixin,
    RegionCountsMixin,
    BaselineMixin,
    CalendarMixin,
    CapacityMixin,
):
    """Regions, parks, enterprises, assets, devices, accounts, tokens and consents.

    ``Registry(url)`` opens a SQLAlchemy URL (``sqlite:///path`` or ``postgresql://…``), brings
    the schema to the newest migration and is ready. Every method runs in its own transaction
    and returns frozen records. ``close()`` releases the connections.
    """
