"""An enterprise's settings pages: its notification channels (webhook, DingTalk, WeCom, e-mail)
and escalation policy, with a "send a test notice" button per channel. Its consents to the
bureau and to the operator are ``consent_pages``.

Channels are shown to whoever the API shows them to (``GET /api/enterprises/{id}/notify``: the
enterprise's administrators and the operator), secrets masked, and changed by whoever may change
them (``require_alarm_admin``: the operator only with the enterprise's consent). Every change goes
through ``monitor/notify/channel_edits.py`` to the same settings service as the API's, so it is
validated, its target vetted and the monitor reconfigured alike; errors are shown beside their
fields in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import require_alarm_admin, require_enterprise_admin
from shugu.domain.errors import NotFoundError, ShuguError
from shugu.monitor.notify import channel_edits, settings_service
from shugu.monitor.notify.test_notice import SentTestNotice, send_test_notice
from shugu.web.channel_form import (
    KIND_FIELDS,
    KIND_LABELS,
    LANG_LABELS,
    ChannelForm,
    form_of,
    parse_form,
    place_error,
)
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_MINUTES: Final = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """What the "send a test notice" button reports."""

    delivered: bool
    elapsed_ms: int = 0
    code: str = ""
    #: The failure in the user's language, and the server's own words (technical detail).
    message: str = ""
    detail: str = ""
    http_status: int | None = None


@dataclass
class PolicyForm:
    first: list[str]
    second: list[str]
    repeat_every_min: str
    escalate_after_min: str
    errors: dict[str, str]


def _base(enterprise_id: int) -> str:
    return f"/e/{enterprise_id}/notifications"


def _policy_form(policy: dict[str, Any] | None) -> PolicyForm:
    policy = policy or {}

    def number(key: str) -> str:
        value = policy.get(key)
        return str(value) if value is not None else ""

    return PolicyForm(
        first=[str(n) for n in policy.get("first") or []],
        second=[str(n) for n in policy.get("second") or []],
        repeat_every_min=number("repeat_every_min"),
        escalate_after_min=number("escalate_after_min"),
        errors={},
    )


def _page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    editing: ChannelForm | None = None,
    editing_name: str | None = None,
    policy_form: PolicyForm | None = None,
    tests: dict[str, TestOutcome] | None = None,
    status: int = 200,
) -> Response:
    registry = user.services.registry
    view = settings_service.read_settings(registry, enterprise_id)
    adding = request.query_params.get("add", "")
    if editing is None and adding in KIND_FIELDS:
        editing = ChannelForm(adding, {"lang": "zh"})
    context: dict[str, Any] = {
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "base": _base(enterprise_id),
        "channels": [
            {"raw": c, "form": form_of(c), "target": channel_edits.shown_target(c)}
            for c in view.channels
        ],
        "policy": view.policy,
        "policy_form": policy_form or _policy_form(view.policy),
        "can_edit": user.access.can_configure_alarms(enterprise_id),
        "editing": editing,
        "editing_name": editing_name,
        "tests": tests or {},
        "kind_labels": KIND_LABELS,
        "kind_fields": KIND_FIELDS,
        "lang_labels": LANG_LABELS,
    }
    return render(request, user, "settings/notifications.html", context, status_code=status)


def _readable(user: PageUser, enterprise_id: int) -> None:
    """As the API's settings read: the enterprise's administrators and the operator (404 for an
    enterprise the user may not know of, or one that does not exist)."""
    require_enterprise_admin(user.access, enterprise_id)
    user.services.registry.get_enterprise(enterprise_id)


@router.get("/e/{enterprise_id}/notifications")
def notifications_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The channels and the policy; ``?add=<kind>`` opens the form of a new channel."""
    _readable(user, enterprise_id)
    return _page(request, user, enterprise_id)


def _saved(enterprise_id: int) -> Response:
    return RedirectResponse(_base(enterprise_id), status_code=303)


def _changer(user: PageUser, enterprise_id: int) -> None:
    _readable(user, enterprise_id)
    require_alarm_admin(user.access, enterprise_id)


async def _save_channel(
    request: Request, user: PageUser, enterprise_id: int, replacing: str | None
) -> Response:
    form: FormData = await request.form()
    services = user.services
    shown = ChannelForm(str(form.get("kind", "")))
    try:
        shown, raw = parse_form(form)
        await channel_edits.save_channel(
            services.registry,
            services.monitor,
            services.notifier.guard,
            enterprise_id,
            raw,
            replacing=replacing,
        )
    except NotFoundError:
        raise
    except ShuguError as exc:
        if replacing is not None:
            stored = _stored_form(user, enterprise_id, replacing)
            shown.secrets_set = stored.secrets_set
        place_error(user.tr, shown, exc)
        return _page(
            request,
            user,
            enterprise_id,
            editing=shown,
            editing_name=replacing,
            status=exc.http_status if exc.http_status != 400 else 422,
        )
    return _saved(enterprise_id)


