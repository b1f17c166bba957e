"""A simulated district described in YAML: parks, enterprises, their plants and faults.

The file is validated by pydantic; an error names the file, the line and the field. Enterprises
can be written once and repeated (``repeat: 40`` with ``{n}`` in the name), each copy getting a
valid unified social credit code of its own, so that a realistic district stays a short file.
``scale`` multiplies device counts for benchmarks.

Copies of a repeated enterprise need not be identical: where a loom shed lists several loom
nameplates (``looms``), or an enterprise several shift calendars (``calendar`` as a list), copy
``n`` takes entry ``(n − 1) mod length``, so the district varies deterministically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shugu.domain.errors import ValidationError as ShuguValidationError
from shugu.domain.timeutil import parse_bucket
from shugu.domain.uscc import check_uscc, compute_check_char, compute_organisation_check_char
from shugu.sim.calendar import CalendarSpec
from shugu.sim.cooling_tower import TowerParams
from shugu.sim.loom import LoomNameplate, LoomParams, LoomType

PlantKind = Literal["loom_shed", "cooling_tower_site", "data_hall"]
Transport = Literal["mqtt_gateway", "mqtt", "http"]
T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name_pattern(pattern: str) -> None:
    """A device name pattern: {i} (with an optional format, e.g. {i:03d}) and nothing else to
    fill in; raises ValueError saying what is wrong."""
    if "{i" not in pattern:
        raise ValueError(f"device pattern {pattern!r} needs {{i}} for the device number")
    try:
        pattern.format(i=1)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"device pattern {pattern!r} cannot be filled in with {{i}}: {exc}"
        ) from None


#: The model parameters a plant's ``params`` may set, by plant kind.
PARAMS_OF_KIND: dict[str, type[LoomParams] | type[TowerParams]] = {
    "loom_shed": LoomParams,
    "cooling_tower_site": TowerParams,
}


def plant_params(kind: str, params: dict[str, Any]) -> LoomParams | TowerParams | None:
    """The model parameters ``params`` set for a plant of ``kind`` (None: the defaults);
    raises ValueError naming what is wrong."""
    if not params:
        return None
    model = PARAMS_OF_KIND.get(kind)
    if model is None:
        takes = ", ".join(PARAMS_OF_KIND)
        raise ValueError(f"a {kind} takes no params (only {takes} do)")
    defaults = {f.name: f.default for f in fields(model)}
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown {kind} params {', '.join(unknown)}; known: {', '.join(defaults)}"
        )
    for name, value in params.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(defaults[name], float) and not number:
            raise ValueError(f"{kind} param {name} must be a number, got {value!r}")
        if isinstance(defaults[name], str) and not isinstance(value, str):
            raise ValueError(f"{kind} param {name} must be text, got {value!r}")
    return model(**params)


class LoomSpec(_Model):
    """The nameplate of a shed's looms: what capacity is matched on (type and width) and the
    speed the OEE's performance is measured against."""

    loom_type: LoomType = "air_jet"
    #: Reed width; common widths are 190, 230, 280 and 340 cm.
    width_cm: int = Field(default=190, ge=100, le=600)
    #: The maker's rated speed; the looms run a little below it.
    rated_speed_rpm: float = Field(default=700.0, gt=0, le=1500)

    def nameplate(self) -> LoomNameplate:
        return LoomNameplate(self.loom_type, self.width_cm, self.rated_speed_rpm)


def nth(entries: Sequence[T], copy: int) -> T:
    """The entry copy ``copy`` (1-based) of a repeated enterprise takes: entries in turn."""
    return entries[(copy - 1) % len(entries)]


