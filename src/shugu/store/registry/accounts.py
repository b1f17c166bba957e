"""People: accounts with a role, password sign-in, and the bearer tokens requests carry."""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shugu.domain.errors import AuthError, ConflictError, ForbiddenError, ValidationError
from shugu.domain.tenancy import Principal, Role
from shugu.store.registry.core import RegistryCore, clean_name, hash_token, missing
from shugu.store.registry.models import ApiToken, Enterprise, Park, User
from shugu.store.registry.passwords import check_new_password, encodable
from shugu.store.registry.records import ApiTokenRecord, IssuedToken, TokenKind, UserRecord

MIN_PASSWORD_LENGTH = 8
MAX_USERNAME_LENGTH = 64
#: 32 random bytes, the same strength as the sha256 the token is stored as.
API_TOKEN_BYTES = 32
#: The largest id a database integer key holds; a larger one names nothing (and must not reach
#: the driver, which would fail on it rather than find no row).
MAX_ID = 2**63 - 1


def user_record(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        enterprise_id=row.enterprise_id,
        created_at=row.created_at,
        made_by_operator=row.made_by_operator,
        park_id=row.park_id,
        disabled_at=row.disabled_at,
        must_change_password=row.must_change_password,
    )


def token_record(row: ApiToken) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        kind=TokenKind(row.kind),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _principal(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        made_by_operator=user.made_by_operator,
        park_id=user.park_id,
    )


def _check_username(username: str) -> str:
    cleaned = clean_name(username, "username", max_length=MAX_USERNAME_LENGTH)
    for char in cleaned:
        if char.isspace() or unicodedata.category(char) == "Cf":
            raise ValidationError(
                "a username has no spaces or invisible characters",
                code="username_invalid",
                field="username",
            )
    return cleaned


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters",
            code="password_too_short",
            field="password",
        )


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationError(
            f"{role!r} is no role; use one of {known}", code="unknown_role", field="role"
        ) from None


def _check_binding(role: Role, enterprise_id: int | None, park_id: int | None) -> None:
    """An enterprise account names its enterprise, a park official its park, nobody else
    either (the table's checks say the same; this says it in words)."""
    if role.bound_to_enterprise and enterprise_id is None:
        raise ValidationError(
            f"a user with role {role} belongs to an enterprise; give enterprise_id",
            code="enterprise_required",
            field="enterprise_id",
        )
    if not role.bound_to_enterprise and enterprise_id is not None:
        raise ValidationError(
            f"a user with role {role} belongs to no enterprise; leave enterprise_id out",
            code="enterprise_not_allowed",
            field="enterprise_id",
        )
    if role.bound_to_park and park_id is None:
        raise ValidationError(
            f"a user with role {role} serves a park; give park_id",
            code="park_required",
            field="park_id",
        )
    if not role.bound_to_park and park_id is not None:
        raise ValidationError(
            f"a user with role {role} serves no park; leave park_id out",
            code="park_not_allowed",
            field="park_id",
        )


def _exists(session: Session, model: type[Enterprise] | type[Park], key: int) -> bool:
    return 0 < key <= MAX_ID and session.get(model, key) is not None


