"""One attempt to deliver one notice to one channel; every failure becomes a ``DeliveryError``.

HTTP goes through one shared ``httpx.AsyncClient`` (timeouts), mail through
the standard library's ``smtplib`` in a worker thread: a notice is a handful of mails a minute at
most, so a thread per send costs nothing, and it spares a dependency (see decision 0010). Both
connect only to addresses the ``TargetGuard`` checked at this send (``pinned.py``, decision 0020).

The error messages never carry the robot URLs: their query strings are credentials.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import quote_plus

import httpx

from shugu.domain.digits import ascii_int
from shugu.domain.timeutil import CHINA_TZ, utc_now_ms
from shugu.monitor.model import AlarmNotice

from . import render
from .channels import ChannelConfig, DingTalkChannel, EmailChannel, WebhookChannel, WeComChannel
from .errors import DeliveryError
from .pinned import PinnedSMTP, PinnedSMTPSSL, post_pinned, vet_or_fail
from .targets import IPAddress, TargetGuard

log = logging.getLogger(__name__)

#: Robot answers that mean "not now" rather than "never": worth another try after a back-off.
#: DingTalk: 130101 / 410100 sending too fast (20 messages a minute per robot), -1 system busy.
#: WeCom: 45009 API frequency limit, -1 system busy. Anything else (310000 signature or keyword
#: mismatch, 300001 bad token, 93000 bad key …) is a configuration fault a retry cannot fix.
DINGTALK_RETRYABLE = frozenset({-1, 130101, 410100})
WECOM_RETRYABLE = frozenset({-1, 45009})

_USER_AGENT = "shugu-notify/1"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: HMAC-SHA256 over ``"{timestamp}\\n{secret}"`` keyed by the secret, base64,
    then URL-encoded (ready to append as ``&sign=``)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    """The robot URL with ``timestamp`` and ``sign`` appended when the robot is signed. The
    query is written by hand, not through httpx's params, because the signature is already
    URL-encoded as DingTalk prescribes and must not be encoded twice."""
    if secret is None:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def _retry_after(response: httpx.Response) -> float | None:
    # Only delay-seconds in ASCII digits; an HTTP date, "²" or a 5,000-digit value is ignored.
    seconds = ascii_int(response.headers.get("retry-after", "").strip(), max_digits=9)
    return None if seconds is None else float(seconds)


async def _post(
    client: httpx.AsyncClient,
    guard: TargetGuard,
    kind: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    try:
        response = await post_pinned(
            client, guard, kind, url, body, {"User-Agent": _USER_AGENT}, headers or {}
        )
    except httpx.HTTPError as exc:
        # Connection refused, TLS, timeouts: the far end may be back in a minute.
        raise DeliveryError(
            f"{kind}: {type(exc).__name__}: {exc}", retryable=True, code="notify_unreachable"
        ) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    # 408, 429 and 5xx are transient by definition; other 4xx say the request itself is wrong.
    retryable = status in (408, 425, 429) or status >= 500
    raise DeliveryError(
        f"{kind}: HTTP {status} {response.reason_phrase}".rstrip(),
        retryable=retryable,
        retry_after_s=_retry_after(response),
        code="notify_http_status",
        status=status,
    )


def _robot_answer(kind: str, response: httpx.Response, retryable_codes: frozenset[int]) -> None:
    # Both robots answer HTTP 200 and put the outcome in the body: {"errcode":0,"errmsg":"ok"}.
    try:
        answer = response.json()
    except ValueError as exc:
        # A proxy's error page, say: not the robot speaking, so worth another try.
        raise DeliveryError(
            f"{kind}: the answer is not JSON", retryable=True, code="notify_bad_answer"
        ) from exc
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode == 0:
        return
    if not isinstance(errcode, int):
        raise DeliveryError(
            f"{kind}: the answer has no errcode", retryable=True, code="notify_bad_answer"
        )
    errmsg = str(answer.get("errmsg", ""))
    raise DeliveryError(
        f"{kind}: errcode {errcode} {errmsg}".rstrip(),
        retryable=errcode in retryable_codes,
        code="notify_rejected",
        errcode=errcode,
    )


def _email_message(channel: EmailChannel, notice: AlarmNotice) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = render.subject(notice, channel.lang)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message["Date"] = format_datetime(datetime.now(CHINA_TZ))
    domain = parseaddr(channel.sender)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid("shugu", domain=domain)
    # Let mail rules sort and thread by alarm without parsing the subject.
    message["X-Shugu-Alarm"] = str(notice.alarm_id)
    message["X-Shugu-Event"] = notice.event.value
    message.set_content(render.plain_text(notice, channel.lang))
    message.add_alternative(render.html_body(notice, channel.lang), subtype="html")
    return message


def _smtp_send(
    channel: EmailChannel, message: EmailMessage, addresses: list[IPAddress]
) -> dict[str, tuple[int, bytes]]:
    """Blocking: runs in a worker thread. Connects to ``addresses``, checked by the guard."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if channel.use_ssl:
        smtp = PinnedSMTPSSL(
            channel.host,
            channel.port,
            addresses=addresses,
            timeout=channel.timeout_s,
            context=context,
        )
    else:
        smtp = PinnedSMTP(
            channel.host, channel.port, addresses=addresses, timeout=channel.timeout_s
        )
    with smtp:
        if channel.starttls:
            smtp.starttls(context=context)
        if channel.username is not None and channel.password is not None:
            smtp.login(channel.username, channel.password.get_secret_value())
        return smtp.send_message(
            message, from_addr=parseaddr(channel.sender)[1], to_addrs=channel.recipients
        )


