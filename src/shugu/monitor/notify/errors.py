"""Errors of the notification service."""

from __future__ import annotations

from typing import Any

import pydantic

from shugu.domain.errors import ShuguError, ValidationError


class DeliveryError(ShuguError):
    """One attempt to deliver a notice to one channel failed.

    ``retryable`` tells the dispatcher whether trying again later can help (a timeout, a 5xx, a
    rate limit) or not (a wrong signing secret, a refused recipient): only the former are retried,
    so a misconfigured channel does not keep knocking for an hour.
    """

    code = "notify_delivery_failed"
    http_status = 502

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=code, **details)
        self.retryable = retryable
        #: A wait the far end asked for (HTTP Retry-After); the dispatcher waits at least this.
        self.retry_after_s = retry_after_s


def describe_invalid(
    error: pydantic.ValidationError, prefix: str, what: str, code: str
) -> ValidationError:
    """pydantic's error → shugu's, with every problem prefixed by the field it is about
    (``channels.1.email.recipients: ...``); ``details["field"]`` holds the first one. A first
    problem raised with a code of its own (``notify_header_forbidden``) keeps that code."""
    problems = []
    for item in error.errors():
        location = ".".join([prefix, *(str(part) for part in item["loc"])])
        problems.append(f"{location}: {item['msg']}")
    first = error.errors()[0]["loc"] if error.errors() else ()
    first_type = error.errors()[0]["type"] if error.errors() else ""
    return ValidationError(
        f"{what} invalid: " + "; ".join(problems),
        code=first_type if first_type.startswith("notify_") else code,
        field=".".join([prefix, *(str(part) for part in first)]),
    )