class AccountMixin(RegistryCore):
    # Users ---------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        enterprise_id: int | None = None,
        *,
        made_by_operator: bool = False,
        park_id: int | None = None,
        must_change_password: bool = False,
    ) -> UserRecord:
        name = _check_username(username)
        _check_password(password)
        user_role = _parse_role(role)
        _check_binding(user_role, enterprise_id, park_id)
        taken = ConflictError(
            f"the username {name!r} is taken", code="username_taken", field="username"
        )
        password_hash = self._hasher.hash(password)
        with self._session() as session:
            if enterprise_id is not None and not _exists(session, Enterprise, enterprise_id):
                raise missing("enterprise", field="enterprise_id")
            if park_id is not None and not _exists(session, Park, park_id):
                raise missing("park", field="park_id")
            if session.scalar(select(User.id).where(User.username == name)) is not None:
                raise taken
            row = User(
                username=name,
                password_hash=password_hash,
                role=user_role,
                enterprise_id=enterprise_id,
                park_id=park_id,
                made_by_operator=made_by_operator,
                must_change_password=must_change_password,
            )
            session.add(row)
            self._flush_unique(session, taken)
            return user_record(row)

    def get_user(self, user_id: int) -> UserRecord:
        with self._session() as session:
            row = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
            if row is None:
                raise missing("user")
            return user_record(row)

    def user_by_username(self, username: str) -> UserRecord | None:
        with self._session() as session:
            row = session.scalar(select(User).where(User.username == username.strip()))
            return user_record(row) if row is not None else None

    def list_users(self, enterprise_id: int | None = None) -> list[UserRecord]:
        query = select(User).order_by(User.id)
        if enterprise_id is not None:
            query = query.where(User.enterprise_id == enterprise_id)
        with self._session() as session:
            return [user_record(u) for u in session.scalars(query)]

    def park_of_enterprise(self, enterprise_id: int) -> int | None:
        """The park an enterprise lies in, None when there is no such enterprise (cached: a
        park official's every request asks it for each enterprise it touches; an answer of
        None is not kept, since the enterprise may be registered the next moment)."""
        hit = self._park_by_enterprise.get(enterprise_id)
        if hit is not None:
            return hit.value
        generation = self._park_by_enterprise.generation
        with self._session() as session:
            park_id = session.scalar(
                select(Enterprise.park_id).where(Enterprise.id == enterprise_id)
            )
        if park_id is not None:
            self._park_by_enterprise.put(enterprise_id, park_id, generation=generation)
        return park_id

    def forget_park_of_enterprise(self, enterprise_id: int) -> None:
        """Drop the cached park of an enterprise (after it moved to another park)."""
        self._park_by_enterprise.discard(enterprise_id)

    def set_user_role(self, user_id: int, role: Role | str) -> UserRecord:
        """Give an account another role of the same binding (an enterprise's, a park's or the
        platform's); its open sessions and tokens speak with the new role at once."""
        new_role = _parse_role(role)
        with self._session() as session:
            row = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
            if row is None:
                raise missing("user")
            _check_binding(new_role, row.enterprise_id, row.park_id)
            row.role = new_role
            record = user_record(row)
            token_hashes = self._token_hashes(session, user_id)
        self._forget_principals(token_hashes)
        return record

    def set_user_disabled(self, user_id: int, disabled: bool) -> UserRecord:
        """Disable (停用) or enable an account. Disabling revokes every token it holds, sessions
        and API tokens alike, so that enabling it again brings none of them back."""
        now = self._now()
        with self._session() as session:
            row = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
            if row is None:
                raise missing("user")
            if disabled and row.disabled_at is None:
                row.disabled_at = now
                for token in session.scalars(
                    select(ApiToken).where(
                        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
                    )
                ):
                    token.revoked_at = now
            elif not disabled:
                row.disabled_at = None
            record = user_record(row)
            token_hashes = self._token_hashes(session, user_id)
        self._forget_principals(token_hashes)
        return record

    @staticmethod
    def _token_hashes(session: Session, user_id: int) -> list[str]:
        return list(session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user_id)))

    def _forget_principals(self, token_hashes: list[str]) -> None:
        for token_hash in token_hashes:
            self._principal_by_token.discard(token_hash)

    def set_password(self, user_id: int, password: str) -> None:
        _check_password(password)
        password_hash = self._hasher.hash(password)
        with self._session() as session:
            row = session.get(User, user_id)
            if row is None:
                raise missing("user")
            row.password_hash = password_hash

    def set_must_change_password(self, user_id: int, value: bool) -> None:
        """Ask the holder to replace the password at its next sign-in, or stop asking."""
        with self._session() as session:
            row = session.get(User, user_id)
            if row is None:
                raise missing("user")
            row.must_change_password = value

    def change_password(self, user_id: int, current_password: str, new_password: str) -> UserRecord:
        """The holder's own change: the current password proves it is them, the new one
        follows ``passwords.py``. Every token of the account is revoked, sessions and API
        tokens alike (whoever held one may have held the old password too); the caller issues
        the changing session a fresh one. Clears ``must_change_password``.

        A wrong current password is ForbiddenError(code='wrong_current_password'), which the
        caller counts as a failed sign-in. The rules are checked first: they need no hash and
        say nothing about the stored password.
        """
        wrong = ForbiddenError(
            "the current password is wrong",
            code="wrong_current_password",
            field="current_password",
        )
        with self._session() as session:
            row = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
            if row is None:
                raise missing("user")
            username, stored_hash = row.username, row.password_hash
        check_new_password(username, current_password, new_password)
        if not encodable(current_password):
            raise wrong
        # Both slow hashes run outside any transaction.
        try:
            self._hasher.verify(stored_hash, current_password)
        except (VerificationError, InvalidHashError):
            raise wrong from None
        new_hash = self._hasher.hash(new_password)
        now = self._now()
        with self._session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise missing("user")
            if user.password_hash != stored_hash:
                # Changed meanwhile by another request: what was given is no longer current.
                raise wrong
            user.password_hash = new_hash
            user.must_change_password = False
            for token in session.scalars(
                select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            ):
                token.revoked_at = now
            record = user_record(user)
            token_hashes = self._token_hashes(session, user_id)
        self._forget_principals(token_hashes)
        return record

    def authenticate_password(self, username: str, password: str) -> Principal:
        """The principal for a username and password, or AuthError(code='bad_credentials').

        An unknown username costs the same password hash as a known one, and both failures
        give the same answer, so that sign-in does not reveal which usernames exist.
        """
        failure = AuthError("the username or password is wrong", code="bad_credentials")
        if not encodable(password):
            # No password is text UTF-8 cannot write (a JSON "\ud800"), so it is wrong for
            # every username alike; the hash could not read it and would raise.
            raise failure
        # The slow hash runs outside any transaction, so sign-ins hold no connection meanwhile.
        with self._session() as session:
            row = session.scalar(select(User).where(User.username == username.strip()))
            found = (
                (_principal(row), row.password_hash, row.disabled_at is not None)
                if row is not None
                else None
            )
        if found is None:
            self._verify_against_dummy(password)
            raise failure
        principal, stored_hash, disabled = found
        try:
            self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            raise failure from None
        if disabled:
            # Said only to whoever knows the password: it is why their sign-in fails.
            raise AuthError("this account is disabled", code="account_disabled")
        if self._hasher.check_needs_rehash(stored_hash):
            # Hash parameters were raised since this password was set.
            new_hash = self._hasher.hash(password)
            with self._session() as session:
                user = session.get(User, principal.user_id)
                if user is not None and user.password_hash == stored_hash:
                    user.password_hash = new_hash
        return principal

    def _verify_against_dummy(self, password: str) -> None:
        if self._dummy_password_hash is None:
            self._dummy_password_hash = self._hasher.hash(secrets.token_urlsafe(16))
        with contextlib.suppress(VerificationError, InvalidHashError):
            self._hasher.verify(self._dummy_password_hash, password)

    # Tokens --------------------------------------------------------------------------------

    def issue_api_token(
        self,
        user_id: int,
        name: str,
        ttl_seconds: int | None = None,
        kind: TokenKind | str = TokenKind.API,
    ) -> IssuedToken:
        """Create a bearer token for a user; the plain token is in the answer and nowhere else."""
        clean = clean_name(name, "name")
        try:
            token_kind = TokenKind(kind)
        except ValueError:
            raise ValidationError(
                f"{kind!r} is no token kind; use api or session",
                code="bad_token_kind",
                field="kind",
            ) from None
        if ttl_seconds is not None and not 0 < ttl_seconds <= 10 * 366 * 86_400:
            raise ValidationError(
                "ttl_seconds must be 1 s to ten years, or left out for no expiry",
                code="bad_ttl",
                field="ttl_seconds",
            )
        token = secrets.token_urlsafe(API_TOKEN_BYTES)
        now = self._now()
        with self._session() as session:
            if session.get(User, user_id) is None:
                raise missing("user", field="user_id")
            row = ApiToken(
                user_id=user_id,
                name=clean,
                token_hash=hash_token(token),
                kind=token_kind,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
            )
            session.add(row)
            session.flush()
            record = token_record(row)
        self._principal_by_token.discard(hash_token(token))
        return IssuedToken(token=token, record=record)

    def create_api_token(
        self,
        user_id: int,
        name: str,
        ttl_seconds: int | None = None,
        kind: TokenKind | str = TokenKind.API,
    ) -> str:
        """Like ``issue_api_token``, for callers that need only the plain token."""
        return self.issue_api_token(user_id, name, ttl_seconds, kind).token

    def get_api_token(self, token_id: int) -> ApiTokenRecord:
        with self._session() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise missing("token")
            return token_record(row)

    def list_api_tokens(self, user_id: int) -> list[ApiTokenRecord]:
        with self._session() as session:
            rows = session.scalars(
                select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
            )
            return [token_record(r) for r in rows]

    def revoke_api_token(self, token_id: int) -> ApiTokenRecord:
        """Revoke a token; revoking it again keeps the first revocation time."""
        with self._session() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise missing("token")
            if row.revoked_at is None:
                row.revoked_at = self._now()
            record = token_record(row)
            token_hash = row.token_hash
        self._principal_by_token.discard(token_hash)
        return record

    def revoke_token_value(self, token: str) -> ApiTokenRecord | None:
        """Revoke the token with this plain value (signing out); None if there is none."""
        key = hash_token(token)
        with self._session() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == key))
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = self._now()
            record = token_record(row)
        self._principal_by_token.discard(key)
        return record

    def principal_for_token(self, token: str) -> Principal | None:
        """Who a bearer token speaks for, or None if unknown, expired or revoked (cached)."""
        key = hash_token(token)
        hit = self._principal_by_token.get(key)
        if hit is not None:
            return hit.value
        generation = self._principal_by_token.generation
        now = self._now()
        with self._session() as session:
            found = session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == key)
            ).first()
            if found is None:
                principal, expires_at = None, None
            else:
                token_row, user = found
                expires_at = token_row.expires_at
                usable = (
                    token_row.revoked_at is None
                    and user.disabled_at is None
                    and (expires_at is None or expires_at > now)
                )
                principal = _principal(user) if usable else None
        # An entry must not outlive the token it vouches for.
        ttl = _seconds_until(expires_at, now) if principal is not None else None
        self._principal_by_token.put(key, principal, generation=generation, ttl_s=ttl)
        return principal


def _seconds_until(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (moment - now).total_seconds()
