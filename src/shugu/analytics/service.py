"""The analytics of one process: the fact engine fed by the telemetry store, and the services
routes and pages call (KPI tables, energy, calendars). Built by the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from shugu.analytics.calendar_service import add_calendar_listener, get_calendar
from shugu.analytics.calendars import CalendarBook
from shugu.analytics.definitions import load_kpis
from shugu.analytics.energy import EnergyDays
from shugu.analytics.engine import FactEngine
from shugu.analytics.fact_store import FactStore
from shugu.analytics.loom_source import EngineLoomSource
from shugu.analytics.places import PlaceBook, read_places
from shugu.analytics.query import KpiService
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore


@dataclass(slots=True)
class Analytics:
    engine: FactEngine
    kpis: KpiService
    calendars: CalendarBook
    places: PlaceBook
    facts: FactStore
    #: Each enterprise's energy, output and weather per day (what its baseline is fitted on).
    days: EnergyDays
    #: Each weaving enterprise's looms as shared capacity sees them.
    looms: EngineLoomSource

    def start(self) -> None:
        self.engine.start()

    def stop(self) -> None:
        self.engine.stop()

    def close(self) -> None:
        self.facts.close()


def open_analytics(registry: Registry, store: TelemetryStore, path: Path | None) -> Analytics:
    """Analytics over ``store`` and ``registry``, its facts kept at ``path`` (None: in memory).
    The engine listens to the store from here on; ``start`` runs its thread."""
    profiles = load_kpis()
    parameters = sorted(
        {spec.attribute or spec.name for kpis in profiles.values() for spec in kpis.parameters}
    )
    places = PlaceBook(partial(read_places, registry, store, parameters))
    calendars = CalendarBook(partial(get_calendar, registry))
    facts = FactStore(path, profiles)
    engine = FactEngine(store, places, facts, profiles, planned=calendars.planned_for)
    store.add_listener(engine.on_batch)
    engine.load()

    def calendar_saved(enterprise_id: int, from_ms: int) -> None:
        calendars.invalidate(enterprise_id)
        engine.recompute_enterprise(enterprise_id, from_ms)

    add_calendar_listener(calendar_saved, registry=registry)
    service = KpiService(engine, places, calendars)
    return Analytics(
        engine,
        service,
        calendars,
        places,
        facts,
        EnergyDays(service),
        EngineLoomSource(service, store),
    )
