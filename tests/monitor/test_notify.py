"""Notifications against real local servers: an HTTP/1.1 server on a free port standing in for a
webhook receiver and the DingTalk and WeCom robots, and an aiosmtpd SMTP server.

Back-off and age limits are configured in tens of milliseconds so the retry paths run fast; the
assertions are about counts, order and ratios, not about wall-clock budgets.
"""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import hmac
import json
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from shugu.domain.errors import ValidationError
from shugu.monitor.model import AlarmNotice, NoticeEvent, Severity
from shugu.monitor.notify import (
    DingTalkChannel,
    EmailChannel,
    Notifier,
    TargetGuard,
    WebhookChannel,
    WeComChannel,
    parse_channels,
)
from shugu.monitor.notify.render import notice_json, plain_text, subject
from shugu.monitor.notify.senders import dingtalk_sign

OK_ROBOT = b'{"errcode":0,"errmsg":"ok"}'
#: 2026-07-01 14:03:05 China time.
RAISED_MS = 1_782_885_785_000


def notice(alarm_id: int = 17, event: NoticeEvent = NoticeEvent.raised) -> AlarmNotice:
    return AlarmNotice(
        alarm_id=alarm_id,
        event=event,
        severity=Severity.critical,
        rule_zh="机柜进风温度超出推荐范围",
        rule_en="Rack inlet temperature out of the recommended range",
        enterprise="某某数据中心",
        device="A01-03",
        detail_zh="进风温度 29.4 °C > 27 °C",
        detail_en="inlet 29.4 °C > 27 °C",
        raised_at_ms=RAISED_MS,
        at_ms=RAISED_MS + 12 * 60_000,
        value=29.4,
        link="http://shugu.example/alarms/17",
    )


# -- a minimal HTTP/1.1 server -----------------------------------------------------------------


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


Answer = tuple[int, bytes]