class PlantSpec(_Model):
    kind: PlantKind
    #: Where the plant stands in the enterprise's ISA-95 tree: site, area, line.
    site: str = "一厂区"
    area: str = "生产区"
    line: str
    #: Device name pattern with {i} (1-based) and how many; for data halls the racks.
    devices: str
    count: int = Field(ge=1, le=100_000)
    #: Data halls: CRAH name pattern and count.
    crahs: str | None = None
    crah_count: int = Field(default=0, ge=0, le=1000)
    #: Name of a power meter on this plant's supply, if any (a data hall's: the facility's
    #: total, IT, cooling and losses).
    meter: str | None = Field(default=None, min_length=1)
    #: Data halls: a meter on the racks' IT load alone, so that PUE can be computed.
    it_meter: str | None = Field(default=None, min_length=1)
    #: Loom sheds: the looms' nameplate; copies of a repeated enterprise take them in turn.
    looms: list[LoomSpec] = Field(default_factory=lambda: [LoomSpec()], min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("devices", "crahs")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            check_name_pattern(value)
        return value

    @model_validator(mode="after")
    def _params(self) -> PlantSpec:
        params = plant_params(self.kind, self.params)
        if "looms" in self.model_fields_set and self.kind != "loom_shed":
            raise ValueError("only a loom shed has looms")
        if self.it_meter is not None:
            if self.kind != "data_hall":
                raise ValueError("only a data hall has an IT meter (it_meter)")
            if self.it_meter == self.meter:
                raise ValueError("a data hall's IT meter and total meter need different names")
        if isinstance(params, LoomParams) and "speed_rpm" in self.params:
            fastest = params.speed_rpm + params.speed_spread_rpm
            slowest = min(loom.rated_speed_rpm for loom in self.looms)
            if fastest > slowest:
                raise ValueError(
                    f"looms rated for {slowest:g} rpm cannot run at up to {fastest:g} rpm"
                )
        return self

    def loom_params(self) -> LoomParams:
        """The model of this shed's looms: ``params``, at the speed of its (first) nameplate
        unless ``params`` sets the speed itself."""
        params = plant_params(self.kind, self.params)
        loom = params if isinstance(params, LoomParams) else LoomParams()
        return loom if "speed_rpm" in self.params else self.looms[0].nameplate().running(loom)


class EnterpriseSpec(_Model):
    name: str = Field(min_length=1)
    #: A real code; leave out for repeated enterprises (one is generated per copy).
    uscc: str | None = None
    nbs_category: str | None = None
    transport: Transport = "mqtt_gateway"
    repeat: int = Field(default=1, ge=1, le=10_000)
    plants: list[PlantSpec] = Field(min_length=1)
    #: Inspection plans (巡检计划) created for the enterprise as they are; shugu validates them.
    inspection_plans: list[dict[str, Any]] = Field(default_factory=list)
    #: The shift calendar (排班) its machines keep: one, or a list that copies of a repeated
    #: enterprise take in turn.
    calendar: list[CalendarSpec] = Field(default_factory=list)

    @field_validator("calendar", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    def shift_calendar(self, copy: int = 1) -> CalendarSpec | None:
        """The calendar copy ``copy`` keeps (the only one, or its turn in the list)."""
        return nth(self.calendar, copy) if self.calendar else None

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_uscc(value)
            except ShuguValidationError as exc:
                # As a ValueError pydantic reports it with the file's line, like the others.
                raise ValueError(exc.message) from None
        return value


class ParkSpec(_Model):
    name: str = Field(min_length=1)
    #: The county (GB/T 2260, six digits) that generated credit codes of its enterprises name.
    division_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    enterprises: list[EnterpriseSpec] = Field(min_length=1)


class FaultSpec(_Model):
    #: When, from the start of the simulation, and for how long, in simulated time (e.g. 2h).
    at: str
    duration: str | None = None
    enterprise: str
    #: The plant's line name and, optionally, the device the fault hits.
    line: str
    kind: str
    device: str | None = None
    severity: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("at", "duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_bucket(value, "duration")
            except ShuguValidationError as exc:
                raise ValueError(exc.message) from None
        return value


class RegionSpec(_Model):
    code: str = Field(pattern=r"^\d{6}$")
    name: str


class DistrictSpec(_Model):
    name: str
    seed: int = 7
    region: RegionSpec
    parks: list[ParkSpec] = Field(min_length=1)
    faults: list[FaultSpec] = Field(default_factory=list)


class DistrictError(ShuguValidationError):
    code = "bad_district"


def _line_of(node: yaml.Node, path: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``path`` (or of its closest ancestor)."""
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def load_district(path: Path) -> DistrictSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DistrictError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})", field=str(path)
        ) from None
    except OSError as exc:
        raise DistrictError(f"{path}: cannot be read ({exc.strerror})", field=str(path)) from None
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DistrictError(f"{path}: not valid YAML: {exc}", field=str(path)) from None
    except RecursionError:
        # PyYAML composes nested collections recursively: thousands of levels exhaust the stack.
        raise DistrictError(f"{path}: collections nested too deeply", field=str(path)) from None
    if node is None:
        raise DistrictError(f"{path}: the file is empty")
    try:
        return DistrictSpec.model_validate(raw)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            where = ".".join(str(p) for p in loc) or "(top)"
            messages.append(f"{path}:{line}: {where}: {err['msg']}")
        raise DistrictError("; ".join(messages), field=str(path)) from None


def generated_uscc(division: str, serial: int) -> str:
    """A valid code for a simulated enterprise: 9 (market regulator), 1 (enterprise), the
    division, an organisation code numbered from ``serial`` with its GB 11714 check character,
    and the GB 32100 check character."""
    body = f"MA{serial:06d}"
    org_check = compute_organisation_check_char(body)
    assert org_check is not None
    first17 = f"91{division}{body}{org_check}"
    return first17 + compute_check_char(first17)


def expand_enterprises(park: ParkSpec, region_code: str, start: int) -> list[EnterpriseSpec]:
    """Each repeated enterprise as its own copy, with {n} filled in, a code generated, and its
    turn of the nameplates and calendars it varies by."""
    out = []
    division = park.division_code or region_code
    serial = start
    for spec in park.enterprises:
        for n in range(1, spec.repeat + 1):
            serial += 1
            name = spec.name.replace("{n}", f"{n:02d}") if spec.repeat > 1 else spec.name
            uscc = spec.uscc if spec.repeat == 1 and spec.uscc else generated_uscc(division, serial)
            plants = [p.model_copy(update={"looms": [nth(p.looms, n)]}) for p in spec.plants]
            update = {
                "name": name,
                "uscc": uscc,
                "repeat": 1,
                "plants": plants,
                "calendar": [nth(spec.calendar, n)] if spec.calendar else [],
            }
            out.append(spec.model_copy(update=update))
    return out


def device_names(pattern: str, count: int) -> list[str]:
    try:
        check_name_pattern(pattern)
    except ValueError as exc:
        raise DistrictError(str(exc)) from None
    return [pattern.format(i=i) for i in range(1, count + 1)]


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))