def _stored_form(user: PageUser, enterprise_id: int, name: str) -> ChannelForm:
    for channel in settings_service.read_settings(user.services.registry, enterprise_id).channels:
        if channel.get("name") == name:
            return form_of(channel)
    raise NotFoundError("no such notification channel", field="channel")


@router.post("/e/{enterprise_id}/notifications/channels")
async def add_channel(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    _changer(user, enterprise_id)
    return await _save_channel(request, user, enterprise_id, None)


@router.post("/e/{enterprise_id}/notifications/channels/{name}")
async def replace_channel(
    request: Request, enterprise_id: int, name: str, user: PageUserDep
) -> Response:
    _changer(user, enterprise_id)
    return await _save_channel(request, user, enterprise_id, name)


@router.post("/e/{enterprise_id}/notifications/channels/{name}/delete")
async def delete_channel(
    request: Request, enterprise_id: int, name: str, user: PageUserDep
) -> Response:
    _changer(user, enterprise_id)
    services = user.services
    try:
        await channel_edits.remove_channel(
            services.registry, services.monitor, services.notifier.guard, enterprise_id, name
        )
    except NotFoundError:
        raise
    except ShuguError as exc:
        # Another channel's target may be refused now (its host moved): the page says so.
        form = PolicyForm([], [], "", "", {"_form": user.tr.error(exc.code, exc.message)})
        return _page(request, user, enterprise_id, policy_form=form, status=exc.http_status)
    return _saved(enterprise_id)


def _test_outcome(
    user: PageUser, sent: SentTestNotice | None, exc: ShuguError | None
) -> TestOutcome:
    if exc is None:
        assert sent is not None
        return TestOutcome(delivered=True, elapsed_ms=sent.elapsed_ms)
    status = exc.details.get("status")
    return TestOutcome(
        delivered=False,
        code=exc.code,
        message=user.tr.error(exc.code, exc.message),
        detail=exc.message,
        http_status=status if isinstance(status, int) else None,
    )


@router.post("/e/{enterprise_id}/notifications/channels/{name}/test")
async def test_channel(
    request: Request, enterprise_id: int, name: str, user: PageUserDep
) -> Response:
    """Send a test notice to the channel now; the answer says whether it arrived, and if not,
    why (the result beside the button, or the page with it)."""
    _changer(user, enterprise_id)
    services = user.services
    sent: SentTestNotice | None = None
    failure: ShuguError | None = None
    try:
        sent = await send_test_notice(services.registry, services.notifier, enterprise_id, name)
    except NotFoundError:
        raise
    except ShuguError as exc:  # a DeliveryError, mostly: the channel's answer
        failure = exc
    outcome = _test_outcome(user, sent, failure)
    if request.headers.get("hx-request") == "true":
        return render(
            request, user, "settings/_test_result.html", {"test": outcome, "channel_name": name}
        )
    return _page(request, user, enterprise_id, tests={name: outcome})


def _names(form: FormData, key: str, known: set[str]) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str) and v in known]


@router.post("/e/{enterprise_id}/notifications/policy")
async def save_policy(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """Who hears of an alarm first, how often they are reminded, and who hears of it later."""
    _changer(user, enterprise_id)
    services = user.services
    form = await request.form()
    known = {
        str(c.get("name"))
        for c in settings_service.read_settings(services.registry, enterprise_id).channels
    }
    shown = PolicyForm(
        first=_names(form, "first", known),
        second=_names(form, "second", known),
        repeat_every_min=str(form.get("repeat_every_min") or "").strip()[:12],
        escalate_after_min=str(form.get("escalate_after_min") or "").strip()[:12],
        errors={},
    )
    policy: dict[str, Any] | None = None
    if shown.first:
        policy = {"first": shown.first}
        if shown.second:
            policy["second"] = shown.second
        for key in ("repeat_every_min", "escalate_after_min"):
            value = getattr(shown, key)
            if value:
                policy[key] = value
    elif shown.second or shown.repeat_every_min or shown.escalate_after_min:
        shown.errors["first"] = user.tr("Choose at least one channel to notify first.")
        return _page(request, user, enterprise_id, policy_form=shown, status=422)
    try:
        await channel_edits.save_policy(
            services.registry, services.monitor, services.notifier.guard, enterprise_id, policy
        )
    except ShuguError as exc:
        where = str(exc.details.get("field") or "")
        key = where.removeprefix("policy.").split(".")[0] if where.startswith("policy.") else ""
        message = user.tr.error(exc.code, exc.message)
        if key not in ("first", "second", "repeat_every_min", "escalate_after_min"):
            key = _policy_field_of(exc.message)
        shown.errors[key] = message
        status = exc.http_status if exc.http_status != 400 else 422
        return _page(request, user, enterprise_id, policy_form=shown, status=status)
    return _saved(enterprise_id)


def _policy_field_of(message: str) -> str:
    """The field a policy error across fields is about, by the server's message
    (notify/escalation.py), or ``_form``."""
    if "escalate_after_min needs a second group" in message:
        return "second"
    if "a second group needs escalate_after_min" in message:
        return "escalate_after_min"
    return "_form"
