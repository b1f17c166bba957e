"""Signing in and out of the console, and the language switch."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.deps import access_for, get_services
from shugu.api.session_cookies import (
    clear_session_cookies,
    over_tls,
    session_token_of,
    set_session_cookies,
)
from shugu.api.sign_in import SESSION_TTL_S, client_address, login_guard_of, sign_in
from shugu.domain.errors import AuthError, ShuguError
from shugu.web.i18n import LANG_COOKIE, LANGUAGES, Translator
from shugu.web.nav import PASSWORD_URL, home_url
from shugu.web.session import PageUser, PageUserDep, translator_for
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

LANG_MAX_AGE_S: Final = 365 * 24 * 3600


def safe_next(raw: str | None) -> str | None:
    """A same-site path to return to after signing in; anything else (another host, a scheme,
    a protocol-relative ``//host``) is dropped."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw


def same_site(request: Request) -> bool:
    """Whether a form post comes from this site's own page: browsers say so in
    ``Sec-Fetch-Site``, older ones in ``Origin``; a request with neither is not a browser's
    cross-site form (scripts and tests), so it passes."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


def _login_page(
    request: Request, tr: Translator, *, username: str = "", error: str = "", status: int = 200
) -> Response:
    return render(
        request,
        None,
        "login.html",
        {"username": username, "error": error, "next": safe_next(request.query_params.get("next"))},
        tr=tr,
        status_code=status,
    )


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, translator_for(request))


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    tr = translator_for(request)
    services = get_services(request)
    if not same_site(request):
        # Login CSRF: another site's form would sign the browser in as the other site's
        # account, and what the user then enters would be kept there.
        return _login_page(request, tr, error=tr.error("csrf_failed"), status=403)
    try:
        signed = sign_in(
            services, login_guard_of(request), username, password, client_address(request)
        )
    except AuthError as exc:
        return _login_page(request, tr, username=username, error=tr.error(exc.code), status=401)
    except ShuguError as exc:  # too many attempts: say when to try again
        message = tr.error(exc.code, exc.message)
        if exc.retry_after_s is not None:
            message += " " + tr("Try again in {seconds} s.", seconds=round(exc.retry_after_s))
        return _login_page(request, tr, username=username, error=message, status=exc.http_status)
    user = PageUser(
        signed.principal,
        access_for(signed.principal, services.registry),
        services,
        tr,
        "",
    )
    # An account whose password its maker knows goes to change it first, at every sign-in
    # until it has.
    account = services.registry.get_user(signed.principal.user_id)
    target = PASSWORD_URL if account.must_change_password else safe_next(next) or home_url(user)
    response = RedirectResponse(target, status_code=303)
    secure = over_tls(request, services.settings.behind_tls)
    set_session_cookies(response, signed.issued.token, SESSION_TTL_S, secure)
    return response


@router.post("/logout")
def logout(request: Request, user: PageUserDep) -> Response:
    token = session_token_of(request)
    if token is not None:
        user.services.registry.revoke_token_value(token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response, over_tls(request, user.services.settings.behind_tls))
    return response


@router.get("/lang")
def switch_language(request: Request, to: str = "", next: str = "") -> Response:
    """Remember the chosen language and go back to the page it was chosen on."""
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    if to in LANGUAGES:
        services = get_services(request)
        response.set_cookie(
            LANG_COOKIE,
            to,
            max_age=LANG_MAX_AGE_S,
            path="/",
            secure=over_tls(request, services.settings.behind_tls),
            httponly=True,
            samesite="lax",
        )
    return response


@router.get("/")
def home(user: PageUserDep) -> Response:
    return RedirectResponse(home_url(user), status_code=303)
