"""Tables of the registry: the hierarchy from region to device, accounts, tokens and consents.

These ORM classes never leave the registry package; callers get the frozen records of
``records.py``. The initial Alembic revision mirrors this file; change both together.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Constraint names that are the same on every database, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ENTERPRISE_ROLES = ("enterprise_admin", "enterprise_viewer")
ASSET_LEVELS = ("site", "area", "line", "unit")
TOKEN_KINDS = ("api", "session")
#: An incident is open while an alarm of it is open and nobody has taken it on.
INCIDENT_STATES = ("open", "acknowledged", "closed")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and made aware again when read. Naive datetimes are refused on write because their zone
    would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Park(Base):
    __tablename__ = "parks"
    __table_args__ = (UniqueConstraint("region_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    uscc_checksum_ok: Mapped[bool]
    #: Kept so that a person sees why a checksum-failing code was accepted.
    uscc_warning: Mapped[str | None] = mapped_column(Text)
    nbs_category: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # The enterprise file's own fields (一企一档); the yearly figures, certifications and the
    # bureau's records have tables of their own.
    #: National economy industry class (GB/T 4754-2017), four digits, e.g. 1751.
    industry_code: Mapped[str | None] = mapped_column(String(4))
    #: The county-level division (GB/T 2260) it is registered in.
    division_code: Mapped[str | None] = mapped_column(String(12))
    #: Date of establishment (成立日期): tier criteria count years from it.
    established_on: Mapped[date | None]
    #: On the bureau's key-enterprise watch list (重点企业).
    key_enterprise: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Listed on a stock exchange (a unicorn is unlisted).
    listed: Mapped[bool] = mapped_column(default=False, server_default=false())


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        # Sites have no parent, and NULLs never collide in a unique constraint, so sibling
        # names at the top of the tree need their own partial index.
        Index(
            "uq_assets_site_name",
            "enterprise_id",
            "name",
            unique=True,
            sqlite_where="parent_id IS NULL",
            postgresql_where="parent_id IS NULL",
        ),
        CheckConstraint(_in("level", ASSET_LEVELS), name="level"),
        CheckConstraint(
            "(level = 'site' AND parent_id IS NULL) OR (level <> 'site' AND parent_id IS NOT NULL)",
            name="site_is_root",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    level: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(64))
    #: sha256 hex of the access token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_gateway: Mapped[bool] = mapped_column(default=False)
    #: The gateway that last published for it (MQTT gateway API); None: it speaks for itself.
    #: Learnt by ingest when it changes, so incidents group a gateway with the devices it carries.
    gateway_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: Set when the device is deleted. The row stays so that the id is never reused: telemetry,
    #: alarms and rules name devices by id, and a new device must not inherit them.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            f"({_in('role', ENTERPRISE_ROLES)} AND enterprise_id IS NOT NULL) OR "
            f"(NOT {_in('role', ENTERPRISE_ROLES)} AND enterprise_id IS NULL)",
            name="role_enterprise",
        ),
        CheckConstraint(
            "(role = 'park_official' AND park_id IS NOT NULL) OR "
            "(role <> 'park_official' AND park_id IS NULL)",
            name="role_park",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: The park a park official serves.
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: Made by the platform operator (an enterprise's first administrator): such an account
    #: does not consent to the operator reading the enterprise's values.
    made_by_operator: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: When the account was disabled (停用): it cannot sign in and its tokens are refused.
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Made by someone else with a password its holder did not choose: the console sends the
    #: holder to change it after signing in, until they do.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Consent(Base):
    """An enterprise lets the bureau, or the platform operator, read its machine values until
    the consent is revoked."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: "bureau" or "operator" (domain.tenancy.Grantee).
    grantee: Mapped[str] = mapped_column(String(16), default="bureau", server_default="bureau")
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class MonitorConfig(Base):
    """A monitoring document of an enterprise (or of the platform when enterprise_id is NULL).

    Rules, per-device rule overrides, notification channels, the escalation policy and
    inspection plans are JSON documents validated by the monitor room; the registry only keeps
    them. ``ref`` makes a document unique within its kind (an override's device and rule).
    """

    __tablename__ = "monitor_configs"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class Incident(Base):
    """Alarms that share a cause (事件): grouped by the monitor as they are raised, notified
    and escalated once, acknowledged in one action. ``cause_alarm_id`` names the alarm taken as
    the probable cause; it is a plain number, not a foreign key, because the alarm rows point
    here and a cycle of foreign keys would make neither row insertable first."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_enterprise_id_state", "enterprise_id", "state"),
        CheckConstraint(_in("state", INCIDENT_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    cause_alarm_id: Mapped[int | None]
    alarm_count: Mapped[int] = mapped_column(default=0)
    #: The incident's notices: the escalation state of ``monitor/notify/escalation.py``.
    escalation: Mapped[str] = mapped_column(Text, default="{}")


class Alarm(Base):
    """One alarm of a rule on a device. ``open_key`` is set while the alarm is not cleared, so
    the database itself holds to one open alarm per (rule, device)."""

    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_enterprise_id_status", "enterprise_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_ref: Mapped[str] = mapped_column(String(120))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime]
    value: Mapped[float | None]
    detail: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    shelved_until: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    escalation: Mapped[str] = mapped_column(Text, default="{}")
    #: Held open while its rule flips faster than the rule allows; ``flips`` counts the changes.
    flapping: Mapped[bool] = mapped_column(default=False, server_default=false())
    flips: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: The incident the alarm belongs to; None for alarms raised before incidents existed.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )


class AlarmEvent(Base):
    """The history of an alarm: raised, acknowledged, shelved, notified, cleared."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None]


