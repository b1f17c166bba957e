"""Fuzz cases for notification channel settings (``PUT /api/enterprises/{id}/notify``): channel
lists with hostile URLs, SMTP hosts and custom headers, through the same checks as the route
(``parse_channels``, then the target guard with no network allowed).

A case is sound when it is refused with a code and a message, or accepted only if what the
sender will do with it is safe: the URL parses as the HTTP client parses it, its host (as the
client reads it, which is what the send-time check uses) is public, it carries no user name or
password, and every custom header is one a channel may send. A parser that reads the host one
way at save and another at send shows up here as an accepted case aimed inside.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from hypothesis import strategies as st

from bench.fuzz_cases import ACCEPTED, Codec, Verdict, hostile_text, mixture, unexplained
from shugu.monitor.notify import EmailChannel, TargetGuard, WebhookChannel, parse_channels
from shugu.monitor.notify.targets import TargetForbiddenError, TargetUnresolvableError, url_host

#: Names the fuzz resolver answers; anything else does not resolve (no DNS during a fuzz run).
NAMES = {
    "public.test": ["93.184.215.14"],
    "inside.test": ["10.0.0.7"],
    "split.test": ["93.184.215.14", "127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
}

HOSTS = [
    *NAMES,
    "93.184.215.14",
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0",
    "0.0.0.0",
    "10.0.0.1",
    "169.254.169.254",
    "100.100.100.200",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[fd00:ec2::254]",
    "[2606:4700::1111]",
    "[fe80::1%25eth0]",
    "public.test.",
    "PUBLIC.TEST",
    "xn--nxasmq6b.test",
    "例子.test",
]

TRICKS = [
    "{scheme}://{host}/hook",
    "{scheme}://{host}:8080/hook?access_token=t",
    "{scheme}://user:pw@{host}/",
    "{scheme}://public.test@{host}/",
    "{scheme}://{host}@public.test/",
    "{scheme}://public.test\\@{host}/",
    "{scheme}://{host}\\@public.test/",
    "{scheme}://{host}#@public.test/",
    "{scheme}://{host}?@public.test/",
    "{scheme}://{host}:99999/",
    "{scheme}://{host}:-1/",
    "{scheme}://{host}:/",
    "{scheme}:///{host}/",
    "{scheme}:/{host}/",
    " {scheme}://{host}/ ",
    "{scheme}://{host}/\r\nX-Injected: 1",
    "{scheme}://{host}\t/",
    "{scheme}://{host}%00.public.test/",
    "{scheme}://{host}/%0d%0aHost:%20x",
]

HEADER_NAMES = [
    "X-Webhook-Token",
    "Authorization",
    "authorization",
    "AUTHORIZATION",
    "Proxy-Authorization",
    "Cookie",
    "Host",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "Forwarded",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Sec-Fetch-Site",
    "X-Token\r\nAuthorization",
    "X Token",
    "",
    "X-" + "a" * 70,
]

HEADER_VALUES = ["t0k", "a\r\nAuthorization: Bearer x", "a\nb", "\x00", "é", " padded ", "v" * 1100]

urls = st.builds(
    lambda trick, scheme, host: trick.format(scheme=scheme, host=host),
    st.sampled_from(TRICKS),
    st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher", ""]),
    st.sampled_from(HOSTS),
)
header_maps = st.dictionaries(
    mixture((4, st.sampled_from(HEADER_NAMES)), (1, hostile_text)),
    mixture((4, st.sampled_from(HEADER_VALUES)), (1, hostile_text)),
    max_size=24,
)
smtp_hosts = mixture((4, st.sampled_from([h.strip("[]") for h in HOSTS])), (1, hostile_text))


@st.composite
def _channel(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["webhook", "dingtalk", "wecom", "email"]))
    name = draw(st.sampled_from(["ops", "值班群", "mail"]))
    if kind == "email":
        return {
            "kind": kind,
            "name": name,
            "host": draw(smtp_hosts),
            "port": draw(st.sampled_from([25, 465, 587, 0, 70000])),
            "sender": "alarm@example.com",
            "recipients": ["ops@example.com"],
        }
    channel: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "url": draw(mixture((5, urls), (1, hostile_text))),
    }
    if kind == "webhook":
        channel["headers"] = draw(header_maps)
    return channel


channel_cases = st.lists(_channel(), min_size=1, max_size=3)


def _resolve(host: str, port: int) -> list[str]:
    answers = NAMES.get(host.lower().rstrip("."))
    if answers is None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return answers


GUARD = TargetGuard(resolver=_resolve)


def _send_target_problem(url: str) -> str | None:
    """What the sender would do wrong with an accepted URL, or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"accepted, but the HTTP client cannot parse it: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"accepted, but the HTTP client reads scheme {parsed.scheme!r}, host {parsed.host!r}"
    if parsed.userinfo:
        return "accepted with a user name or password the client would send as Authorization"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        GUARD.vet_host(url_host(parsed), port)
    except TargetForbiddenError as exc:
        return f"accepted, but the client would connect inside: {exc.message}"
    except TargetUnresolvableError:
        return f"accepted, but the client's host {parsed.host!r} does not resolve"
    return None


def check_channels(raw: list[dict[str, Any]]) -> Verdict:
    channels = parse_channels(raw)
    asyncio.run(GUARD.vet_channels(channels))
    for channel in channels.values():
        if isinstance(channel, EmailChannel):
            continue
        problem = _send_target_problem(channel.url)
        if problem is not None:
            return unexplained(f"{channel.url!r}: {problem}")
        if isinstance(channel, WebhookChannel):
            for key, value in channel.headers.items():
                lower = key.lower()
                if lower in ("authorization", "cookie", "host") or "\r" in value or "\n" in value:
                    return unexplained(f"accepted the header {key!r}: {value!r}")
    return ACCEPTED


@contextmanager
def _checker(folder: Path) -> Iterator[Any]:
    yield check_channels


CODECS = [Codec("notify_channels", channel_cases, _checker)]
