"""The console on the application: its routes, static files, live hub and HTML error pages.

``install_console`` is called by ``api/app.py`` after the API's routes and error handlers. It
starts nothing: the live hub only registers itself with the store and the alarm book, which the
runtime runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from shugu.api.services import Services
from shugu.domain.errors import ShuguError
from shugu.web import (
    account_pages,
    alarm_pages,
    auth_pages,
    bureau_appeals_pages,
    bureau_files_board,
    bureau_files_pages,
    bureau_indicators_pages,
    bureau_operation_pages,
    bureau_operation_review,
    bureau_policies_pages,
    bureau_projects_pages,
    calendar_pages,
    capacity_pages,
    consent_pages,
    device_pages,
    incident_pages,
    inspection_pages,
    kpi_pages,
    live_routes,
    onboarding_pages,
    operator_pages,
    password_pages,
    region_pages,
    rule_pages,
    settings_pages,
    tree_pages,
)
from shugu.web.live import LiveHub
from shugu.web.session import SignInRequired, translator_for
from shugu.web.templating import STATIC_PREFIX, render

STATIC_DIR: Final = Path(__file__).parent / "static"
#: Paths whose errors stay JSON: the API, its schema and documentation, files.
_NOT_PAGES: Final = ("/api/", "/openapi.json", "/docs", "/redoc", "/static/")

PAGE_MODULES: Final = (
    auth_pages,
    live_routes,
    tree_pages,
    device_pages,
    incident_pages,
    alarm_pages,
    rule_pages,
    inspection_pages,
    settings_pages,
    consent_pages,
    calendar_pages,
    onboarding_pages,
    operator_pages,
    account_pages,
    password_pages,
    region_pages,
    capacity_pages,
    kpi_pages,
    bureau_policies_pages,
    bureau_indicators_pages,
    bureau_operation_pages,
    bureau_operation_review,
    bureau_projects_pages,
    bureau_appeals_pages,
    bureau_files_pages,
    bureau_files_board,
)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    tr = translator_for(request)
    text = tr.error(code, message)
    template = "error_fragment.html" if is_htmx(request) else "error.html"
    return render(
        request,
        None,
        template,
        {"status": status, "code": code, "message": text},
        tr=tr,
        status_code=status,
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _async_handler(handler: Callable[..., object]) -> Handler:
    """The API's exception handler, which the page handlers fall back to outside the pages."""

    async def call(request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Response)
        return answer

    return call


def install_console(app: FastAPI, services: Services) -> LiveHub:
    hub = LiveHub(services.store.metric_name)
    services.store.add_listener(hub.on_batch)
    services.monitor.book.add_change_listener(hub.alarms_changed)
    app.state.live_hub = hub
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in PAGE_MODULES:
        app.include_router(module.router)

    api_error = _async_handler(app.exception_handlers[ShuguError])
    api_http_error = _async_handler(app.exception_handlers[StarletteHTTPException])

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = f"/login?next={exc.next_url}"
        if is_htmx(request):  # a fragment request: have htmx load the sign-in page whole
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def shugu_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ShuguError)
        if not is_page(request):
            return await api_error(request, exc)
        return error_page(request, exc.http_status, exc.code, exc.message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page(request):
            return await api_http_error(request, exc)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_page(request, exc.status_code, code, str(exc.detail))

    api_invalid = _async_handler(app.exception_handlers[RequestValidationError])

    async def invalid_request(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api_invalid(request, exc)
        return error_page(request, 422, "invalid_request", str(exc))

    api_overflow = _async_handler(app.exception_handlers[OverflowError])

    async def number_out_of_range(request: Request, exc: Exception) -> Response:
        # An id or a date past what the databases and calendars hold (an edited address).
        if not is_page(request):
            return await api_overflow(request, exc)
        return error_page(request, 422, "number_out_of_range", "a number is too large")

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OverflowError, number_out_of_range)
    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(ShuguError, shugu_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    return hub
