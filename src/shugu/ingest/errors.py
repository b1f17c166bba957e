"""Errors of the ingest room."""

from __future__ import annotations

from shugu.domain.errors import ShuguError


class IngestError(ShuguError):
    """A payload refused as a whole (malformed, too large, unauthorised)."""

    code = "ingest_refused"
    http_status = 400


class PayloadTooLarge(IngestError):
    code = "payload_too_large"
    http_status = 413


class BadDeviceToken(IngestError):
    code = "bad_device_token"
    http_status = 401
