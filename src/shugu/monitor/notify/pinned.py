"""Connections made only to addresses the guard checked: HTTP POST with hand-made redirects, SMTP.

The host name is resolved once, every address is checked (``TargetGuard.vet_host``), and the
connection goes to a checked address: the URL's host is replaced by the address while the Host
header and the TLS server name (SNI, and the certificate check with it) keep the name. A DNS
answer that changes after the check (rebinding to 127.0.0.1, say) is never asked for.

Redirects are not followed by the HTTP client. A 307 or 308 (which keep the method and the body,
what a notice needs) is followed here, each hop checked like the first, at most
``MAX_REDIRECTS`` of them, never from https down to http, and the channel's own headers go only
to the origin they were written for. 301, 302 and 303 would turn the POST into a GET without the
notice: they are reported as a moved endpoint instead.

An answer is read as a stream and only its first ``MAX_ANSWER_BYTES`` are kept: the endpoint is
the tenant's, and an answer of gigabytes must not land in the memory of the process that serves
every tenant. Compressed answers are not asked for, so the bound is what comes off the wire.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .errors import DeliveryError
from .targets import (
    IPAddress,
    TargetForbiddenError,
    TargetGuard,
    TargetResolveTimeoutError,
    TargetUnresolvableError,
    is_address,
    url_host,
    url_port,
)

MAX_REDIRECTS = 3
#: Robots answer a few hundred bytes of JSON; a webhook's answer is not read at all.
MAX_ANSWER_BYTES = 64 * 1024
_MOVED = frozenset({301, 302, 303})
_KEEP_METHOD = frozenset({307, 308})


async def vet_or_fail(guard: TargetGuard, kind: str, host: str, port: int) -> list[IPAddress]:
    """The checked addresses of ``host``; the guard's refusals as delivery errors. A refusal is
    final; a name that does not resolve (or not in time) may resolve after a DNS outage."""
    [answer] = await guard.vet_hosts([(host, port)])
    if isinstance(answer, TargetForbiddenError):
        raise DeliveryError(
            f"{kind}: {answer.message}", retryable=False, code="notify_target_forbidden"
        ) from answer
    if isinstance(answer, TargetUnresolvableError | TargetResolveTimeoutError):
        raise DeliveryError(
            f"{kind}: {answer.message}", retryable=True, code="notify_unreachable"
        ) from answer
    if isinstance(answer, Exception):
        raise answer
    return answer


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _host_header(url: httpx.URL) -> str:
    return url.netloc.decode("ascii")  # IDNA-encoded host, IPv6 bracketed, port if not default


async def _post_to(
    client: httpx.AsyncClient,
    url: httpx.URL,
    address: IPAddress,
    body: Any,
    headers: Mapping[str, str],
) -> httpx.Response:
    extensions: dict[str, Any] = {}
    if url.scheme == "https" and not is_address(url_host(url)):
        extensions["sni_hostname"] = url_host(url)
    sent = httpx.Headers(headers)
    sent["Host"] = _host_header(url)
    # One connection per delivery: a kept-alive connection is filed under the address, and
    # another host name on the same address must not ride on this one's TLS session.
    sent["Connection"] = "close"
    # A compressed answer would be bounded on the wire, not in memory: ask for it plain.
    sent["Accept-Encoding"] = "identity"
    request = client.build_request(
        "POST", url.copy_with(host=str(address)), json=body, headers=sent, extensions=extensions
    )
    streamed = await client.send(request, follow_redirects=False, stream=True)
    try:
        content = await _read_bounded(streamed)
    finally:
        await streamed.aclose()
    # The answer as read: the framing and encoding headers describe bytes that were not kept.
    headers_kept = [
        (name, value)
        for name, value in streamed.headers.multi_items()
        if name.lower() not in _FRAMING_HEADERS
    ]
    return httpx.Response(
        streamed.status_code,
        headers=headers_kept,
        content=content,
        request=request,
        extensions={"reason_phrase": streamed.extensions.get("reason_phrase", b"")},
    )


_FRAMING_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


async def _read_bounded(response: httpx.Response) -> bytes:
    """At most ``MAX_ANSWER_BYTES`` of the answer as it came; the rest is never read."""
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept += chunk[: MAX_ANSWER_BYTES - len(kept)]
        if len(kept) >= MAX_ANSWER_BYTES:
            break
    return bytes(kept)


async def post_pinned(
    client: httpx.AsyncClient,
    guard: TargetGuard,
    kind: str,
    url: str,
    body: Any,
    headers: Mapping[str, str],
    own_headers: Mapping[str, str],
) -> httpx.Response:
    """POST ``body`` to ``url`` through checked addresses only; ``own_headers`` (the channel's
    custom ones) go only to the first hop's origin. Answers the last hop's response; transport
    failures are left to the caller as ``httpx.HTTPError``."""
    target = httpx.URL(url)
    first_origin = _origin(target)
    for hop in range(MAX_REDIRECTS + 1):
        if target.userinfo:
            # httpx would turn it into an Authorization header, which channels may not send.
            raise DeliveryError(
                f"{kind}: a URL with a user name or password is not followed",
                retryable=False,
                code="notify_header_forbidden",
            )
        addresses = await vet_or_fail(guard, kind, url_host(target), url_port(target))
        sent = httpx.Headers(headers)
        if _origin(target) == first_origin:
            sent.update(own_headers)
        response = await _connect_any(client, target, addresses, body, sent)
        location = response.headers.get("location")
        if response.status_code not in _MOVED | _KEEP_METHOD or location is None:
            return response
        try:
            following = target.join(location)
            where = f"{following.scheme}://{_host_header(following)}"
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise DeliveryError(
                f"{kind}: HTTP {response.status_code} with a Location that is not a URL",
                retryable=False,
                code="notify_redirected",
            ) from exc
        if response.status_code in _MOVED:
            raise DeliveryError(
                f"{kind}: HTTP {response.status_code}: the endpoint moved to {where}; "
                "change the channel's URL",
                retryable=False,
                code="notify_redirected",
                status=response.status_code,
            )
        port_ok = following.port is None or 1 <= following.port <= 65535
        if following.scheme not in ("http", "https") or not following.host or not port_ok:
            raise DeliveryError(
                f"{kind}: redirected to {where}, which is not an http(s) URL",
                retryable=False,
                code="notify_redirected",
            )
        if target.scheme == "https" and following.scheme == "http":
            raise DeliveryError(
                f"{kind}: redirected from https to {where}: the notice is not sent in clear",
                retryable=False,
                code="notify_redirected",
            )
        if hop == MAX_REDIRECTS:
            break
        target = following
    raise DeliveryError(
        f"{kind}: more than {MAX_REDIRECTS} redirects", retryable=False, code="notify_redirected"
    )


async def _connect_any(
    client: httpx.AsyncClient,
    url: httpx.URL,
    addresses: Sequence[IPAddress],
    body: Any,
    headers: Mapping[str, str],
) -> httpx.Response:
    """Try the checked addresses in the resolver's order until one accepts the connection."""
    for address in addresses[:-1]:
        try:
            return await _post_to(client, url, address, body, headers)
        except httpx.ConnectError:
            continue
    return await _post_to(client, url, addresses[-1], body, headers)


class PinnedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that connects to checked addresses; STARTTLS still checks the
    certificate against the host name."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[IPAddress], timeout: float
    ) -> None:
        self._addresses = list(addresses)
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _connect_first(self._addresses, port, timeout)


class PinnedSMTPSSL(smtplib.SMTP_SSL):
    """``smtplib.SMTP_SSL`` (implicit TLS, port 465) over a connection to a checked address."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: Sequence[IPAddress],
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        self._addresses = list(addresses)
        self._server_name = host
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = _connect_first(self._addresses, port, timeout)
        # The name, not the address, is what the certificate must match.
        return self.context.wrap_socket(raw, server_hostname=self._server_name)


def _connect_first(addresses: Sequence[IPAddress], port: int, timeout: float) -> socket.socket:
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout)
        except OSError as exc:
            error = exc
    assert error is not None  # vet_host never answers an empty list
    raise error