@dataclass
class HttpServer:
    """Records every request; answers from ``script`` first, then ``judge``, then ``default``."""

    default: Answer = (200, OK_ROBOT)
    script: deque[Answer] = field(default_factory=deque)
    judge: Callable[[Seen], Answer | None] | None = None
    requests: list[Seen] = field(default_factory=list)
    #: Any of 127/8 works on Linux: a second loopback address tells two targets apart.
    host: str = "127.0.0.1"
    #: Sent as the Location header of every answer (a server that redirects).
    location: str | None = None
    #: Serve HTTPS with this context.
    tls: ssl.SSLContext | None = None
    port: int = 0
    _open: dict[asyncio.StreamWriter, asyncio.Task[Any]] = field(default_factory=dict)

    async def __aenter__(self) -> HttpServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        # Close kept-alive connections and let their handlers finish before the loop ends.
        for writer in self._open:
            writer.close()
        await asyncio.gather(*self._open.values(), return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str = "/hook") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def _answer(self, seen: Seen) -> Answer:
        if self.script:
            return self.script.popleft()
        if self.judge is not None and (verdict := self.judge(seen)) is not None:
            return verdict
        return self.default

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open[writer] = task
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, target, headers, body, time.monotonic())
                self.requests.append(seen)
                status, payload = self._answer(seen)
                location = f"Location: {self.location}\r\n" if self.location else ""
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{location}"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._open.pop(writer, None)
            writer.close()


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing, here or in asyncio (a task left behind, a callback that raised), logs an error."""
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


#: The receivers here listen on loopback, which notices may reach only when it is allowed.
LOOPBACK_ALLOWED = TargetGuard(["127.0.0.1/32"])


def fast(**overrides: Any) -> Notifier:
    options: dict[str, Any] = {
        "base_delay_s": 0.05,
        "max_delay_s": 1.0,
        "timeout_s": 5.0,
        "guard": LOOPBACK_ALLOWED,
    }
    options.update(overrides)
    return Notifier(**options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- channels: validation -----------------------------------------------------------------------


def test_channel_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channels([{"kind": "webhook", "name": "ops", "url": "ftp://x"}])
    assert "channels.0.webhook.url" in caught.value.message
    assert caught.value.details["field"] == "channels.0.webhook.url"

    with pytest.raises(ValidationError) as caught:
        parse_channels(
            [
                {"kind": "webhook", "name": "ops", "url": "https://x.example/h"},
                {
                    "kind": "email",
                    "name": "mail",
                    "host": "smtp.example.com",
                    "sender": "alarm@example.com",
                    "recipients": ["ok@example.com", "not an address"],
                },
            ]
        )
    assert "channels.1.email.recipients" in caught.value.message
    assert "not an address" in caught.value.message

    with pytest.raises(ValidationError, match="mentioned_mobiles needs msgtype 'text'"):
        parse_channels(
            [
                {
                    "kind": "wecom",
                    "name": "wx",
                    "url": "https://x/",
                    "mentioned_mobiles": ["13800001111"],
                }
            ]
        )
    with pytest.raises(ValidationError, match=r"channels\.1\.name.*used twice"):
        parse_channels(
            [
                {"kind": "webhook", "name": "ops", "url": "https://a/"},
                {"kind": "dingtalk", "name": "ops", "url": "https://b/"},
            ]
        )

    channels = parse_channels(
        [
            {
                "kind": "dingtalk",
                "name": "值班群",
                "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                "secret": "SECx",
            }
        ]
    )
    # Credentials stay out of the repr that ends up in logs.
    assert "access_token" not in repr(channels["值班群"])
    assert "SECx" not in repr(channels["值班群"])


def test_mail_subject_reads_like_the_brief() -> None:
    assert subject(notice()) == "[紧急] 机柜进风温度超出推荐范围 — 某某数据中心 A01-03"
    assert subject(notice(event=NoticeEvent.cleared)) == (
        "[紧急] 已恢复：机柜进风温度超出推荐范围 — 某某数据中心 A01-03"
    )
    assert subject(notice(event=NoticeEvent.escalated), "en") == (
        "[Critical] Escalated: Rack inlet temperature out of the recommended range"
        " — 某某数据中心 A01-03"
    )


def test_a_notice_names_its_incident_and_says_when_it_reopens_it() -> None:
    alone = plain_text(notice())
    assert "所属事件" not in alone
    tagged = replace(notice(), incident_id=12, incident_alarms=43)
    assert "所属事件：#12，共 43 条告警" in plain_text(tagged)
    assert "重新打开" not in plain_text(tagged)
    reopened = replace(tagged, incident_reopened=True)
    assert "所属事件：#12，共 43 条告警（确认后又有新告警，已重新打开）" in plain_text(reopened)
    assert "Incident: #12, 43 alarms (new since acknowledged: open again)" in plain_text(
        reopened, "en"
    )
    body = notice_json(reopened)
    assert (body["incident_id"], body["incident_alarms"], body["incident_reopened"]) == (
        12,
        43,
        True,
    )


# -- webhook, DingTalk, WeCom ------------------------------------------------------------------


def test_webhook_posts_the_documented_json() -> None:
    async def scenario() -> HttpServer:
        async with HttpServer(default=(204, b"")) as server, fast() as notifier:
            channel = WebhookChannel(
                name="ops", url=server.url(), headers={"X-Webhook-Token": "t0k"}
            )
            notifier.submit(notice(event=NoticeEvent.repeated), [channel])
            assert await notifier.join(5)
            assert (notifier.delivered, notifier.failed, notifier.retried) == (1, 0, 0)
        return server

    server = asyncio.run(scenario())
    [seen] = server.requests
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-webhook-token"] == "t0k"
    assert seen.json() == {
        "version": 1,
        "alarm_id": 17,
        "event": "repeated",
        "severity": "critical",
        "severity_label": "紧急",
        "rule": "机柜进风温度超出推荐范围",
        "enterprise": "某某数据中心",
        "device": "A01-03",
        "detail": "进风温度 29.4 °C > 27 °C",
        "value": 29.4,
        "raised_at": "2026-07-01T14:03:05.000+08:00",
        "at": "2026-07-01T14:15:05.000+08:00",
        "link": "http://shugu.example/alarms/17",
        "lang": "zh",
        "incident_id": None,
        "incident_alarms": 1,
        "incident_reopened": False,
    }


def dingtalk_judge(secret: str) -> Callable[[Seen], Answer | None]:
    """Checks the signature the way DingTalk does: recomputed from the query's timestamp."""

    def judge(seen: Seen) -> Answer | None:
        query = seen.query
        timestamp = query["timestamp"][0]
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if query.get("sign") != [expected] or query.get("access_token") != ["tok"]:
            return 200, b'{"errcode":310000,"errmsg":"sign not match"}'
        return None

    return judge