async def send_email(channel: EmailChannel, notice: AlarmNotice, guard: TargetGuard) -> None:
    message = _email_message(channel, notice)
    addresses = await vet_or_fail(guard, "email", channel.host, channel.port)
    try:
        refused = await asyncio.to_thread(_smtp_send, channel, message, addresses)
    # smtplib's errors derive from OSError, so they are told apart before the network errors.
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"email: every recipient was refused: {', '.join(exc.recipients)}",
            retryable=False,
            code="notify_rejected",
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(
            f"email: the server closed the connection: {exc}",
            retryable=True,
            code="notify_unreachable",
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # 4xx is "try again later" in SMTP (greylisting, mailbox busy); 5xx is final.
        raw = exc.smtp_error
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise DeliveryError(
            f"email: {exc.smtp_code} {detail}".rstrip(),
            retryable=400 <= exc.smtp_code < 500,
            code="notify_rejected",
            smtp_code=exc.smtp_code,
        ) from exc
    except smtplib.SMTPException as exc:
        # STARTTLS or AUTH not offered by the server and the like: configuration, not weather.
        raise DeliveryError(f"email: {exc}", retryable=False, code="notify_rejected") from exc
    except OSError as exc:
        raise DeliveryError(
            f"email: {type(exc).__name__}: {exc}", retryable=True, code="notify_unreachable"
        ) from exc
    if refused:
        # Delivered to the others; sending again would duplicate their copies, so this is
        # reported and not retried.
        log.warning(
            "email channel %s: recipients refused: %s", channel.name, ", ".join(sorted(refused))
        )


class Sender:
    """Sends a notice to a channel once; raises ``DeliveryError`` when that did not work.

    ``guard`` decides which addresses notices may go to (every host is checked at each send).
    ``wall_ms`` supplies the signing timestamp (DingTalk rejects one more than an hour off), and
    is there so a test can pin it.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        guard: TargetGuard,
        wall_ms: Callable[[], int] = utc_now_ms,
    ) -> None:
        self._client = client
        self._guard = guard
        self._wall_ms = wall_ms

    async def send(self, channel: ChannelConfig, notice: AlarmNotice) -> None:
        if isinstance(channel, WebhookChannel):
            await _post(
                self._client,
                self._guard,
                "webhook",
                channel.url,
                render.notice_json(notice, channel.lang),
                channel.headers,
            )
        elif isinstance(channel, DingTalkChannel):
            await self._dingtalk(channel, notice)
        elif isinstance(channel, WeComChannel):
            await self._wecom(channel, notice)
        else:
            await send_email(channel, notice, self._guard)

    async def _dingtalk(self, channel: DingTalkChannel, notice: AlarmNotice) -> None:
        title, text = render.dingtalk_markdown(notice, channel.lang, channel.at_mobiles)
        body = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
            "at": {"atMobiles": list(channel.at_mobiles), "isAtAll": channel.at_all},
        }
        secret = channel.secret.get_secret_value() if channel.secret is not None else None
        url = dingtalk_url(channel.url, secret, self._wall_ms())
        response = await _post(self._client, self._guard, "dingtalk", url, body)
        _robot_answer("dingtalk", response, DINGTALK_RETRYABLE)

    async def _wecom(self, channel: WeComChannel, notice: AlarmNotice) -> None:
        body: dict[str, Any]
        if channel.msgtype == "markdown":
            body = {
                "msgtype": "markdown",
                "markdown": {"content": render.wecom_markdown(notice, channel.lang)},
            }
        else:
            text: dict[str, Any] = {"content": render.plain_text(notice, channel.lang)}
            if channel.mentioned_mobiles:
                text["mentioned_mobile_list"] = list(channel.mentioned_mobiles)
            body = {"msgtype": "text", "text": text}
        response = await _post(self._client, self._guard, "wecom", channel.url, body)
        _robot_answer("wecom", response, WECOM_RETRYABLE)
