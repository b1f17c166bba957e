"""The TLS context of the MQTT endpoint's TLS port, from the settings' certificate and key."""

from __future__ import annotations

import ssl

from shugu.config import Settings
from shugu.domain.errors import ValidationError


def tls_context(settings: Settings) -> ssl.SSLContext:
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValidationError(
            "MQTT over TLS needs --tls-cert and --tls-key (PEM files)", code="tls_files_missing"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context