class InspectionRound(Base):
    """One run of an inspection plan. ``slot`` names a scheduled time so that it runs once."""

    __tablename__ = "inspection_rounds"
    __table_args__ = (
        UniqueConstraint("plan_id", "slot"),
        Index("ix_inspection_rounds_enterprise_id_at", "enterprise_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("monitor_configs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    slot: Mapped[str | None] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    by: Mapped[str | None] = mapped_column(String(64))
    failed: Mapped[int]
    results: Mapped[str] = mapped_column(Text)


class EnergyBaseline(Base):
    """An enterprise's energy baseline (能耗基准): the reference period and output it was fitted
    on, whether weather was asked for, and the fitted model as JSON (analytics/baseline.py reads
    it). One per enterprise; fitting again replaces it."""

    __tablename__ = "energy_baselines"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    reference_start: Mapped[datetime]
    reference_end: Mapped[datetime]
    output_fact: Mapped[str] = mapped_column(String(64))
    output_unit: Mapped[str] = mapped_column(String(32))
    use_weather: Mapped[bool]
    model: Mapped[str] = mapped_column(Text)
    fitted_at: Mapped[datetime]
    fitted_by: Mapped[str] = mapped_column(String(64))


class ShiftCalendarVersion(Base):
    """A version of an enterprise's shift calendar (班次日历), in force from ``effective_from``
    (a local date) until a later version's. Versions are never changed or deleted, so figures of
    the past keep their calendar; ``body`` is the calendar as JSON (analytics/calendar_body.py
    reads it)."""

    __tablename__ = "shift_calendars"
    __table_args__ = (
        Index("ix_shift_calendars_enterprise_id_effective_from", "enterprise_id", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    effective_from: Mapped[date]
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(default=utc_now)
    saved_by: Mapped[str] = mapped_column(String(64))


# -- shared capacity (统一调配产能) -------------------------------------------------------------

CAPACITY_REQUEST_STATES = ("open", "closed")
CAPACITY_MATCH_STATES = ("proposed", "accepted", "declined", "completed")


class CapacityPublication(Base):
    """An enterprise's published idle loom capacity: a snapshot of sums per loom type, width
    class and day (JSON), never a machine. One row per enterprise, withdrawn or republished."""

    __tablename__ = "capacity_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), unique=True
    )
    days: Mapped[int]
    hold_back: Mapped[float]
    cells: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class CapacityRequest(Base):
    """An enterprise asks for fabric to be woven elsewhere: what, how much, by when."""

    __tablename__ = "capacity_requests"
    __table_args__ = (CheckConstraint(_in("status", CAPACITY_REQUEST_STATES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    fabric: Mapped[str] = mapped_column(String(200))
    loom_type: Mapped[str | None] = mapped_column(String(16))
    min_width_cm: Mapped[float]
    picks_per_cm: Mapped[float]
    metres: Mapped[float]
    deadline: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]


class CapacityMatch(Base):
    """A request proposed to one enterprise that published capacity, its answer and outcome."""

    __tablename__ = "capacity_matches"
    __table_args__ = (CheckConstraint(_in("status", CAPACITY_MATCH_STATES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("capacity_requests.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    offerer_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    #: The offer's score and its parts when proposed (JSON), so the choice stays explained.
    ranking: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    delivered_m: Mapped[float | None]
    on_time: Mapped[bool | None]
    outcome_at: Mapped[datetime | None]


class CapacityMatchEvent(Base):
    """Each step of a match: proposed, accepted, declined, outcome; who, from which side, when."""

    __tablename__ = "capacity_match_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(
        ForeignKey("capacity_matches.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    delivered_m: Mapped[float | None]
    on_time: Mapped[bool | None]


# The bureau's tables (region/) and the cluster's, each area in a module of its own; imported
# here so that the metadata, and with it the migrations' check, holds every table.
from shugu.store.registry import (  # noqa: E402
    models_cluster,
    models_detector,
    models_files,
    models_indicators,
    models_operation,
    models_particulars,
    models_policies,
    models_projects,
)

__all__ = [
    "models_cluster",
    "models_detector",
    "models_files",
    "models_indicators",
    "models_operation",
    "models_particulars",
    "models_policies",
    "models_projects",
]
