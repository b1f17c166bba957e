"""Notification channels as data: where a notice goes and how it is addressed.

A channel is a pydantic model chosen by its ``kind`` (a discriminated union), so a YAML or JSON
list of channels validates in one step and an error names the offending field
(``channels[2].recipients.0: ...``). Secrets (signing keys, SMTP passwords, the access tokens
inside robot URLs) are kept out of ``repr`` so a logged configuration does not leak them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from email.utils import parseaddr
from typing import Annotated, Any, Literal

import httpx
import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shugu.domain.errors import ValidationError

from .errors import describe_invalid

Lang = Literal["zh", "en"]

#: A name the escalation policy refers to: letters (any script), digits, "_", "-", ".".
_NAME = re.compile(r"^[\w.\-]{1,64}$")
#: Mobile numbers as the robots expect them: digits, optionally with a leading "+" and dashes.
_MOBILE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")
#: A deliberately plain address check: one "@", no spaces, a dot in the domain. Full RFC 5322
#: validation would need an extra dependency and the SMTP server has the last word anyway.
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
#: HTTP header field names (RFC 9110 token characters).
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Header values: visible ASCII, spaces and tabs; no line breaks, no other control characters.
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
#: Headers a channel may not set, for they carry credentials to wherever the URL points, speak
#: for a proxy or a client address, or would contradict the body shugu frames.
_FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "forwarded",
        "x-real-ip",
        "via",
    }
)
_FORBIDDEN_HEADER_PREFIXES = ("proxy-", "x-forwarded-", "content-", "sec-")
MAX_HEADERS = 20
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 1024


def _check_http_url(value: str) -> str:
    # Parsed by the HTTP client's own parser: the host checked here is the host a delivery
    # connects to, with no second reading of the URL to disagree with this one.
    value = value.strip()
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise ValueError("has a port that is not a number from 1 to 65535")
    if parsed.userinfo:
        raise PydanticCustomError(
            "notify_header_forbidden",
            "must not carry a user name or password (user:password@): they would be sent as "
            "an Authorization header, which channels may not set",
        )
    return value


def _forbidden_header(name: str, value: str) -> str | None:
    """Why a channel may not send this header, or None."""
    lower = name.lower()
    if not _HEADER_NAME.match(name) or len(name) > MAX_HEADER_NAME:
        return (
            f"{name[:MAX_HEADER_NAME]!r} is not an HTTP header name (1–{MAX_HEADER_NAME} of "
            "letters, digits and !#$%&'*+-.^_`|~)"
        )
    if lower in _FORBIDDEN_HEADERS or lower.startswith(_FORBIDDEN_HEADER_PREFIXES):
        return (
            f"the header {name!r} may not be set by a channel (credentials, hop-by-hop, proxy "
            "and content headers are shugu's to write); use a header of your own such as "
            "X-Webhook-Token"
        )
    if not _HEADER_VALUE.match(value):
        return (
            f"the value of header {name!r} must be printable ASCII on one line "
            "(no line breaks or control characters)"
        )
    if len(value) > MAX_HEADER_VALUE:
        return f"the value of header {name!r} is longer than {MAX_HEADER_VALUE} characters"
    return None


def _check_mobiles(values: list[str]) -> list[str]:
    for value in values:
        if not _MOBILE.match(value):
            raise ValueError(f"{value!r} is not a mobile number (digits, optional + and -)")
    return values


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The name escalation policies use, unique among the channels of one configuration.
    name: str
    #: Language of the message text; Chinese first.
    lang: Lang = "zh"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1–64 letters, digits, '_', '-' or '.'")
        return value


class WebhookChannel(_Channel):
    """Any HTTP endpoint: POST of the notice as JSON (see ``render.notice_json``)."""

    kind: Literal["webhook"] = "webhook"
    url: str = Field(repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)

    _url = field_validator("url")(_check_http_url)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_HEADERS:
            raise PydanticCustomError(
                "notify_header_forbidden", f"at most {MAX_HEADERS} headers, not {len(value)}"
            )
        for key, item in value.items():
            why = _forbidden_header(key, item)
            if why is not None:
                # Braces in a user's text must not be read as PydanticCustomError placeholders.
                raise PydanticCustomError("notify_header_forbidden", "{why}", {"why": why})
        return value


class DingTalkChannel(_Channel):
    """钉钉群自定义机器人 (custom group robot), markdown message, optional 加签 signing."""

    kind: Literal["dingtalk"] = "dingtalk"
    #: https://oapi.dingtalk.com/robot/send?access_token=…; the token is a credential.
    url: str = Field(repr=False)
    #: The robot's "加签" secret (starts with SEC…); when set, every request is signed.
    secret: SecretStr | None = None
    at_mobiles: list[str] = Field(default_factory=list)
    at_all: bool = False

    _url = field_validator("url")(_check_http_url)
    _mobiles = field_validator("at_mobiles")(_check_mobiles)


class WeComChannel(_Channel):
    """企业微信群机器人 (WeCom group robot): markdown, or text when people are to be @-mentioned."""

    kind: Literal["wecom"] = "wecom"
    #: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…; the key is a credential.
    url: str = Field(repr=False)
    #: WeCom's markdown cannot mention by mobile number; only a text message can.
    msgtype: Literal["markdown", "text"] = "markdown"
    mentioned_mobiles: list[str] = Field(default_factory=list)

    _url = field_validator("url")(_check_http_url)

    @field_validator("mentioned_mobiles")
    @classmethod
    def _mentions(cls, value: list[str]) -> list[str]:
        # "@all" is WeCom's own word for everyone in the group.
        _check_mobiles([item for item in value if item != "@all"])
        return value

    @model_validator(mode="after")
    def _mentions_need_text(self) -> WeComChannel:
        if self.mentioned_mobiles and self.msgtype != "text":
            raise ValueError(
                "mentioned_mobiles needs msgtype 'text': WeCom markdown messages cannot "
                "mention people by mobile number"
            )
        return self


class EmailChannel(_Channel):
    """Mail through an SMTP server (the enterprise's own, or a provider's)."""

    kind: Literal["email"] = "email"
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    #: Upgrade the connection with STARTTLS (submission port 587).
    starttls: bool = False
    #: Implicit TLS from the first byte (port 465, what QQ Mail and 163 offer).
    use_ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    #: "alarm@example.com" or "数谷告警 <alarm@example.com>".
    sender: str
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=30.0, gt=0, le=300)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(ch.isspace() or ch in "/:@" for ch in value):
            raise ValueError("must be a host name or an IP address, without scheme or port")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        _, address = parseaddr(value)
        if not _ADDRESS.match(address):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _ADDRESS.match(item):
                raise ValueError(f"{item!r} is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _tls_and_login(self) -> EmailChannel:
        if self.starttls and self.use_ssl:
            raise ValueError("choose one of starttls (port 587) and use_ssl (port 465), not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        return self


ChannelConfig = Annotated[
    WebhookChannel | DingTalkChannel | WeComChannel | EmailChannel,
    Field(discriminator="kind"),
]

_CHANNEL_LIST: pydantic.TypeAdapter[list[ChannelConfig]] = pydantic.TypeAdapter(list[ChannelConfig])


def parse_channels(
    raw: Sequence[Mapping[str, Any]], *, field: str = "channels"
) -> dict[str, ChannelConfig]:
    """Validate a list of channel mappings (from YAML, JSON or a form) into name → channel.

    Raises shugu's ``ValidationError`` whose message names every bad field, e.g.
    ``channels.1.dingtalk.url: Value error, must be an http:// or https:// URL with a host``.
    """
    try:
        channels = _CHANNEL_LIST.validate_python(list(raw))
    except pydantic.ValidationError as exc:
        raise describe_invalid(
            exc, field, "notification channels are", "notify_channel_invalid"
        ) from exc
    return channel_map(channels, field=field)


def channel_map(
    channels: Iterable[ChannelConfig], *, field: str = "channels"
) -> dict[str, ChannelConfig]:
    """Name → channel; two channels with one name are an error (a policy could not tell them
    apart)."""
    result: dict[str, ChannelConfig] = {}
    for index, channel in enumerate(channels):
        if channel.name in result:
            raise ValidationError(
                f"{field}.{index}.name: the name {channel.name!r} is used twice",
                code="notify_channel_invalid",
                field=f"{field}.{index}.name",
            )
        result[channel.name] = channel
    return result
