"""An enterprise's consents to the bureau and to the platform operator: their history, granting
and revoking, with who may do which.

Only the enterprise's own administrators grant consent, and not to the operator from an account
the operator made (that would be the operator consenting to itself); any of them revokes one, and
the operator may give up its own. An enterprise the caller may not know of, or a consent of one,
is refused as missing (404); a visible one the caller may not act on, as forbidden (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Grantee, Role
from shugu.store.registry import ConsentRecord, EnterpriseRecord, Registry, missing


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """A consent with the name of the account that granted it ("" for a caller who may not
    list the enterprise's accounts)."""

    record: ConsentRecord
    granted_by_name: str


def _visible_enterprise(registry: Registry, access: Access, enterprise_id: int) -> EnterpriseRecord:
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    return registry.get_enterprise(enterprise_id)


def list_consents(registry: Registry, access: Access, enterprise_id: int) -> list[ConsentRecord]:
    """Every consent of the enterprise, active and revoked, oldest first."""
    _visible_enterprise(registry, access, enterprise_id)
    return registry.list_consents(enterprise_id)


def consent_history(registry: Registry, access: Access, enterprise_id: int) -> list[ConsentEntry]:
    """``list_consents`` with who granted each, newest first. Account names go only to whoever
    may list the enterprise's accounts (``GET /api/users``: its administrators and the
    operator), not to the bureau or the enterprise's viewers."""
    records = list_consents(registry, access, enterprise_id)
    if not access.can_manage_enterprise(enterprise_id):
        return [ConsentEntry(record, "") for record in reversed(records)]
    names = {user.id: user.username for user in registry.list_users(enterprise_id)}
    return [
        ConsentEntry(record, names.get(record.granted_by, f"#{record.granted_by}"))
        for record in reversed(records)
    ]


def grant_refusal(access: Access, enterprise_id: int, grantee: Grantee) -> ForbiddenError | None:
    """Why the caller may not grant this consent, or None when it may."""
    if not access.can_revoke_consent(enterprise_id):
        return ForbiddenError(
            "only the enterprise's own administrators grant consent", code="forbidden"
        )
    if not access.can_grant_consent(enterprise_id, grantee):
        return ForbiddenError(
            "this account was made by the platform operator, so it may not consent to the "
            "operator reading the enterprise's values; an administrator account the enterprise "
            "made itself grants that consent",
            code="consent_from_operator_account",
        )
    return None


def grant(
    registry: Registry, access: Access, enterprise_id: int, grantee: Grantee, note: str = ""
) -> ConsentRecord:
    """Let the grantee read the enterprise's machine values until revoked."""
    _visible_enterprise(registry, access, enterprise_id)
    refusal = grant_refusal(access, enterprise_id, grantee)
    if refusal is not None:
        raise refusal
    return registry.grant_consent(enterprise_id, access.principal.user_id, note, grantee.value)


def may_revoke(access: Access, consent: ConsentRecord) -> bool:
    """The enterprise's administrators end any of its consents; the operator its own."""
    renounced = access.role is Role.OPERATOR and consent.grantee == Grantee.OPERATOR
    return access.can_revoke_consent(consent.enterprise_id) or renounced


def revoke(registry: Registry, access: Access, consent_id: int) -> ConsentRecord:
    """End a consent (revoking it again keeps the first revocation time)."""
    consent = registry.get_consent(consent_id)
    if not access.can_see_enterprise(consent.enterprise_id):
        raise missing("consent")
    if not may_revoke(access, consent):
        raise ForbiddenError(
            "only the enterprise's administrators revoke consent (the operator may give up its "
            "own)",
            code="forbidden",
        )
    return registry.revoke_consent(consent_id)
