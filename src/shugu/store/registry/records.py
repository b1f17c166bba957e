"""Plain frozen records the registry hands out; ORM objects never leave the registry package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shugu.domain.tenancy import Role


class AssetLevel(StrEnum):
    """ISA-95 equipment hierarchy below the enterprise, top to bottom."""

    SITE = "site"
    AREA = "area"
    LINE = "line"
    UNIT = "unit"

    @property
    def parent_level(self) -> AssetLevel | None:
        """The level an asset of this level must sit under (None: it is a root)."""
        order = list(AssetLevel)
        index = order.index(self)
        return order[index - 1] if index > 0 else None


class TokenKind(StrEnum):
    #: Long-lived tokens a person creates for scripts and integrations.
    API = "api"
    #: Tokens issued by signing in with a password.
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class RegionRecord:
    id: int
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ParkRecord:
    id: int
    region_id: int
    name: str
    division_code: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    id: int
    park_id: int
    name: str
    uscc: str
    uscc_checksum_ok: bool
    uscc_warning: str | None
    nbs_category: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AssetRecord:
    id: int
    enterprise_id: int
    parent_id: int | None
    level: AssetLevel
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AssetNode:
    """An asset with the assets directly under it, for showing an enterprise's plant as a tree."""

    asset: AssetRecord
    children: tuple[AssetNode, ...]


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: int
    enterprise_id: int
    asset_id: int | None
    name: str
    profile: str
    is_gateway: bool
    created_at: datetime
    #: The gateway that carries its data, as ingest last saw it; None: it speaks for itself.
    gateway_id: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: Role
    enterprise_id: int | None
    created_at: datetime
    made_by_operator: bool = False
    #: The park a park official serves (None for every other role).
    park_id: int | None = None
    #: When the account was disabled; None while it may sign in.
    disabled_at: datetime | None = None
    #: Created by someone else with a password it did not choose; cleared when it changes it.
    must_change_password: bool = False

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    id: int
    user_id: int
    name: str
    kind: TokenKind
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token: the plain value is here once and nowhere else."""

    token: str
    record: ApiTokenRecord


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    id: int
    enterprise_id: int
    granted_by: int
    granted_at: datetime
    revoked_at: datetime | None
    note: str
    grantee: str = "bureau"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class ParkSummary:
    """Counts for one park that name no machine: what the bureau sees by default."""

    park_id: int
    park_name: str
    region_id: int
    enterprises: int
    devices: int
