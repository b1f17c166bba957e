"""Alarm notifications: channels (webhook, DingTalk, WeCom, e-mail), background delivery with
retry and back-off, and the repeat/escalation plan."""

from .channels import (
    ChannelConfig,
    DingTalkChannel,
    EmailChannel,
    WebhookChannel,
    WeComChannel,
    channel_map,
    parse_channels,
)
from .dispatcher import ChannelStatus, Notifier, NotifierStatus
from .errors import DeliveryError
from .escalation import (
    EscalationPolicy,
    EscalationState,
    audience,
    parse_policy,
    plan,
    plan_all,
)
from .senders import Sender
from .targets import (
    TargetForbiddenError,
    TargetGuard,
    TargetResolveTimeoutError,
    TargetUnresolvableError,
)

__all__ = [
    "ChannelConfig",
    "ChannelStatus",
    "DeliveryError",
    "DingTalkChannel",
    "EmailChannel",
    "EscalationPolicy",
    "EscalationState",
    "Notifier",
    "NotifierStatus",
    "Sender",
    "TargetForbiddenError",
    "TargetGuard",
    "TargetResolveTimeoutError",
    "TargetUnresolvableError",
    "WeComChannel",
    "WebhookChannel",
    "audience",
    "channel_map",
    "parse_channels",
    "parse_policy",
    "plan",
    "plan_all",
]