def test_dingtalk_signs_and_sends_markdown() -> None:
    # A secret whose signature holds "+", "/" or "=" catches a missing or doubled URL-encoding.
    secret = "SEC0123456789abcdef+/=钉"
    pinned_ms = 1_782_885_785_123

    async def scenario() -> tuple[HttpServer, Notifier]:
        async with (
            HttpServer(judge=dingtalk_judge(secret)) as server,
            fast(wall_ms=lambda: pinned_ms) as notifier,
        ):
            channel = DingTalkChannel(
                name="dd",
                url=server.url("/robot/send?access_token=tok"),
                secret=secret,  # pydantic makes it a SecretStr
                at_mobiles=["13800001111"],
            )
            notifier.submit(notice(), [channel])
            assert await notifier.join(5)
        return server, notifier

    server, notifier = asyncio.run(scenario())
    assert (notifier.delivered, notifier.failed) == (1, 0)
    [seen] = server.requests
    assert seen.query["timestamp"] == [str(pinned_ms)]
    # The case this secret was picked for: a "+" that must travel as %2B, not as a space.
    assert "%2B" in dingtalk_sign(secret, pinned_ms)
    assert "%2B" in seen.target
    body = seen.json()
    assert body["msgtype"] == "markdown"
    assert body["at"] == {"atMobiles": ["13800001111"], "isAtAll": False}
    assert body["markdown"]["title"] == "[紧急] 新告警 机柜进风温度超出推荐范围"
    text = body["markdown"]["text"]
    assert text.startswith("### [紧急] 新告警\n")
    assert "- 企业：某某数据中心" in text
    assert "- 详情：进风温度 29.4 °C > 27 °C" in text
    assert "- 发生时间：2026-07-01 14:03:05" in text
    assert "[查看并确认](http://shugu.example/alarms/17)" in text
    assert text.endswith("@13800001111")


def test_dingtalk_errcodes_decide_between_retry_and_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shugu.monitor.notify")

    async def scenario() -> tuple[HttpServer, HttpServer, Notifier]:
        async with HttpServer() as wrong_secret, HttpServer() as busy, fast() as notifier:
            wrong_secret.default = (200, b'{"errcode":310000,"errmsg":"sign not match"}')
            busy.script.append((200, b'{"errcode":130101,"errmsg":"send too fast"}'))
            notifier.submit(
                notice(),
                [
                    DingTalkChannel(name="bad", url=wrong_secret.url("/robot/send?access_token=t")),
                    DingTalkChannel(name="busy", url=busy.url("/robot/send?access_token=t")),
                ],
            )
            assert await notifier.join(5)
        return wrong_secret, busy, notifier

    wrong_secret, busy, notifier = asyncio.run(scenario())
    status = notifier.status()
    # A signature mismatch is configuration: one attempt, failed, not retried.
    assert len(wrong_secret.requests) == 1
    assert status.channels["bad"].failed == 1
    assert status.channels["bad"].failing
    assert status.channels["bad"].last_error == "dingtalk: errcode 310000 sign not match"
    # A rate limit is weather: tried again and delivered.
    assert len(busy.requests) == 2
    assert (status.channels["busy"].delivered, status.channels["busy"].retried) == (1, 1)
    assert not status.channels["busy"].failing
    assert status.channels["busy"].last_error == "dingtalk: errcode 130101 send too fast"


