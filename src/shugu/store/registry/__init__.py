"""The registry of the hierarchy, devices and accounts (SQLAlchemy: SQLite or PostgreSQL)."""

from shugu.store.registry.core import hash_token, missing
from shugu.store.registry.engine import normalize_url
from shugu.store.registry.records import (
    ApiTokenRecord,
    AssetLevel,
    AssetNode,
    AssetRecord,
    ConsentRecord,
    DeviceRecord,
    EnterpriseRecord,
    IssuedToken,
    ParkRecord,
    ParkSummary,
    RegionRecord,
    TokenKind,
    UserRecord,
)
from shugu.store.registry.registry import Registry

__all__ = [
    "ApiTokenRecord",
    "AssetLevel",
    "AssetNode",
    "AssetRecord",
    "ConsentRecord",
    "DeviceRecord",
    "EnterpriseRecord",
    "IssuedToken",
    "ParkRecord",
    "ParkSummary",
    "RegionRecord",
    "Registry",
    "TokenKind",
    "UserRecord",
    "hash_token",
    "missing",
    "normalize_url",
]
