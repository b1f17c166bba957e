"""A test notice to one of an enterprise's channels, sent now through the notifier, so that a
person setting up a channel learns at once whether it works, and if not, why.

The notice goes through the same senders, target guard and rendering as an alarm's (a DingTalk
robot secured by the keyword 告警 accepts it for the same reason), marked as the ``test`` event
about alarm 0 so that nobody takes it for an alarm. A failure is the delivery's own error: its
code tells the cause (``notify_unreachable``, ``notify_http_status``, ``notify_rejected``,
``notify_bad_answer``, ``notify_target_forbidden``, ``notify_redirected``). Callers have
authorised the enterprise.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

from shugu.domain.errors import NotFoundError
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.config import notify_settings
from shugu.monitor.model import AlarmNotice, NoticeEvent, Severity
from shugu.store.registry import Registry

from .dispatcher import Notifier
from .errors import DeliveryError

#: A test waits at most this long for the far end (a mail server may be set to wait 300 s).
TEST_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class SentTestNotice:
    """The channel took the test notice."""

    channel: str
    kind: str
    elapsed_ms: int


def build_test_notice(enterprise: str, now_ms: int, link: str | None = None) -> AlarmNotice:
    return AlarmNotice(
        alarm_id=0,
        event=NoticeEvent.test,
        severity=Severity.warning,
        rule_zh="数谷通知渠道测试",
        rule_en="shugu notification channel test",
        enterprise=enterprise,
        device="—",
        detail_zh="这是一条测试通知，用于确认告警能送达此渠道，无需处理。",
        detail_en="This is a test notice to confirm that alarms reach this channel; "
        "nothing needs to be done.",
        raised_at_ms=now_ms,
        at_ms=now_ms,
        link=link,
    )


async def send_test_notice(
    registry: Registry,
    notifier: Notifier,
    enterprise_id: int,
    channel_name: str,
    *,
    link: str | None = None,
    timeout_s: float = TEST_TIMEOUT_S,
) -> SentTestNotice:
    """Send a test notice to the enterprise's channel ``channel_name`` once, now.

    Raises ``NotFoundError`` for a channel the enterprise does not have, and the delivery's
    ``DeliveryError`` when the channel did not take the notice (``notify_unreachable`` too when
    the far end did not answer within ``timeout_s``).
    """
    enterprise = await asyncio.to_thread(registry.get_enterprise, enterprise_id)
    channels, _policy = await asyncio.to_thread(notify_settings, registry, enterprise_id)
    channel = channels.get(channel_name)
    if channel is None:
        raise NotFoundError("no such notification channel", field="channel")
    notice = build_test_notice(enterprise.name, utc_now_ms(), link)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            await notifier.send_now(channel, notice)
    except TimeoutError as exc:
        raise DeliveryError(
            f"{channel.kind}: no answer within {timeout_s:g} s",
            retryable=True,
            code="notify_unreachable",
        ) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    return SentTestNotice(channel.name, channel.kind, elapsed_ms)
