"""Changing one's own password (修改密码), for every role, from the top bar's account menu.

The page calls the API's own function (``api/sign_in.py``): a wrong current password counts
against the sign-in limits, the new one follows the registry's rules, and every session and API
token of the account is revoked; this browser gets a fresh session in the answer's cookies. An
account made by someone else is sent here after signing in until it has changed its password
(``auth_pages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.session_cookies import over_tls, set_session_cookies
from shugu.api.sign_in import SESSION_TTL_S, change_password, client_address, login_guard_of
from shugu.domain.errors import ShuguError
from shugu.store.registry.passwords import MAX_PASSWORD_LENGTH, MIN_CHOSEN_PASSWORD_LENGTH
from shugu.web.nav import PASSWORD_URL, home_url
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

FIELDS: Final = ("current_password", "new_password", "new_password_again")
NO_STORE: Final = {"cache-control": "no-store"}


@dataclass
class PasswordForm:
    """Errors by field ("_form": above the form); passwords are never sent back."""

    errors: dict[str, str] = field(default_factory=dict)


def _page(
    request: Request,
    user: PageUser,
    *,
    form: PasswordForm | None = None,
    changed: bool = False,
    status: int = 200,
) -> Response:
    account = user.services.registry.get_user(user.principal.user_id)
    context = {
        "form": form or PasswordForm(),
        "changed": changed,
        "must_change": account.must_change_password,
        "min_length": MIN_CHOSEN_PASSWORD_LENGTH,
        "max_length": MAX_PASSWORD_LENGTH,
        "home": home_url(user),
    }
    return render(
        request, user, "account/password.html", context, status_code=status, headers=NO_STORE
    )


@router.get(PASSWORD_URL)
def password_page(request: Request, user: PageUserDep, changed: str = "") -> Response:
    return _page(request, user, changed=changed == "1")


@router.post(PASSWORD_URL)
async def change_own_password(request: Request, user: PageUserDep) -> Response:
    data = await request.form()
    current, new, again = (str(data.get(name) or "") for name in FIELDS)
    form = PasswordForm()
    if not current:
        form.errors["current_password"] = user.tr("Enter your current password.")
    if new != again:
        form.errors["new_password_again"] = user.tr("The two new passwords differ.")
    if form.errors:
        return _page(request, user, form=form, status=422)
    try:
        signed = change_password(
            user.services,
            login_guard_of(request),
            user.access,
            current,
            new,
            client_address(request),
        )
    except ShuguError as exc:
        where = str(exc.details.get("field") or "")
        message = user.tr.error(exc.code, exc.message)
        if exc.retry_after_s is not None:
            message += " " + user.tr("Try again in {seconds} s.", seconds=round(exc.retry_after_s))
        form.errors[where if where in FIELDS else "_form"] = message
        return _page(request, user, form=form, status=exc.http_status)
    response = RedirectResponse(f"{PASSWORD_URL}?changed=1", status_code=303)
    secure = over_tls(request, user.services.settings.behind_tls)
    set_session_cookies(response, signed.issued.token, SESSION_TTL_S, secure)
    return response
