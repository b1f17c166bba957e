"""Who is looking at a page: the signed-in user of the session cookie, with their scope and
language, or a redirect to the sign-in page.

Pages authenticate only by the session cookie (a browser sends no bearer header). The scoping is
the API's own (``api/deps.py``, ``api/scope.py``): a page shows what the same user would get
from the API, and refuses what it would refuse, with the same codes. A request that changes
something must carry the session's CSRF token: htmx sends it as the ``X-CSRF-Token`` header
(``static/web/console.js``), a plain form as the ``csrf_token`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from shugu.api.deps import access_for, get_services
from shugu.api.services import Services
from shugu.api.session_cookies import (
    CSRF_HEADER,
    SAFE_METHODS,
    csrf_matches,
    csrf_token_for,
    session_token_of,
)
from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Principal, Role
from shugu.web.i18n import LANG_COOKIE, Translator, pick_lang

CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """No valid session: the page answers with a way to the sign-in page (``console.py``)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True, slots=True)
class PageUser:
    """The signed-in user of one page request."""

    principal: Principal
    access: Access
    services: Services
    tr: Translator
    csrf: str

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def enterprise_id(self) -> int | None:
        """The enterprise an enterprise account belongs to; None for the operator and bureau."""
        return self.principal.enterprise_id if self.role.bound_to_enterprise else None


def translator_for(request: Request) -> Translator:
    return Translator(pick_lang(request.cookies.get(LANG_COOKIE)))


def _next_url(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    # Quoted whole: an unquoted "&" would end the sign-in page's ``next`` at the first filter.
    return quote(path, safe="/")


async def get_page_user(request: Request) -> PageUser:
    services: Services = get_services(request)
    token = session_token_of(request)
    principal = services.registry.principal_for_token(token) if token else None
    if token is None or principal is None:
        raise SignInRequired(_next_url(request))
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            field = (await request.form()).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        if not csrf_matches(token, presented):
            raise ForbiddenError(
                "the form did not carry this session's CSRF token; reload the page",
                code="csrf_failed",
            )
    return PageUser(
        principal=principal,
        access=access_for(principal, services.registry),
        services=services,
        tr=translator_for(request),
        csrf=csrf_token_for(token),
    )


PageUserDep = Annotated[PageUser, Depends(get_page_user)]
