"""A notification channel as a form: its fields by kind, what a submitted form means as the
channel settings' JSON, and the server's errors placed beside the fields they are about.

Lists (mobiles, recipients) are typed one a line or separated by commas; webhook headers one
``Name: value`` a line. A secret (DingTalk signing key, SMTP password) is never shown back: left
empty it keeps its stored value, and a "remove" box removes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shugu.domain.errors import ShuguError, ValidationError
from shugu.monitor.notify.channel_edits import KINDS, SECRET_FIELDS
from shugu.web.i18n import N_, Translator

KIND_LABELS: Final = {
    "webhook": N_("Webhook"),
    "dingtalk": N_("DingTalk robot"),
    "wecom": N_("WeCom robot"),
    "email": N_("E-mail"),
}
LANG_LABELS: Final = {"zh": N_("Chinese"), "en": N_("English")}
#: The fields each kind's form has, beyond name and language.
KIND_FIELDS: Final = {
    "webhook": ("url", "headers"),
    "dingtalk": ("url", "secret", "at_mobiles", "at_all"),
    "wecom": ("url", "msgtype", "mentioned_mobiles"),
    "email": (
        "host",
        "port",
        "starttls",
        "use_ssl",
        "username",
        "password",
        "sender",
        "recipients",
        "timeout_s",
    ),
}
_LISTS: Final = ("at_mobiles", "mentioned_mobiles", "recipients")
_CHECKBOXES: Final = ("at_all", "starttls", "use_ssl")
_SPLIT: Final = re.compile(r"[\s,;，；、]+")
MAX_FIELD: Final = 4000

#: What to write in a field the server refused, beside the error's own message.
FIELD_HINTS: Final = {
    "name": N_("1–64 letters, digits, '_', '-' or '.'; unique among the channels."),
    "url": N_("An http:// or https:// address with a host."),
    "headers": N_("One 'Name: value' a line; credentials and proxy headers are not allowed."),
    "at_mobiles": N_("Mobile numbers: digits, an optional + and dashes."),
    "mentioned_mobiles": N_("Mobile numbers, or @all for everyone in the group."),
    "host": N_("A host name or IP address, without scheme or port."),
    "port": N_("A port from 1 to 65535."),
    "sender": N_("An e-mail address, e.g. 数谷告警 <alarm@example.com>."),
    "recipients": N_("At least one e-mail address."),
    "timeout_s": N_("Seconds, more than 0 and at most 300."),
}
#: Errors across fields, told apart by the server's message (written in notify/channels.py).
_CROSS_FIELD: Final = (
    (
        "username and password go together",
        "password",
        N_("Give a username and a password, or neither."),
    ),
    ("choose one of starttls", "use_ssl", N_("Choose STARTTLS or SSL, not both.")),
    (
        "mentioned_mobiles needs msgtype",
        "msgtype",
        N_("Mentioning people needs the text message type."),
    ),
)


@dataclass
class ChannelForm:
    """What the form shows: the values typed (or stored), and errors by field (``_form`` for
    the form as a whole)."""

    kind: str
    values: dict[str, str] = field(default_factory=dict)
    #: Secret fields that have a stored value (shown as "set", never shown).
    secrets_set: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str) -> bool:
        return self.values.get(name) in ("true", "on", "1")


def form_of(channel: Mapping[str, Any]) -> ChannelForm:
    """A stored channel (secrets masked) as the form shows it."""
    kind = str(channel.get("kind", ""))
    values: dict[str, str] = {
        "name": str(channel.get("name", "")),
        "lang": str(channel.get("lang", "zh")),
    }
    secrets = set()
    for name in KIND_FIELDS.get(kind, ()):
        raw = channel.get(name)
        if name in SECRET_FIELDS:
            if raw:
                secrets.add(name)
            continue
        if raw is None:
            continue
        if name == "headers" and isinstance(raw, Mapping):
            values[name] = "\n".join(f"{k}: {v}" for k, v in raw.items())
        elif name in _LISTS and isinstance(raw, list):
            values[name] = "\n".join(str(item) for item in raw)
        elif name in _CHECKBOXES:
            values[name] = "true" if raw else ""
        else:
            values[name] = str(raw)
    return ChannelForm(kind, values, secrets)


def _text(form: Mapping[str, Any], name: str) -> str:
    raw = form.get(name)
    return raw.strip()[:MAX_FIELD] if isinstance(raw, str) else ""


def _headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValidationError(
                "write each header as Name: value",
                code="notify_header_forbidden",
                field="channel.headers",
            )
        headers[name.strip()] = value.strip()
    return headers


def parse_form(form: Mapping[str, Any]) -> tuple[ChannelForm, dict[str, Any]]:
    """The submitted form as typed (to show again) and as the channel's JSON. Raises
    ``ValidationError`` naming the field for what cannot be read at all."""
    kind = _text(form, "kind")
    shown = ChannelForm(kind)
    if kind not in KINDS:
        raise ValidationError(
            f"the kind of channel is one of {', '.join(KINDS)}",
            code="notify_channel_invalid",
            field="channel.kind",
        )
    raw: dict[str, Any] = {
        "kind": kind,
        "name": _text(form, "name"),
        "lang": _text(form, "lang") or "zh",
    }
    shown.values.update(name=raw["name"], lang=raw["lang"])
    for name in KIND_FIELDS[kind]:
        text = _text(form, name)
        if name in SECRET_FIELDS:
            if text:
                raw[name] = text
            elif _text(form, f"{name}_clear"):
                raw[name] = None
            continue
        shown.values[name] = text
        if name in _CHECKBOXES:
            raw[name] = text in ("true", "on", "1")
        elif name in _LISTS:
            raw[name] = [item for item in _SPLIT.split(text) if item]
        elif name == "headers":
            raw[name] = _headers(text)
        elif text:  # an empty optional field takes its default
            raw[name] = text
    return shown, raw


def _joined(tr: Translator, *sentences: str) -> str:
    """Sentences one after another: Chinese runs them together, English puts a space between."""
    return ("" if tr.lang == "zh-CN" else " ").join(sentences)


def place_error(tr: Translator, form: ChannelForm, exc: ShuguError) -> None:
    """The server's error beside the field it is about (``channel.url`` → url), in the user's
    language; an error about the settings elsewhere goes above the form."""
    where = str(exc.details.get("field") or "")
    message = tr.error(exc.code, exc.message)
    name = ""
    if where.startswith("channel."):
        name = where.removeprefix("channel.").split(".")[0]
    elif where == "channel":
        for needle, field_name, hint in _CROSS_FIELD:
            if needle in exc.message:
                name, message = field_name, _joined(tr, message, tr(hint))
                break
    if name in FIELD_HINTS and exc.code == "notify_channel_invalid":
        message = _joined(tr, message, tr(FIELD_HINTS[name]))
    form.errors[name or "_form"] = message
