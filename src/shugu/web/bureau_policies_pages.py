"""Policies (惠企政策) in the console: the policies in force and one policy with who qualifies and
the total cost; an enterprise's policies (qualifying with the amount explained, nearly with what
is missing), its entitlements with the objection form, and its innovation points; the bureau's
grant batches (compute, review, approve) with objections to resolve; the points ranking.

The pages call the same service as ``/api/region/…`` (``region/policies/service.py``), which
decides who may do what.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ValidationError
from shugu.domain.tenancy import Role
from shugu.region.policies.service import PolicyService
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

STATUS = {
    "qualifies": N_("Qualifies"),
    "nearly": N_("Nearly qualifies"),
    "no": N_("Does not qualify"),
}
REDEEM = {
    "granted": N_("Granted without applying (免申即享)"),
    "quick": N_("Quick application (快申快享)"),
    "standard": N_("Standard procedure"),
}
LINE_STATUS = {
    "listed": N_("Listed"),
    "granted": N_("Granted"),
    "objected": N_("Objected"),
    "amended": N_("Amended"),
    "removed": N_("Removed"),
}
BATCH_STATUS = {
    "computed": N_("Computed, waiting for approval"),
    "approved": N_("Approved"),
    "discarded": N_("Discarded"),
}
EVENT_KINDS = {
    "computed": N_("Computed"),
    "approved": N_("Approved"),
    "discarded": N_("Discarded"),
    "objected": N_("Objection"),
    "upheld": N_("Objection upheld"),
    "rejected": N_("Objection rejected"),
}


def _service(user: PageUser) -> PolicyService:
    return user.services.region.policies


def _labels(user: PageUser) -> dict[str, Any]:
    return {
        "en": user.tr.lang == "en",
        "status_labels": STATUS,
        "redeem_labels": REDEEM,
        "line_status": LINE_STATUS,
        "batch_status": BATCH_STATUS,
        "event_kinds": EVENT_KINDS,
        "overseer": user.access.is_bureau() or user.role is Role.PARK_OFFICIAL,
        "is_bureau": user.access.is_bureau(),
    }


def _names(user: PageUser) -> dict[int, str]:
    return {e.id: e.name for e in user.services.registry.list_enterprises()}


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _amount(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationError(
            "amount_wan: a number of 万元", code="amount_invalid", field="amount_wan"
        ) from None


def _days(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationError(
            "objection_days: 1 to 365", code="objection_days_invalid", field="objection_days"
        ) from None


# -- policies ----------------------------------------------------------------------------------


@router.get("/bureau/policies")
def policies_page(request: Request, user: PageUserDep) -> Response:
    """The policies in force, for every signed-in user: policies are public documents."""
    context = {**_labels(user), "entries": _service(user).policies()}
    return render(request, user, "bureau/policies/list.html", context)


@router.get("/bureau/policies/{code}")
def policy_page(request: Request, code: str, user: PageUserDep) -> Response:
    service = _service(user)
    entry = service.policy(code)
    labels = _labels(user)
    reach = service.reach(user.access, code) if labels["overseer"] else None
    context = {
        **labels,
        "entry": entry,
        "versions": service.versions(code),
        "reach": reach,
        "names": _names(user),
    }
    return render(request, user, "bureau/policies/detail.html", context)


# -- one enterprise ----------------------------------------------------------------------------


@router.get("/e/{enterprise_id}/policies")
def enterprise_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    service = _service(user)
    matches = service.for_enterprise(user.access, enterprise_id)
    context = {
        **_labels(user),
        "enterprise": user.services.registry.get_enterprise(enterprise_id),
        "matches": matches,
        "entitlements": service.entitlements(user.access, enterprise_id),
        "score": service.points(user.access, enterprise_id),
        "max_points": service.model.max_points,
        "can_object": user.access.can_file_for(enterprise_id),
    }
    return render(request, user, "bureau/policies/enterprise.html", context)


@router.post("/e/{enterprise_id}/entitlements/{line_id}/objection")
def object_form(
    enterprise_id: int,
    line_id: int,
    user: PageUserDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    service = _service(user)
    line = service.object(user.access, line_id, user.principal.username, reason)
    return _see_other(f"/e/{line.enterprise_id}/policies#entitlements")


# -- grant batches (免申即享) -------------------------------------------------------------------


@router.get("/bureau/grants")
def grants_page(request: Request, user: PageUserDep) -> Response:
    service = _service(user)
    batches = service.batches(user.access)
    granted = [e for e in service.policies() if e.policy.redeem == "granted"]
    context = {**_labels(user), "batches": batches, "granted": granted}
    return render(request, user, "bureau/policies/grants.html", context)


@router.post("/bureau/grants")
def compute_form(user: PageUserDep, policy_code: Annotated[str, Form()] = "") -> Response:
    batch = _service(user).compute_batch(user.access, policy_code, user.principal.username)
    return _see_other(f"/bureau/grants/{batch.id}")


@router.get("/bureau/grants/{batch_id}")
def batch_page(request: Request, batch_id: int, user: PageUserDep) -> Response:
    service = _service(user)
    batch = service.batch(user.access, batch_id)
    context = {
        **_labels(user),
        "batch": batch,
        "policy": service.policy(batch.policy_code).policy,
        "names": _names(user),
    }
    return render(request, user, "bureau/policies/batch.html", context)


@router.post("/bureau/grants/{batch_id}/approve")
def approve_form(
    batch_id: int, user: PageUserDep, objection_days: Annotated[str, Form()] = ""
) -> Response:
    days = _days(objection_days)
    _service(user).decide(
        user.access, batch_id, user.principal.username, approve=True, objection_days=days
    )
    return _see_other(f"/bureau/grants/{batch_id}")


@router.post("/bureau/grants/{batch_id}/discard")
def discard_form(batch_id: int, user: PageUserDep) -> Response:
    _service(user).decide(user.access, batch_id, user.principal.username, approve=False)
    return _see_other(f"/bureau/grants/{batch_id}")


@router.post("/bureau/grants/{batch_id}/lines/{line_id}/resolve")
def resolve_form(
    batch_id: int,
    line_id: int,
    user: PageUserDep,
    decision: Annotated[str, Form()] = "",
    amount_wan: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    if decision not in ("upheld", "rejected"):
        raise ValidationError("decision: upheld or rejected", code="invalid", field="decision")
    line = _service(user).resolve(
        user.access,
        line_id,
        user.principal.username,
        upheld=decision == "upheld",
        amount_wan=_amount(amount_wan) if decision == "upheld" else None,
        note=note,
    )
    return _see_other(f"/bureau/grants/{line.batch_id}")


# -- innovation points -------------------------------------------------------------------------


@router.get("/bureau/innovation-points")
def points_page(request: Request, user: PageUserDep) -> Response:
    service = _service(user)
    context = {
        **_labels(user),
        "ranking": service.points_ranking(user.access),
        "model": service.model,
        "names": _names(user),
    }
    return render(request, user, "bureau/policies/points.html", context)