def test_wecom_markdown_and_text_with_mentions() -> None:
    async def scenario() -> HttpServer:
        async with HttpServer() as server, fast() as notifier:
            notifier.submit(
                notice(event=NoticeEvent.cleared),
                [
                    WeComChannel(name="wx", url=server.url("/cgi-bin/webhook/send?key=k")),
                    WeComChannel(
                        name="wx-text",
                        url=server.url("/cgi-bin/webhook/send?key=k2"),
                        msgtype="text",
                        mentioned_mobiles=["13800001111", "@all"],
                        lang="en",
                    ),
                ],
            )
            assert await notifier.join(5)
            assert notifier.delivered == 2
        return server

    server = asyncio.run(scenario())
    bodies = {seen.query["key"][0]: seen.json() for seen in server.requests}
    markdown = bodies["k"]
    assert list(markdown) == ["msgtype", "markdown"]
    assert markdown["msgtype"] == "markdown"
    content = markdown["markdown"]["content"]
    assert content.startswith(
        '## <font color="info">[紧急] 已恢复</font>\n**机柜进风温度超出推荐范围**'
    )
    assert "> 已持续：12 分钟" in content
    assert "[查看](http://shugu.example/alarms/17)" in content
    text = bodies["k2"]
    assert text["msgtype"] == "text"
    assert text["text"]["mentioned_mobile_list"] == ["13800001111", "@all"]
    assert text["text"]["content"].startswith(
        "[Critical] Cleared\nRack inlet temperature out of the recommended range\n"
    )
    assert "Open for: 12 min" in text["text"]["content"]


# -- retry, give-up, back-pressure -------------------------------------------------------------


def test_failing_webhook_is_retried_with_back_off_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="shugu.monitor.notify")

    async def scenario() -> tuple[HttpServer, Notifier]:
        async with HttpServer(default=(200, b"{}")) as server, fast() as notifier:
            server.script.extend([(500, b"{}"), (500, b"{}")])
            notifier.submit(notice(), [WebhookChannel(name="ops", url=server.url())])
            assert await notifier.join(5)
        return server, notifier

    server, notifier = asyncio.run(scenario())
    assert len(server.requests) == 3
    assert (notifier.delivered, notifier.retried, notifier.failed, notifier.dropped) == (1, 2, 0, 0)
    # Exponential: waits of at least 0.05 s, then 0.1 s. Only lower bounds: a loaded machine
    # makes any wait longer, so a ratio of observed waits says nothing.
    first, second = (
        b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)
    )
    assert first >= 0.05
    assert second >= 0.1
    records = [
        r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("shugu")
    ]
    assert [r.levelname for r in records] == ["WARNING", "INFO"]
    assert "is failing: webhook: HTTP 500" in records[0].getMessage()
    assert "delivering again" in records[1].getMessage()
    channel = notifier.status().channels["ops"]
    assert not channel.failing
    assert channel.last_error == "webhook: HTTP 500 X"
    assert channel.last_delivered_at_ms is not None


def test_dead_channel_gives_up_after_max_age_without_holding_up_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shugu.monitor.notify")
    dead = WebhookChannel(name="dead", url=f"http://127.0.0.1:{free_port()}/hook")

    async def scenario() -> tuple[HttpServer, Notifier, float]:
        async with (
            HttpServer(default=(200, b"{}")) as server,
            fast(base_delay_s=0.02, max_age_s=0.4) as notifier,
        ):
            live = WebhookChannel(name="live", url=server.url())
            started = time.monotonic()
            notifier.submit(notice(1), [dead, live])
            notifier.submit(notice(2), [dead, live])
            assert await notifier.join(5)
            finished = time.monotonic() - started
        return server, notifier, finished

    server, notifier, finished = asyncio.run(scenario())
    status = notifier.status()
    assert status.channels["live"].delivered == 2
    # The live channel was served while the dead one was still backing off.
    assert server.requests[-1].at - server.requests[0].at < 0.4
    assert finished >= 0.4
    dead_status = status.channels["dead"]
    assert (dead_status.delivered, dead_status.failed, dead_status.queued) == (0, 2, 0)
    assert dead_status.failing
    assert dead_status.last_error is not None
    assert dead_status.last_error.startswith("webhook: ConnectError")
    assert dead_status.retried >= 2
    assert (status.delivered, status.failed) == (2, 2)
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith("shugu")
    ]
    assert len(messages) == 2, messages
    assert "dead (webhook) is failing" in messages[0]
    assert "giving up notices older than 0.4 s" in messages[1]


