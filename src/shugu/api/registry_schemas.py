"""Request and response bodies of the registry and auth routes.

Field names are English and stable; values (names of parks, enterprises, devices) may be in any
language. Responses are built from the registry's frozen records with ``from_record``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field

from shugu.domain.tenancy import Grantee, Role
from shugu.store.registry import AssetLevel, TokenKind

#: A display name; the registry also strips it and refuses control characters.
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def from_record(cls, record: Any) -> Self:
        return cls.model_validate(record, from_attributes=True)


# Requests -----------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    #: The rules (10 to 256 characters, not the username, not the current password) are the
    #: registry's, so that each refusal names its reason with a code.
    new_password: str = Field(min_length=1, max_length=1024)


class TokenIn(BaseModel):
    name: Name
    #: Lifetime in seconds; leave out for a token that lasts until revoked.
    #: At most ten years; leave out for a token without expiry.
    ttl_seconds: int | None = Field(default=None, gt=0, le=10 * 366 * 86_400)


class RegionIn(BaseModel):
    code: str = Field(description="six-digit GB/T 2260 division code", examples=["210200"])
    name: Name


class ParkIn(BaseModel):
    region_id: int
    name: Name
    division_code: str | None = Field(
        default=None, description="GB/T 2260 code (6, 9 or 12 digits) of where the park lies"
    )


class EnterpriseIn(BaseModel):
    park_id: int
    name: Name
    uscc: str = Field(description="unified social credit code, 18 characters")
    nbs_category: str | None = Field(
        default=None, description="NBS digital-economy category, 2 or 4 digits"
    )


class AssetIn(BaseModel):
    level: AssetLevel
    name: Name
    parent_id: int | None = None


class DeviceIn(BaseModel):
    name: Name
    profile: str = Field(min_length=1, max_length=64, examples=["loom"])
    asset_id: int | None = None
    is_gateway: bool = False


class ConsentIn(BaseModel):
    note: str = Field(default="", max_length=2000)
    grantee: Grantee = Field(
        default=Grantee.BUREAU,
        description="who may read the enterprise's machine values: bureau or operator",
    )


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    enterprise_id: int | None = None
    #: The park a park official serves (role park_official only).
    park_id: int | None = None


class UserPatch(BaseModel):
    """What may change of an account: its role (within its kind) and whether it is disabled."""

    role: Role | None = None
    disabled: bool | None = Field(
        default=None, description="true: it cannot sign in and its tokens are revoked at once"
    )


# Responses ----------------------------------------------------------------------------------


class UserOut(Out):
    id: int
    username: str
    role: Role
    enterprise_id: int | None
    created_at: datetime
    made_by_operator: bool = Field(
        False, description="made by the platform operator: it may not consent for the operator"
    )
    park_id: int | None = Field(None, description="the park a park official serves")
    disabled_at: datetime | None = Field(
        None, description="when the account was disabled; null while it may sign in"
    )
    must_change_password: bool = Field(
        False,
        description="made by someone else with a password its holder has not yet changed",
    )


class LoginOut(BaseModel):
    #: Id of the session token, for signing out with DELETE /api/auth/tokens/{id}.
    id: int
    token: str
    expires_at: datetime | None
    user: UserOut


class TokenOut(Out):
    id: int
    name: str
    kind: TokenKind
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    id: int
    #: Shown this once; shugu keeps only its hash.
    token: str
    name: str
    expires_at: datetime | None


class RegionOut(Out):
    id: int
    code: str
    name: str
    created_at: datetime


class ParkOut(Out):
    id: int
    region_id: int
    name: str
    division_code: str | None
    created_at: datetime


class EnterpriseOut(Out):
    id: int
    park_id: int
    name: str
    uscc: str
    uscc_checksum_ok: bool
    #: Why a code that fails the checksum was accepted, for a person to verify.
    uscc_warning: str | None
    nbs_category: str | None
    created_at: datetime


class AssetOut(Out):
    id: int
    enterprise_id: int
    parent_id: int | None
    level: AssetLevel
    name: str
    created_at: datetime


class DeviceOut(Out):
    id: int
    enterprise_id: int
    asset_id: int | None
    name: str
    profile: str
    is_gateway: bool
    created_at: datetime


class DeviceCreated(BaseModel):
    device: DeviceOut
    #: The device's access token, shown this once; shugu keeps only its hash.
    token: str


class DeviceToken(BaseModel):
    token: str


class ConsentOut(Out):
    id: int
    enterprise_id: int
    granted_by: int
    granted_at: datetime
    revoked_at: datetime | None
    note: str
    grantee: Grantee
    active: bool


class ParkSummaryOut(Out):
    park_id: int
    park_name: str
    region_id: int
    enterprises: int
    devices: int


class SummaryOut(BaseModel):
    enterprises: int
    devices: int
    parks: list[ParkSummaryOut]
