"""Where notices may go: the target guard, custom headers, and deliveries that connect only to
checked addresses (pinned past DNS, redirects handled hop by hop), against real local servers.

Every server here listens on loopback, which notices may reach only when an allowed network says
so. Two loopback addresses tell an allowed target (127.0.0.2) from a forbidden one (127.0.0.1):
Linux answers on all of 127/8.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from shugu.domain.errors import ShuguError, ValidationError
from shugu.monitor.notify import (
    ChannelConfig,
    DeliveryError,
    EmailChannel,
    Notifier,
    Sender,
    TargetForbiddenError,
    TargetGuard,
    TargetResolveTimeoutError,
    TargetUnresolvableError,
    WebhookChannel,
    parse_channels,
)
from shugu.monitor.notify.pinned import MAX_ANSWER_BYTES, MAX_REDIRECTS, post_pinned
from shugu.monitor.notify.targets import parse_networks
from tests.binaries import require_binary
from tests.monitor.test_notify import HttpServer, Mailbox, free_port, notice
from tests.resolver import TableResolver, fixed

ALLOWED = "127.0.0.2"
#: 127.0.0.2 is allowed, the rest of loopback is not.
GUARD = TargetGuard([f"{ALLOWED}/32"])


async def send_once(
    channel: ChannelConfig, guard: TargetGuard, verify: ssl.SSLContext | bool = True
) -> DeliveryError | None:
    """One delivery attempt; the error it ends in, if any."""
    async with httpx.AsyncClient(timeout=5.0, trust_env=False, verify=verify) as client:
        try:
            await Sender(client, guard=guard).send(channel, notice())
        except DeliveryError as exc:
            return exc
    return None


# -- the guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1.2.3", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    why = TargetGuard().refusal(ip_address(address))
    assert why is not None and kind in why, why


@pytest.mark.parametrize("address", ["93.184.215.14", "106.11.23.5", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert TargetGuard().refusal(ip_address(address)) is None


def test_an_allowed_network_opens_itself_and_never_the_metadata_service() -> None:
    guard = TargetGuard(["10.20.0.0/16", "169.254.0.0/16"])
    assert guard.refusal(ip_address("10.20.1.1")) is None
    assert guard.refusal(ip_address("::ffff:10.20.1.1")) is None
    assert guard.refusal(ip_address("169.254.1.1")) is None
    assert "private" in (guard.refusal(ip_address("10.21.0.1")) or "")
    assert "metadata" in (guard.refusal(ip_address("169.254.169.254")) or "")


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    with pytest.raises(TargetForbiddenError, match=r"127\.0\.0\.1 is a loopback.*'localhost'"):
        TargetGuard().vet_host("localhost", 80)
    # glibc reads a bare number as an IPv4 address: 2130706433 is 127.0.0.1.
    with pytest.raises(TargetForbiddenError, match="loopback"):
        TargetGuard().vet_host("2130706433", 80)
    split = TargetGuard(resolver=fixed({"hook.test": ["93.184.215.14", "10.0.0.5"]}))
    with pytest.raises(TargetForbiddenError, match=r"10\.0\.0\.5 is a private"):
        split.vet_host("hook.test", 443)
    with pytest.raises(TargetUnresolvableError, match="cannot be resolved"):
        split.vet_host("nowhere.test", 443)
    public = TargetGuard(resolver=fixed({"hook.test": ["93.184.215.14"]}))
    assert public.vet_host("hook.test", 443) == [ip_address("93.184.215.14")]


def test_an_allowance_that_is_not_a_network_is_refused() -> None:
    for text in ("10.0.0.0/33", "10.0.0", "lan"):
        with pytest.raises(ValidationError) as caught:
            parse_networks([text])
        assert caught.value.code == "notify_allow_network_invalid"
        assert text in caught.value.message


def test_saved_channels_name_the_refused_field() -> None:
    channels = parse_channels(
        [
            {"kind": "webhook", "name": "ops", "url": "https://93.184.215.14/hook"},
            {
                "kind": "email",
                "name": "mail",
                "host": "127.0.0.1",
                "sender": "alarm@example.com",
                "recipients": ["ops@example.com"],
            },
        ]
    )
    with pytest.raises(TargetForbiddenError) as caught:
        asyncio.run(TargetGuard().vet_channels(channels))
    assert caught.value.code == "notify_target_forbidden"
    assert caught.value.details["field"] == "channels.1.host"
    assert caught.value.message.startswith("channels.1.host: channel 'mail': ")
    assert "--notify-allow-network" in caught.value.message


def test_names_resolve_together_and_a_slow_one_stops_at_the_deadline() -> None:
    together = threading.Barrier(3, timeout=30)
    release = threading.Event()

    def resolver(host: str, port: int) -> list[str]:
        if host == "never.test":
            release.wait(30)  # a name server that does not answer
        else:
            together.wait()  # answers only once all three are asked: asked one by one, none is
        return ["93.184.215.14"]

    guard = TargetGuard(resolver=resolver, resolve_deadline_s=0.5)
    hooks = [
        {"kind": "webhook", "name": f"h{i}", "url": f"https://hook{i}.test/x"} for i in range(3)
    ]
    asyncio.run(guard.vet_channels(parse_channels(hooks)))  # all three at once
    assert together.n_waiting == 0 and not together.broken
    slow = parse_channels(
        [*hooks, {"kind": "webhook", "name": "slow", "url": "https://never.test/"}]
    )
    together.reset()
    try:
        with pytest.raises(TargetResolveTimeoutError) as caught:
            asyncio.run(guard.vet_channels(slow))
    finally:
        release.set()
    assert caught.value.code == "notify_target_resolve_timeout"
    assert caught.value.http_status == 503
    assert caught.value.details["field"] == "channels.3.url"
    assert "'never.test' did not resolve within 0.5 s" in caught.value.message


# -- custom headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer stolen"},
        {"authorization": "Basic eDp5"},
        {"Proxy-Authorization": "Basic eDp5"},
        {"Cookie": "session=1"},
        {"Host": "169.254.169.254"},
        {"X-Forwarded-For": "127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
        {"Content-Length": "0"},
        {"Content-Type": "text/plain"},
        {"Transfer-Encoding": "chunked"},
        {"Connection": "keep-alive"},
        {"X-Token": "a\r\nAuthorization: Bearer stolen"},
        {"X-Token": "a\nb"},
        {"X-Token": "nul\x00"},
        {"X-Token": "非 ASCII"},
        {"X Token": "space in the name"},
        {"X-Token:": "colon in the name"},
        {"X-Token": "x" * 1025},
        {f"X-{i}": "v" for i in range(21)},
    ],
)
def test_headers_that_carry_credentials_or_break_framing_are_refused(
    headers: dict[str, str],
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channels(
            [{"kind": "webhook", "name": "ops", "url": "https://a.example/", "headers": headers}]
        )
    assert caught.value.code == "notify_header_forbidden", caught.value.message
    assert caught.value.details["field"] == "channels.0.webhook.headers"


def test_a_url_with_credentials_is_refused_and_own_headers_pass() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channels([{"kind": "webhook", "name": "ops", "url": "http://admin:pw@a.example/"}])
    assert caught.value.code == "notify_header_forbidden"
    channels = parse_channels(
        [
            {
                "kind": "webhook",
                "name": "ops",
                "url": "https://a.example/",
                "headers": {"X-Webhook-Token": "t0k", "X-Api-Key": "k" * 1024},
            }
        ]
    )
    assert isinstance(channels["ops"], WebhookChannel)


# -- deliveries ----------------------------------------------------------------------------------


def test_the_default_notifier_refuses_to_post_to_loopback() -> None:
    async def scenario() -> tuple[HttpServer, Notifier]:
        async with HttpServer() as server, Notifier(base_delay_s=0.05) as notifier:
            notifier.submit(notice(), [WebhookChannel(name="ops", url=server.url())])
            assert await notifier.join(5)
        return server, notifier

    server, notifier = asyncio.run(scenario())
    assert server.requests == []
    assert (notifier.delivered, notifier.failed, notifier.retried) == (0, 1, 0)
    error = notifier.status().channels["ops"].last_error or ""
    assert "127.0.0.1 is a loopback address" in error


def test_delivery_connects_to_the_checked_address_and_keeps_the_name() -> None:
    resolver = fixed({"hook.test": [ALLOWED]})
    guard = TargetGuard([f"{ALLOWED}/32"], resolver=resolver)

    async def scenario() -> tuple[HttpServer, DeliveryError | None]:
        async with HttpServer(host=ALLOWED, default=(204, b"")) as server:
            channel = WebhookChannel(name="ops", url=f"http://hook.test:{server.port}/hook")
            return server, await send_once(channel, guard)

    server, error = asyncio.run(scenario())
    # The system cannot resolve hook.test: the request arrived because shugu connected to the
    # address it had checked, once, and told the server the name.
    assert error is None
    [seen] = server.requests
    assert seen.headers["host"] == f"hook.test:{server.port}"
    assert resolver.calls == {"hook.test": 1}


def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate naming only ``name``: no IP address in it."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            require_binary("openssl", debian="openssl"),
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_https_to_the_checked_address_still_checks_the_certificate_against_the_name(
    tmp_path: Path,
) -> None:
    cert, key = _certificate_for("hook.test", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    guard = TargetGuard([f"{ALLOWED}/32"], resolver=fixed({"hook.test": [ALLOWED]}))

    async def scenario() -> tuple[HttpServer, list[DeliveryError | None]]:
        async with HttpServer(host=ALLOWED, default=(204, b""), tls=server_tls) as server:
            by_name = WebhookChannel(name="a", url=f"https://hook.test:{server.port}/hook")
            by_address = WebhookChannel(name="b", url=server.url("/hook"))
            errors = [
                await send_once(by_name, guard, trust),
                await send_once(by_address, guard, trust),
            ]
        return server, errors

    server, (by_name, by_address) = asyncio.run(scenario())
    # Connected to 127.0.0.2, yet TLS spoke to and verified "hook.test": the name was kept.
    assert by_name is None
    assert server.requests[0].headers["host"] == f"hook.test:{server.port}"
    # The certificate does not name the address: a URL by address cannot borrow the name.
    assert by_address is not None and by_address.code == "notify_unreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in by_address.message


def test_a_name_rebound_to_loopback_after_it_was_saved_is_refused_at_send() -> None:
    resolver = TableResolver({"hook.test": [[ALLOWED], ["127.0.0.1"]]})
    guard = TargetGuard([f"{ALLOWED}/32"], resolver=resolver)

    async def scenario() -> tuple[HttpServer, DeliveryError | None]:
        async with HttpServer() as inside:
            url = f"http://hook.test:{inside.port}/hook"
            channels = parse_channels([{"kind": "webhook", "name": "ops", "url": url}])
            await guard.vet_channels(channels)  # saved: the name answered 127.0.0.2
            return inside, await send_once(channels["ops"], guard)

    inside, error = asyncio.run(scenario())
    assert error is not None and error.code == "notify_target_forbidden" and not error.retryable
    assert "127.0.0.1 is a loopback address" in error.message
    assert inside.requests == []


def test_a_redirect_to_loopback_is_not_followed() -> None:
    async def scenario() -> tuple[HttpServer, HttpServer, DeliveryError | None]:
        async with HttpServer() as inside, HttpServer(host=ALLOWED, default=(307, b"")) as hop:
            hop.location = inside.url("/hook")
            error = await send_once(WebhookChannel(name="ops", url=hop.url()), GUARD)
        return inside, hop, error

    inside, hop, error = asyncio.run(scenario())
    assert error is not None and error.code == "notify_target_forbidden" and not error.retryable
    assert "127.0.0.1 is a loopback address" in error.message
    assert len(hop.requests) == 1 and inside.requests == []


def test_a_redirect_between_allowed_targets_is_followed_and_own_headers_stay_home() -> None:
    headers = {"X-Webhook-Token": "t0k"}

    async def scenario() -> tuple[HttpServer, HttpServer, list[DeliveryError | None]]:
        async with (
            HttpServer(host=ALLOWED, default=(204, b"")) as there,
            HttpServer(host=ALLOWED, default=(204, b"")) as here,
        ):
            here.script.append((308, b""))
            here.location = "/moved"  # relative: same origin
            same = await send_once(
                WebhookChannel(name="a", url=here.url("/hook"), headers=headers), GUARD
            )
            here.script.append((307, b""))
            here.location = there.url("/new")
            other = await send_once(
                WebhookChannel(name="b", url=here.url("/hook"), headers=headers), GUARD
            )
        return here, there, [same, other]

    here, there, errors = asyncio.run(scenario())
    assert errors == [None, None]
    assert [(r.method, r.target) for r in here.requests] == [
        ("POST", "/hook"),
        ("POST", "/moved"),
        ("POST", "/hook"),
    ]
    assert here.requests[1].headers["x-webhook-token"] == "t0k"
    assert here.requests[1].json()["alarm_id"] == 17  # 308 keeps method and body
    [moved] = there.requests
    assert moved.json()["alarm_id"] == 17
    assert "x-webhook-token" not in moved.headers  # another origin: the channel's header stays


def test_a_moved_endpoint_and_a_redirect_loop_are_reported_not_followed() -> None:
    async def scenario() -> tuple[HttpServer, HttpServer, list[DeliveryError | None]]:
        async with (
            HttpServer(host=ALLOWED, default=(301, b"")) as moved,
            HttpServer(host=ALLOWED, default=(307, b"")) as loop,
        ):
            moved.location = "https://93.184.215.14/new"
            loop.location = "/again"
            errors = [
                await send_once(WebhookChannel(name="a", url=moved.url()), GUARD),
                await send_once(WebhookChannel(name="b", url=loop.url()), GUARD),
            ]
        return moved, loop, errors

    moved, loop, (gone, looping) = asyncio.run(scenario())
    assert gone is not None and gone.code == "notify_redirected" and not gone.retryable
    assert "moved to https://93.184.215.14" in gone.message and len(moved.requests) == 1
    assert looping is not None and looping.code == "notify_redirected"
    assert f"more than {MAX_REDIRECTS} redirects" in looping.message
    assert len(loop.requests) == MAX_REDIRECTS + 1


class Flood:
    """A webhook endpoint that answers 200 with a body of ``total`` bytes, streamed in chunks,
    and counts how many of them the other side took before it hung up."""

    def __init__(self, total: int, encoding: str | None = None) -> None:
        self.total = total
        self.encoding = encoding
        self.sent = 0
        self.cut_off = False

    async def __aenter__(self) -> Flood:
        self._server = await asyncio.start_server(self._handle, ALLOWED, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        await reader.readexactly(length)
        encoding = f"Content-Encoding: {self.encoding}\r\n" if self.encoding else ""
        writer.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{encoding}"
            f"Content-Length: {self.total}\r\n\r\n".encode()
        )
        chunk = b"7" * 65536
        try:
            while self.sent < self.total:
                writer.write(chunk)
                await writer.drain()
                self.sent += len(chunk)
        except ConnectionError:
            self.cut_off = True
        finally:
            writer.close()


def test_an_endless_answer_is_read_only_up_to_the_bound() -> None:
    total = 256 * 1024 * 1024
    guard = TargetGuard([f"{ALLOWED}/32"])

    async def scenario() -> tuple[Flood, httpx.Response, DeliveryError | None]:
        async with Flood(total) as flood:
            url = f"http://{ALLOWED}:{flood.port}/hook"
            async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
                response = await post_pinned(client, guard, "webhook", url, {"a": 1}, {}, {})
            error = await send_once(WebhookChannel(name="ops", url=url), guard)
        return flood, response, error

    flood, response, error = asyncio.run(scenario())
    assert response.status_code == 200
    assert len(response.content) == MAX_ANSWER_BYTES  # the first bytes, no more
    assert response.content == b"7" * MAX_ANSWER_BYTES
    # The sender hung up long before the end (what is in flight fits in socket buffers).
    assert flood.cut_off and flood.sent < total // 4
    assert error is None  # a webhook's 200 is a delivery, whatever it says after


def test_a_compressed_answer_is_not_inflated() -> None:
    async def scenario() -> DeliveryError | None:
        async with Flood(4 * MAX_ANSWER_BYTES, encoding="gzip") as flood:
            url = f"http://{ALLOWED}:{flood.port}/robot/send"
            channel = parse_channels([{"kind": "dingtalk", "name": "ding", "url": url}])["ding"]
            return await send_once(channel, TargetGuard([f"{ALLOWED}/32"]))

    error = asyncio.run(scenario())
    # Not valid gzip, yet no decoding error: the bytes kept are never inflated, and a robot's
    # answer that is not JSON is reported as such.
    assert error is not None and error.code == "notify_bad_answer", error


@pytest.fixture
def allowed_smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox(refuse="ghost@example.com")
    controller = Controller(mailbox, hostname=ALLOWED, port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def test_mail_goes_to_the_checked_address_and_never_to_loopback(
    allowed_smtp: tuple[Mailbox, int],
) -> None:
    mailbox, port = allowed_smtp
    guard = TargetGuard([f"{ALLOWED}/32"], resolver=fixed({"mail.test": [ALLOWED]}))
    options = {"port": port, "sender": "alarm@shugu.example", "recipients": ["ops@example.com"]}
    pinned = EmailChannel(name="mail", host="mail.test", **options)
    inside = EmailChannel(name="inside", host="127.0.0.1", **options)

    async def scenario() -> list[DeliveryError | None]:
        return [await send_once(pinned, guard), await send_once(inside, guard)]

    delivered, refused = asyncio.run(scenario())
    assert delivered is None and len(mailbox.received) == 1
    assert refused is not None and refused.code == "notify_target_forbidden"
    assert "127.0.0.1 is a loopback address" in refused.message
    assert len(mailbox.received) == 1


def test_guard_errors_are_shugu_errors_with_a_422() -> None:
    for error in (TargetForbiddenError("x"), TargetUnresolvableError("x")):
        assert isinstance(error, ShuguError) and error.http_status == 422
