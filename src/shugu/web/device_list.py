"""The device list: filters read from the query string, the devices that pass them, one page of
rows with the values each profile lists (``list_metrics``), state, last-seen and open alarms.

Filtering and sorting run over the plant read once (``plant.py``); only the rows of the page
shown are turned into view rows, so 2,000 devices cost one pass of cheap comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlencode

from shugu.domain.digits import ascii_int
from shugu.domain.errors import ValidationError
from shugu.domain.profiles import MetricKind, MetricSpec, Profile
from shugu.monitor.alarm_tree import OpenAlarms
from shugu.monitor.liveness import Liveness, Point, Thresholds, profile_thresholds
from shugu.monitor.reports.view import natural_key
from shugu.store.registry.records import DeviceRecord
from shugu.web.asset_tree import UNPLACED
from shugu.web.plant import Plant, profile_label

PAGE_SIZE: Final = 50
MAX_SEARCH: Final = 100


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """What the list is narrowed to; empty fields narrow nothing."""

    q: str = ""
    profile: str = ""
    #: An asset id (the asset and everything below it), ``unplaced``, or empty.
    asset: str = ""
    state: str = ""
    page: int = 1

    def params(self, page: int | None = None) -> dict[str, str]:
        chosen = {"q": self.q, "profile": self.profile, "asset": self.asset, "state": self.state}
        params = {k: v for k, v in chosen.items() if v}
        shown = self.page if page is None else page
        if shown > 1:
            params["page"] = str(shown)
        return params

    def query(self, page: int | None = None) -> str:
        params = self.params(page)
        return "?" + urlencode(params) if params else ""

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.profile or self.asset or self.state)


def parse_filter(
    plant: Plant,
    profiles: Mapping[str, Profile],
    *,
    q: str,
    profile: str,
    asset: str,
    state: str,
    page: str,
) -> tuple[DeviceFilter, dict[str, ValidationError]]:
    """The filter the query string asks for, and an error per field it got wrong (that field
    then narrows nothing)."""
    errors: dict[str, ValidationError] = {}
    chosen = DeviceFilter(q=q.strip()[:MAX_SEARCH])
    profile = profile.strip()
    if profile:
        if profile in profiles:
            chosen = replace(chosen, profile=profile)
        else:
            errors["profile"] = ValidationError(
                f"there is no device profile {profile[:40]!r}",
                code="unknown_profile",
                field="profile",
            )
    asset = asset.strip()
    if asset:
        asset_id = ascii_int(asset)
        if asset == UNPLACED or (asset_id is not None and asset_id in plant.paths):
            chosen = replace(chosen, asset=asset)
        else:
            errors["asset"] = ValidationError(
                "the enterprise has no such asset", code="unknown_asset", field="asset"
            )
    state = state.strip()
    if state:
        if state in {s.value for s in Liveness}:
            chosen = replace(chosen, state=state)
        else:
            errors["state"] = ValidationError(
                "a device is online, stale or offline",
                code="unknown_device_state",
                field="state",
            )
    page = page.strip()
    if page:
        number = ascii_int(page, 9)
        if number is not None and number >= 1:
            chosen = replace(chosen, page=number)
        else:
            errors["page"] = ValidationError(
                "a page is a whole number from 1", code="invalid_page", field="page"
            )
    return chosen, errors


def matching(plant: Plant, chosen: DeviceFilter) -> list[DeviceRecord]:
    """The devices that pass the filter, by name (机柜-2 before 机柜-10)."""
    needle = chosen.q.casefold()
    under = ascii_int(chosen.asset) if chosen.asset and chosen.asset != UNPLACED else None
    wanted_state = Liveness(chosen.state) if chosen.state else None
    found = []
    for device in plant.devices:
        if needle and needle not in device.name.casefold():
            continue
        if chosen.profile and device.profile != chosen.profile:
            continue
        if chosen.asset == UNPLACED and device.asset_id is not None:
            continue
        if under is not None and (
            device.asset_id is None or under not in plant.paths.get(device.asset_id, ())
        ):
            continue
        if wanted_state is not None and plant.states.get(device.id) is not wanted_state:
            continue
        found.append(device)
    found.sort(key=lambda d: natural_key(d.name))
    return found


@dataclass(frozen=True, slots=True)
class Cell:
    """One listed value of a device."""

    metric: str
    label: str
    unit: str
    digits: int
    value: float | None
    #: A state metric's code → label, for the page's script to show live codes as words.
    states: dict[str, str] | None


@dataclass(frozen=True, slots=True)
class Column:
    metric: str
    label: str
    unit: str
    #: A state metric, shown as words.
    state: bool


@dataclass(frozen=True, slots=True)
class Row:
    device: DeviceRecord
    profile: str
    place: str
    state: Liveness | None
    last_seen_ms: int | None
    alarms: OpenAlarms
    cells: list[Cell]
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class DevicePage:
    rows: list[Row]
    #: Devices that pass the filter, on every page.
    total: int
    page: int
    pages: int
    #: One column per listed metric when every row is of one profile; else one "values" column.
    columns: list[Column] | None

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def _digits(spec: MetricSpec) -> int:
    if spec.kind is MetricKind.STATE:
        return 0
    return 2 if not spec.unit else 1


def _label(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh-CN" else en


def _cells(profile: Profile | None, values: Mapping[str, Point], lang: str) -> list[Cell]:
    if profile is None:
        return []
    cells = []
    for metric in profile.list_metrics:
        spec = profile.metrics[metric]
        point = values.get(metric)
        value = point[1] if point is not None and math.isfinite(point[1]) else None
        states = (
            {str(code): _label(s.label_zh, s.label_en, lang) for code, s in spec.states.items()}
            if spec.states
            else None
        )
        label = _label(spec.label_zh, spec.label_en, lang)
        cells.append(Cell(metric, label, spec.unit, _digits(spec), value, states))
    return cells


def device_page(
    plant: Plant, profiles: Mapping[str, Profile], chosen: DeviceFilter, lang: str
) -> DevicePage:
    found = matching(plant, chosen)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(chosen.page, pages)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    names = {a.id: a.name for a in plant.assets}
    values = plant.latest.values_of(d.id for d in shown) if plant.latest is not None else {}
    rows = [
        Row(
            device=d,
            profile=profile_label(d.profile, lang, profiles),
            place=plant.place_of(d, names),
            state=plant.states.get(d.id) if plant.with_values else None,
            last_seen_ms=plant.last_seen.get(d.id),
            alarms=plant.alarms_of(d.id),
            cells=_cells(profiles.get(d.profile), values.get(d.id, {}), lang)
            if plant.with_values
            else [],
            thresholds=profile_thresholds(d.profile),
        )
        for d in shown
    ]
    columns = None
    kinds = {d.profile for d in shown}
    if plant.with_values and len(kinds) == 1 and rows and rows[0].cells:
        columns = [Column(c.metric, c.label, c.unit, c.states is not None) for c in rows[0].cells]
    return DevicePage(rows, len(found), page, pages, columns)
