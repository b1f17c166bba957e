"""An enterprise's consents (数据授权): to the bureau and to the platform operator, each granted
with a note, revoked, and listed with who granted it, when, and when it was revoked.

The page calls the same service as ``/api/enterprises/{id}/consents`` (``store/consent_service``),
so who may grant or revoke, and why not, is decided in one place: only the enterprise's own
administrators grant, and an account the operator made cannot consent to the operator (the page
says so instead of offering the button); the operator may give up its own consent. Whoever may
know of the enterprise sees its history, as through the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import NotFoundError, ShuguError
from shugu.domain.tenancy import Grantee
from shugu.store import consent_service
from shugu.store.registry import ConsentRecord
from shugu.store.registry.consents import MAX_NOTE_LENGTH
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

GRANTEE_LABELS: Final = {
    Grantee.BUREAU.value: N_("Industry bureau"),
    Grantee.OPERATOR.value: N_("Platform operator"),
}


@dataclass
class GrantForm:
    grantee: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GranteeCard:
    """One grantee as the page shows it: its active consent if any, and what the user may do."""

    grantee: str
    active: ConsentRecord | None
    granted_by: str
    can_grant: bool
    #: Why the user may not grant it, in their language ("" when they may, or are no admin).
    refusal: str
    can_revoke: bool


def _cards(
    user: PageUser, enterprise_id: int, history: list[consent_service.ConsentEntry]
) -> list[GranteeCard]:
    cards = []
    for grantee in Grantee:
        active = next(
            (e for e in history if e.record.grantee == grantee.value and e.record.active), None
        )
        refusal = consent_service.grant_refusal(user.access, enterprise_id, grantee)
        # Only an administrator is told why they may not: the others are not asked to.
        told = refusal is not None and refusal.code != "forbidden"
        cards.append(
            GranteeCard(
                grantee=grantee.value,
                active=active.record if active else None,
                granted_by=active.granted_by_name if active else "",
                can_grant=refusal is None and active is None,
                refusal=user.tr.error(refusal.code, refusal.message) if told and refusal else "",
                can_revoke=active is not None
                and consent_service.may_revoke(user.access, active.record),
            )
        )
    return cards


def _page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    form: GrantForm | None = None,
    *,
    status: int = 200,
) -> Response:
    registry = user.services.registry
    history = consent_service.consent_history(registry, user.access, enterprise_id)
    context: dict[str, Any] = {
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "history": history,
        "cards": _cards(user, enterprise_id, history),
        "form": form or GrantForm(),
        "grantee_labels": GRANTEE_LABELS,
        "max_note": MAX_NOTE_LENGTH,
    }
    return render(request, user, "settings/consents.html", context, status_code=status)


@router.get("/e/{enterprise_id}/consents")
def consents_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    return _page(request, user, enterprise_id)


@router.post("/e/{enterprise_id}/consents")
def grant_consent(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    grantee: Annotated[str, Form()] = Grantee.BUREAU.value,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Grant the bureau or the operator consent, with a note saying why."""
    registry = user.services.registry
    form = GrantForm(grantee=grantee, note=note)
    if grantee not in GRANTEE_LABELS:
        consent_service.list_consents(registry, user.access, enterprise_id)  # 404 comes first
        form.errors["grantee"] = user.tr.error("grantee_invalid")
        return _page(request, user, enterprise_id, form, status=422)
    if len(note) > MAX_NOTE_LENGTH:
        consent_service.list_consents(registry, user.access, enterprise_id)
        form.errors["note"] = user.tr("At most {n} characters.", n=MAX_NOTE_LENGTH)
        return _page(request, user, enterprise_id, form, status=422)
    try:
        consent_service.grant(registry, user.access, enterprise_id, Grantee(grantee), note)
    except NotFoundError:
        raise
    except ShuguError as exc:
        if exc.http_status in (401, 403):
            raise
        form.errors["_form"] = user.tr.error(exc.code, exc.message)
        return _page(request, user, enterprise_id, form, status=exc.http_status)
    return RedirectResponse(f"/e/{enterprise_id}/consents", status_code=303)


@router.post("/e/{enterprise_id}/consents/{consent_id}/revoke")
def revoke_consent(
    request: Request, enterprise_id: int, consent_id: int, user: PageUserDep
) -> Response:
    registry = user.services.registry
    consent = registry.get_consent(consent_id)
    if consent.enterprise_id != enterprise_id:
        raise NotFoundError("no such consent")
    consent_service.revoke(registry, user.access, consent_id)
    return RedirectResponse(f"/e/{enterprise_id}/consents", status_code=303)
