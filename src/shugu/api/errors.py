"""Translate shugu errors into stable HTTP error bodies: {"error": {"code", "message", ...}}."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shugu.api.jsonresponse import JSONBytes
from shugu.domain.errors import ShuguError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    body.update(details)
    return {"error": body}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShuguError)
    async def _shugu_error(_: Request, exc: ShuguError) -> JSONBytes:
        headers: dict[str, str] = {}
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if exc.retry_after_s is not None:
            # Whole seconds, rounded up: RFC 9110 allows no fractions, and 0 would invite a storm.
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return JSONBytes(
            error_body(exc.code, exc.message, **exc.details),
            status_code=exc.http_status,
            headers=headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONBytes:
        fields = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return JSONBytes(
            error_body("invalid_request", "the request does not match the schema", fields=fields),
            status_code=422,
        )

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONBytes:
        # Ids and numbers beyond what the databases can hold name nothing that exists.
        return JSONBytes(
            error_body("number_out_of_range", "a number in the request is too large"),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONBytes:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONBytes(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
