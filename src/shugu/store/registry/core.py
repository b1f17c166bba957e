"""What every part of the registry shares: the engine, sessions, caches and small helpers."""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.domain.tenancy import Principal
from shugu.store.registry.cache import TtlCache
from shugu.store.registry.engine import create_registry_engine, upgrade_to_head
from shugu.store.registry.models import utc_now

#: Hot-path lookups are trusted for this long before the database is asked again.
DEFAULT_CACHE_TTL_S = 5.0

MAX_NAME_LENGTH = 200

T = TypeVar("T")


def hash_token(token: str) -> str:
    """Tokens are stored as their sha256: random tokens need no salt or slow hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def missing(kind: str, *, field: str | None = None) -> NotFoundError:
    """The one answer for an object that does not exist or that the caller may not see.

    Routes raise the same error for objects outside the caller's scope, so that the answer
    never tells the two cases apart.
    """
    details = {"field": field} if field is not None else {}
    return NotFoundError(f"no such {kind}", code="not_found", **details)


def clean_name(value: str, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A display name: surrounding whitespace removed, not empty, no control characters."""
    cleaned = value.strip()
    if not cleaned:
        raise ValidationError(f"{field} must not be empty", code="name_required", field=field)
    if len(cleaned) > max_length:
        raise ValidationError(
            f"{field} has {len(cleaned)} characters; at most {max_length} are allowed",
            code="name_too_long",
            field=field,
        )
    for char in cleaned:
        category = unicodedata.category(char)
        if category == "Cc":
            raise ValidationError(
                f"{field} contains the control character U+{ord(char):04X}",
                code="name_invalid",
                field=field,
            )
        if category == "Cs":
            # A lone surrogate (JSON lets one be escaped) is not text the database can keep.
            raise ValidationError(
                f"{field} contains the lone surrogate U+{ord(char):04X}, which is not text",
                code="name_invalid",
                field=field,
            )
    return cleaned


class RegistryCore:
    """Opens the database (migrating it to the newest schema) and holds the hot-path caches."""

    def __init__(
        self,
        url: str,
        *,
        password_hasher: PasswordHasher | None = None,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = create_registry_engine(url)
        upgrade_to_head(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._hasher = password_hasher or PasswordHasher()
        self._dummy_password_hash: str | None = None
        self._now = now
        self._device_by_token: TtlCache[str, DeviceRef | None] = TtlCache(
            cache_ttl_s, clock=monotonic
        )
        self._principal_by_token: TtlCache[str, Principal | None] = TtlCache(
            cache_ttl_s, clock=monotonic
        )
        #: (enterprise id, grantee) → whether a consent is active
        self._consent_by_enterprise: TtlCache[tuple[int, str], bool] = TtlCache(
            cache_ttl_s, clock=monotonic
        )
        #: enterprise id → its park (None: no such enterprise), asked for park officials' scope
        self._park_by_enterprise: TtlCache[int, int | None] = TtlCache(cache_ttl_s, clock=monotonic)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._engine.dialect.name

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @staticmethod
    def _flush_unique(session: Session, conflict: ConflictError) -> None:
        """Flush, turning a unique-constraint race into the caller's conflict error.

        Callers check for duplicates first to give a precise message; this catches the
        duplicate another process inserted between that check and the insert.
        """
        try:
            session.flush()
        except IntegrityError as exc:
            raise conflict from exc

    def _upsert(self, write: Callable[[], T]) -> T:
        """Run ``write`` (a select-then-insert-or-update in its own transaction) and, should
        another writer have inserted the same key between its select and its insert, once more:
        the second time it finds the row and updates it."""
        try:
            return write()
        except IntegrityError:
            return write()

    def clear_caches(self) -> None:
        """Forget every cached lookup (after changes made by other processes, say)."""
        self._device_by_token.clear()
        self._principal_by_token.clear()
        self._consent_by_enterprise.clear()
        self._park_by_enterprise.clear()

    def close(self) -> None:
        self.clear_caches()
        self._engine.dispose()