def test_submit_never_blocks_and_counts_what_a_full_queue_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shugu.monitor.notify")

    async def scenario() -> tuple[HttpServer, Notifier]:
        async with HttpServer(default=(200, b"{}")) as server:
            notifier = fast(queue_size=3)
            channel = WebhookChannel(name="ops", url=server.url())
            # Not started yet: nothing drains, so the lane fills up.
            for alarm_id in range(10):
                notifier.submit(notice(alarm_id), [channel])
            assert notifier.dropped == 7
            await notifier.start()
            assert await notifier.join(5)
            # Room again: accepted, and the recovery of the lane is logged once. This one comes
            # from another thread, as a synchronous caller would submit it.
            await asyncio.to_thread(notifier.submit, notice(99), [channel])
            assert await notifier.join(5)
            await notifier.aclose()
            notifier.submit(notice(100), [channel])
        return server, notifier

    server, notifier = asyncio.run(scenario())
    assert [seen.json()["alarm_id"] for seen in server.requests] == [0, 1, 2, 99]
    assert (notifier.delivered, notifier.dropped) == (4, 8)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("dropping new ones" in m for m in messages) == 1
    assert sum("accepting notices again, 7 dropped" in m for m in messages) == 1
    assert sum("notifier is closed" in m for m in messages) == 1


def test_close_stops_a_channel_in_back_off_and_counts_it_failed() -> None:
    async def scenario() -> tuple[Notifier, float]:
        async with HttpServer(default=(503, b"{}")) as server:
            notifier = fast(base_delay_s=30.0, max_delay_s=60.0)
            await notifier.start()
            notifier.submit(notice(), [WebhookChannel(name="ops", url=server.url())])
            while not server.requests:
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await notifier.aclose()
            return notifier, time.monotonic() - started

    notifier, took = asyncio.run(scenario())
    assert (notifier.delivered, notifier.failed) == (0, 1)
    assert took < 5  # not the 30 s back-off
    assert not notifier.status().running


# -- e-mail through a real SMTP server ---------------------------------------------------------


class Mailbox:
    def __init__(self, refuse: str | None = None) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse = refuse

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox(refuse="ghost@example.com")
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def test_email_arrives_with_chinese_subject_and_both_bodies(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    channel = EmailChannel(
        name="mail",
        host="127.0.0.1",
        port=port,
        sender="数谷告警 <alarm@shugu.example>",
        recipients=["ops@example.com", "lead@example.com"],
    )

    async def scenario() -> Notifier:
        async with fast() as notifier:
            notifier.submit(notice(), [channel])
            assert await notifier.join(5)
        return notifier

    notifier = asyncio.run(scenario())
    assert (notifier.delivered, notifier.failed) == (1, 0)
    [(rcpt, message)] = mailbox.received
    assert rcpt == ["ops@example.com", "lead@example.com"]
    assert message["Subject"] == "[紧急] 机柜进风温度超出推荐范围 — 某某数据中心 A01-03"
    assert message["From"].addresses[0].display_name == "数谷告警"
    assert message["X-Shugu-Alarm"] == "17"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    plain_text = plain.get_content()
    assert "详情：进风温度 29.4 °C > 27 °C" in plain_text
    assert "发生时间：2026-07-01 14:03:05" in plain_text
    assert "<th" in html.get_content() and "某某数据中心" in html.get_content()


def test_email_to_a_refused_recipient_fails_without_retry(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    channel = EmailChannel(
        name="mail",
        host="127.0.0.1",
        port=port,
        sender="alarm@shugu.example",
        recipients=["ghost@example.com"],
    )

    async def scenario() -> Notifier:
        async with fast() as notifier:
            notifier.submit(notice(), [channel])
            assert await notifier.join(5)
        return notifier

    notifier = asyncio.run(scenario())
    assert (notifier.delivered, notifier.failed, notifier.retried) == (0, 1, 0)
    assert mailbox.received == []
    last_error = notifier.status().channels["mail"].last_error
    assert last_error is not None and "ghost@example.com" in last_error


def test_a_line_starting_with_the_device_names_it_once() -> None:
    """Alarm lines name their device first (for a phone's one line); the notice has a device
    row of its own, so the detail row leaves the name out."""
    from dataclasses import replace

    named = replace(
        notice(),
        detail_zh="A01-03 进风温度 29.4 °C，高于上限 27 °C（超出 2.4 °C）",
        detail_en="A01-03: inlet 29.4 °C, above the limit 27 °C by 2.4 °C",
    )
    for lang, detail in (("zh", "进风温度 29.4 °C"), ("en", "inlet 29.4 °C")):
        text = plain_text(named, lang)  # type: ignore[arg-type]
        assert text.count("A01-03") == 1, text
        assert detail in text
