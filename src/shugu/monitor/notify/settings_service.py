"""An enterprise's notification settings: its channels and escalation policy, read and replaced.

Replacing them validates both, vets every channel's target (where notices may go), saves them
together and reconfigures the monitor, in one call. Callers have already authorised the
enterprise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from shugu.domain.errors import ValidationError
from shugu.monitor.notify.channels import ChannelConfig, parse_channels
from shugu.monitor.notify.escalation import EscalationPolicy, parse_policy
from shugu.monitor.notify.targets import TargetGuard
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry

_SECRET_FIELDS = ("secret", "password")


@dataclass(frozen=True, slots=True)
class NotifySettingsView:
    """The settings as shown back: secrets masked."""

    channels: list[dict[str, Any]]
    policy: dict[str, Any] | None


def _with_secrets(channel: dict[str, Any]) -> dict[str, Any]:
    """The channel as stored: secrets in clear (the registry is the server's own store), every
    other value as JSON."""
    return {
        k: (v.get_secret_value() if isinstance(v, SecretStr) else v) for k, v in channel.items()
    }


def _masked(channel: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k in _SECRET_FIELDS and v else v) for k, v in channel.items()}


def read_settings(registry: Registry, enterprise_id: int) -> NotifySettingsView:
    """Channels (secrets masked) and the escalation policy."""
    channels = [_masked(r.body) for r in registry.list_configs("channel", [enterprise_id])]
    policies = registry.list_configs("escalation", [enterprise_id])
    return NotifySettingsView(channels=channels, policy=policies[0].body if policies else None)


async def replace_settings(
    registry: Registry,
    monitor: Monitor,
    guard: TargetGuard,
    enterprise_id: int,
    raw_channels: list[dict[str, Any]],
    raw_policy: dict[str, Any] | None,
) -> None:
    """Replace the enterprise's channels and escalation policy together."""
    await asyncio.to_thread(registry.get_enterprise, enterprise_id)
    channels = parse_channels(raw_channels)
    policy = _checked_policy(raw_policy, channels)
    # Awaited, not in a worker thread: a tenant's slow DNS holds none of the threads the
    # synchronous work shares, and the guard's deadline bounds the wait.
    await guard.vet_channels(channels)
    await asyncio.to_thread(_save, registry, monitor, enterprise_id, channels, policy)


def _checked_policy(
    raw: dict[str, Any] | None, channels: dict[str, ChannelConfig]
) -> EscalationPolicy | None:
    if raw is None:
        return None
    policy = parse_policy(raw)
    unknown = policy.unknown_channels(channels)
    if unknown:
        raise ValidationError(
            f"the policy names channels that do not exist: {', '.join(unknown)}",
            code="policy_invalid",
            field="policy",
        )
    return policy


def _save(
    registry: Registry,
    monitor: Monitor,
    enterprise_id: int,
    channels: dict[str, ChannelConfig],
    policy: EscalationPolicy | None,
) -> None:
    for record in registry.list_configs("channel", [enterprise_id]):
        registry.delete_config(record.id, "channel")
    for name, channel in channels.items():
        registry.put_config(
            "channel",
            enterprise_id,
            _with_secrets(channel.model_dump()),
            ref=f"{enterprise_id}:{name}",
        )
    registry.delete_config_ref("escalation", str(enterprise_id))
    if policy is not None:
        registry.put_config(
            "escalation", enterprise_id, policy.model_dump(mode="json"), ref=str(enterprise_id)
        )
    monitor.configure()
