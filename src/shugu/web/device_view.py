"""What the device page shows about a device, gathered from the registry, the store and the
alarm book: where it stands in its enterprise's plant, its metrics with their latest values, its
state and its open alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ValidationError
from shugu.domain.profiles import MetricKind, MetricSpec, Profile, get_profile
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.alarms import OPEN_STATUSES, worst
from shugu.monitor.liveness import LatestValues, Liveness, Thresholds, profile_thresholds, state_of
from shugu.monitor.model import Severity
from shugu.store.registry import Registry
from shugu.web.plant import LEVEL_LABELS
from shugu.web.session import PageUser


@dataclass(frozen=True, slots=True)
class Crumb:
    label: str
    url: str | None
    #: What kind of place it is (site, area, line, unit), in the user's language.
    kind: str = ""


@dataclass(frozen=True, slots=True)
class MetricView:
    name: str
    label: str
    unit: str
    kind: str
    digits: int
    #: State code → its name in the user's language (state metrics only).
    states: dict[str, str]
    ts: int | None
    value: float | None

    @property
    def states_json(self) -> str:
        return json.dumps(self.states, ensure_ascii=False) if self.states else ""

    @property
    def shown(self) -> str | None:
        """The state's name for a state metric's value; None where the number is shown."""
        if not self.states or self.value is None:
            return None
        return self.states.get(str(round(self.value)))


@dataclass(frozen=True, slots=True)
class DeviceHeader:
    ref: DeviceRef
    enterprise_name: str
    profile_label: str
    crumbs: list[Crumb]
    metrics: list[MetricView]
    last_seen_ms: int | None
    state: Liveness
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class AlarmBadge:
    count: int
    worst: Severity | None


def _label(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh-CN" else en


def _profile(name: str) -> Profile | None:
    try:
        return get_profile(name)
    except ValidationError:
        return None


def _digits(spec: MetricSpec | None) -> int:
    if spec is None:
        return 2
    if spec.kind is MetricKind.STATE:
        return 0
    # Dimensionless gauges (a power factor) need their second decimal; the rest read at one.
    return 2 if spec.unit == "" else 1


def _metric_view(
    lang: str, name: str, spec: MetricSpec | None, point: tuple[int, float] | None
) -> MetricView:
    states = (
        {str(code): _label(lang, s.label_zh, s.label_en) for code, s in spec.states.items()}
        if spec is not None and spec.states
        else {}
    )
    return MetricView(
        name=name,
        label=_label(lang, spec.label_zh, spec.label_en) if spec else name,
        unit=spec.unit if spec else "",
        kind=spec.kind.value if spec else MetricKind.GAUGE.value,
        digits=_digits(spec),
        states=states,
        ts=point[0] if point else None,
        value=point[1] if point else None,
    )


def breadcrumb(
    registry: Registry, user: PageUser, ref: DeviceRef, asset_id: int | None
) -> list[Crumb]:
    """The enterprise, then each asset from the site down to the device's own place."""
    tree_url = f"/e/{ref.enterprise_id}/tree"
    assets = []
    seen: set[int] = set()
    while asset_id is not None and asset_id not in seen:
        seen.add(asset_id)
        asset = registry.get_asset(asset_id)
        assets.append(asset)
        asset_id = asset.parent_id
    enterprise = registry.get_enterprise(ref.enterprise_id)
    crumbs = [Crumb(enterprise.name, tree_url)]
    for asset in reversed(assets):
        kind = user.tr(LEVEL_LABELS[asset.level])
        crumbs.append(Crumb(asset.name, f"{tree_url}#asset-{asset.id}", kind))
    return crumbs


def device_header(user: PageUser, ref: DeviceRef, *, with_values: bool) -> DeviceHeader:
    """The device's header; ``with_values`` only for a reader of its machine values."""
    registry = user.services.registry
    record = registry.get_device(ref.id)
    lang = user.tr.lang
    profile = _profile(ref.profile)
    latest: dict[str, tuple[int, float]] = {}
    if with_values:
        latest = (
            LatestValues.read(user.services.store, [ref.id]).values_of([ref.id]).get(ref.id, {})
        )
    names = list(profile.metrics) if profile else []
    names += sorted(m for m in latest if m not in names)
    metrics = [
        _metric_view(lang, n, profile.metric(n) if profile else None, latest.get(n)) for n in names
    ]
    last_seen = max((ts for ts, _ in latest.values()), default=None)
    thresholds = profile_thresholds(ref.profile)
    crumbs = breadcrumb(registry, user, ref, record.asset_id)
    return DeviceHeader(
        ref=ref,
        enterprise_name=crumbs[0].label,
        profile_label=_label(lang, profile.label_zh, profile.label_en) if profile else ref.profile,
        crumbs=crumbs,
        metrics=metrics,
        last_seen_ms=last_seen,
        state=state_of(last_seen, thresholds, utc_now_ms()),
        thresholds=thresholds,
    )


def alarm_badge(registry: Registry, ref: DeviceRef) -> AlarmBadge:
    """How many alarms of the device are open, and the worst of them."""
    records = registry.list_alarms(
        [ref.enterprise_id], statuses=OPEN_STATUSES, device_id=ref.id, limit=10_000
    )
    return AlarmBadge(len(records), worst(records))
