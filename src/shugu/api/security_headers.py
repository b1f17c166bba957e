"""Security headers on every HTTP answer, as a pure ASGI middleware.

Every answer says: do not sniff content types, never show me in a frame, send no referrer, and
load nothing (``Content-Security-Policy: default-src 'none'``): JSON needs nothing, and a JSON
body opened in a browser then cannot run anything either. HTML pages get a policy built from
their own body: each inline ``<script>`` and ``<style>`` is allowed by its SHA-256 hash and
nothing else is, so an injected element would not run. The console's pages (everything outside
``/api/``) may also load scripts, styles and fonts from this origin and connect to it for live
updates (``console_policy``). The interactive API documentation
(``/docs``, ``/redoc``) loads Swagger UI and ReDoc from this server (``/static/vendor/``, see
``docs_pages.py``): those pages allow scripts, styles and images from this origin only, and
inline styles (Swagger UI and ReDoc write styles at run time).

Over TLS (or when the settings say a TLS proxy is in front) answers carry
``Strict-Transport-Security``. Answers under ``/api/auth/`` (tokens, sessions) carry
``Cache-Control: no-store``.

Cheap on purpose: the device ingest API is on the same application. A JSON answer costs one
scan of its few response headers and one list; only HTML bodies are held back to be hashed.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = b"max-age=31536000"

_SCRIPT = re.compile(rb"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.S | re.I)
_STYLE = re.compile(rb"<style[^>]*>(?P<body>.*?)</style\s*>", re.S | re.I)
_SRC = re.compile(rb"\bsrc\s*=", re.I)

_COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_API_CSP = (b"content-security-policy", API_POLICY.encode())


def _hash_source(body: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return f"'sha256-{digest}'"


def inline_hashes(html: bytes) -> tuple[list[str], list[str]]:
    """CSP hash sources of the inline scripts and styles of an HTML page."""
    scripts = [
        _hash_source(m["body"]) for m in _SCRIPT.finditer(html) if not _SRC.search(m["attrs"])
    ]
    styles = [_hash_source(m["body"]) for m in _STYLE.finditer(html)]
    return scripts, styles


def page_policy(html: bytes) -> str:
    """A page of shugu's own: its inline scripts and styles by hash, images inline, no more."""
    scripts, styles = inline_hashes(html)
    parts = ["default-src 'none'"]
    if scripts:
        parts.append("script-src " + " ".join(scripts))
    if styles:
        parts.append("style-src " + " ".join(styles))
    parts += ["img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'"]
    parts.append("form-action 'self'")
    return "; ".join(parts)


def docs_policy(html: bytes) -> str:
    """Swagger UI and ReDoc: their bundles and icon from this origin, and the schema."""
    scripts, _ = inline_hashes(html)
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src", "'self'", *scripts]),
            # ReDoc's styled-components write <style> elements at run time.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "worker-src blob:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def console_policy(html: bytes) -> str:
    """The console's pages: scripts, styles and fonts from this origin (the pinned htmx and
    ECharts, the console's own script and stylesheet), its live updates and partial pages from
    this origin, inline styles only by hash (a report's stylesheet). No inline script at all:
    the console's inline script elements are JSON data, which no browser runs, and a hash
    taken from the page's own body would let a script injected into that body run too.
    Templates carry no ``style`` attributes: a swapped-in fragment with one would be refused,
    as an injected one would be."""
    _scripts, styles = inline_hashes(html)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            " ".join(["style-src", "'self'", *styles]),
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.startswith(b"text/html")
    return False


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        behind_tls: bool = False,
        docs_prefixes: tuple[str, ...] = ("/docs", "/redoc"),
        no_store_prefix: str = "/api/auth/",
    ) -> None:
        self.app = app
        self.behind_tls = behind_tls
        self.docs_prefixes = docs_prefixes
        self.no_store_prefix = no_store_prefix

    def _is_docs(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.docs_prefixes)

    def _policy(self, path: str, body: bytes) -> str:
        if self._is_docs(path):
            return docs_policy(body)
        if path.startswith("/api/"):
            return page_policy(body)  # reports: their own inline stylesheet, nothing else
        return console_policy(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = list(_COMMON)
        if self.behind_tls or scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS))
        no_store = path.startswith(self.no_store_prefix)
        if no_store:
            extra.append((b"cache-control", b"no-store"))
        held: Message | None = None
        chunks: list[bytes] = []

        def headers_of(message: Message) -> list[tuple[bytes, bytes]]:
            headers = list(message.get("headers", ()))
            if no_store:
                headers = [h for h in headers if h[0] != b"cache-control"]
            return headers

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            kind = message["type"]
            if kind == "http.response.start":
                headers = headers_of(message)
                if _is_html(headers):
                    # The policy names the page's inline elements: wait for the whole body.
                    message["headers"] = headers + extra
                    held = message
                    return
                message["headers"] = headers + extra
                message["headers"].append(_API_CSP)
                await send(message)
                return
            if held is not None and kind == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                policy = self._policy(path, body)
                held["headers"].append((b"content-security-policy", policy.encode()))
                start, held = held, None
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)
