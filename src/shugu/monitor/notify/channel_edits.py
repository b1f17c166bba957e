"""Changing one notification channel, or the escalation policy, of an enterprise, keeping the
rest of its settings as they are.

A form edits one channel at a time and never sees its secrets (they are shown masked), so a
secret left out of the edit keeps its stored value. Every change is saved through
``settings_service.replace_settings``: the whole settings are validated, every target vetted and
the monitor reconfigured, as when the API replaces them. Errors about the edited channel name
its field as ``channel.<field>`` (``channel.url``, ``channel.recipients``); errors elsewhere keep
the settings' own path (``channels.2.url``, ``policy``). Callers have authorised the enterprise.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry

from . import settings_service
from .targets import TargetGuard

#: Fields kept secret: shown masked, kept when an edit leaves them out.
SECRET_FIELDS: Final = ("secret", "password")
KINDS: Final = ("webhook", "dingtalk", "wecom", "email")


def stored_settings(
    registry: Registry, enterprise_id: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The channels as stored (secrets in clear: for saving back, never for showing) and the
    policy."""
    channels = [dict(r.body) for r in registry.list_configs("channel", [enterprise_id])]
    policies = registry.list_configs("escalation", [enterprise_id])
    return channels, (dict(policies[0].body) if policies else None)


def _index_of(channels: list[dict[str, Any]], name: str) -> int:
    for index, channel in enumerate(channels):
        if channel.get("name") == name:
            return index
    raise NotFoundError("no such notification channel", field="channel")


def _renamed(policy: dict[str, Any] | None, old: str, new: str) -> dict[str, Any] | None:
    if policy is None or old == new:
        return policy
    out = dict(policy)
    for group in ("first", "second"):
        names = out.get(group)
        if isinstance(names, list):
            out[group] = [new if name == old else name for name in names]
    return out


def _without(policy: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The policy without the channel; no policy when its first group is then empty."""
    if policy is None:
        return None
    out = dict(policy)
    for group in ("first", "second"):
        names = out.get(group)
        if isinstance(names, list):
            out[group] = [item for item in names if item != name]
    if not out.get("first"):
        return None
    if not out.get("second"):
        out.pop("second", None)
        out.pop("escalate_after_min", None)
    return out


def _field_about(exc: ShuguError, index: int) -> ShuguError:
    """The error with the edited channel's fields named ``channel.<field>``: the settings'
    path is ``channels.<index>[.<kind>].<field>`` (pydantic names the kind it tried)."""
    field = exc.details.get("field")
    prefix = f"channels.{index}"
    if not isinstance(field, str) or not (field == prefix or field.startswith(prefix + ".")):
        return exc
    parts = field.split(".")[2:]
    if parts and parts[0] in KINDS:
        parts = parts[1:]
    exc.details["field"] = ".".join(["channel", *parts]) if parts else "channel"
    return exc


async def _replace(
    registry: Registry,
    monitor: Monitor,
    guard: TargetGuard,
    enterprise_id: int,
    channels: list[dict[str, Any]],
    policy: dict[str, Any] | None,
    edited: int | None,
) -> None:
    try:
        await settings_service.replace_settings(
            registry, monitor, guard, enterprise_id, channels, policy
        )
    except ShuguError as exc:
        raise (exc if edited is None else _field_about(exc, edited)) from None


async def save_channel(
    registry: Registry,
    monitor: Monitor,
    guard: TargetGuard,
    enterprise_id: int,
    raw: dict[str, Any],
    *,
    replacing: str | None = None,
) -> None:
    """Add a channel, or replace the one named ``replacing`` (renaming it in the policy too).

    A secret field missing from ``raw`` keeps the replaced channel's value; given as None it is
    removed.
    """
    channels, policy = await asyncio.to_thread(stored_settings, registry, enterprise_id)
    channel = dict(raw)
    others = [c.get("name") for c in channels if replacing is None or c.get("name") != replacing]
    if channel.get("name") in others:
        raise ValidationError(
            f"channel.name: the name {channel.get('name')!r} is used by another channel",
            code="notify_channel_invalid",
            field="channel.name",
        )
    if replacing is None:
        index = len(channels)
        channels.append(channel)
    else:
        index = _index_of(channels, replacing)
        old = channels[index]
        if old.get("kind") == channel.get("kind"):
            for field in SECRET_FIELDS:
                if field not in channel and old.get(field) is not None:
                    channel[field] = old[field]
        for field in SECRET_FIELDS:
            if field in channel and channel[field] is None:
                del channel[field]
        channels[index] = channel
        new_name = channel.get("name")
        if isinstance(new_name, str):
            policy = _renamed(policy, replacing, new_name)
    await _replace(registry, monitor, guard, enterprise_id, channels, policy, index)


async def remove_channel(
    registry: Registry, monitor: Monitor, guard: TargetGuard, enterprise_id: int, name: str
) -> None:
    """Remove a channel, and its name from the policy (the policy goes when no channel is left
    to notify first)."""
    channels, policy = await asyncio.to_thread(stored_settings, registry, enterprise_id)
    del channels[_index_of(channels, name)]
    await _replace(registry, monitor, guard, enterprise_id, channels, _without(policy, name), None)


async def save_policy(
    registry: Registry,
    monitor: Monitor,
    guard: TargetGuard,
    enterprise_id: int,
    policy: dict[str, Any] | None,
) -> None:
    """Replace the escalation policy (None: no notices at all), keeping the channels."""
    channels, _old = await asyncio.to_thread(stored_settings, registry, enterprise_id)
    await _replace(registry, monitor, guard, enterprise_id, channels, policy, None)


_MASK_QUERY: Final = re.compile(r"\?.*$")


def shown_target(channel: dict[str, Any]) -> str:
    """Where a channel sends, as a list shows it: a robot URL's query (its access token) is a
    credential and is cut; mail shows its server and recipients."""
    if channel.get("kind") == "email":
        recipients = channel.get("recipients") or []
        to = ", ".join(str(r) for r in recipients[:3]) + (" …" if len(recipients) > 3 else "")
        return f"{channel.get('host', '')}:{channel.get('port', 25)} → {to}"
    url = str(channel.get("url", ""))
    return _MASK_QUERY.sub("?…", url)
