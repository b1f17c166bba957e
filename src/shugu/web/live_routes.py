"""``GET /live``: one server-sent-event stream per open page.

The page names what it shows (``devices=1,2,3``, ``alarms=1``, ``health=1``); each device is
checked as the API checks a read of its values, so a stream never carries what the user could
not fetch. Events: ``values`` (``{device: {metric: [ts_ms, value]}}``), ``alarms``
(``{"enterprises": [...]}``: refetch the alarm fragments), ``health`` (the operator's figures,
every ``HEALTH_EVERY_S``), and a comment every ``KEEPALIVE_S`` that keeps proxies from closing
an idle stream. Every ``RECHECK_S`` the stream checks again that its session is still signed in
as the same account and may still read the enterprises it carries values of: a page left open
stops receiving once its user signs out or an enterprise revokes its consent, as the API would
refuse its next request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from shugu.api.scope import visible_devices
from shugu.api.session_cookies import session_token_of
from shugu.domain.errors import ForbiddenError, ValidationError
from shugu.domain.tenancy import Role
from shugu.web.health import snapshot
from shugu.web.live import LiveHub, Subscription
from shugu.web.session import PageUser, PageUserDep

router = APIRouter(include_in_schema=False)

MAX_DEVICES: Final = 500
KEEPALIVE_S: Final = 15.0
HEALTH_EVERY_S: Final = 2.0
RECHECK_S: Final = 15.0


def hub_of(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live_hub
    return hub


def _device_ids(raw: str) -> list[int]:
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or len(part) > 12:
            raise ValidationError(f"not a device id: {part[:20]!r}", code="invalid_device_ids")
        ids.append(int(part))
    if len(ids) > MAX_DEVICES:
        raise ValidationError(
            f"a page watches at most {MAX_DEVICES} devices", code="too_many_devices"
        )
    return ids


def _check(user: PageUser, ids: list[int]) -> frozenset[int]:
    """The enterprises of the devices, each of which the user may read the values of."""
    return visible_devices(user.services.registry, user.access, ids)


def _still_allowed(user: PageUser, token: str, enterprises: frozenset[int]) -> bool:
    if user.services.registry.principal_for_token(token) != user.principal:
        return False
    return all(user.access.can_read_machines(e) for e in enterprises)


def _event(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _stream(
    hub: LiveHub,
    sub: Subscription,
    user: PageUser,
    health: bool,
    token: str,
    enterprises: frozenset[int],
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    next_health = loop.time()
    next_keepalive = loop.time() + KEEPALIVE_S
    next_check = loop.time() + RECHECK_S
    try:
        yield b"retry: 3000\n\n"
        while True:
            deadline = min(next_keepalive, next_check, next_health if health else next_keepalive)
            # A timeout context, not wait_for: that would start a task per wait, and a thousand
            # open pages wait five times a second.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await sub.wake.wait()
            if loop.time() >= next_check:
                if not await run_in_threadpool(_still_allowed, user, token, enterprises):
                    return
                next_check = loop.time() + RECHECK_S
            values, alarms = sub.take()
            sent = False
            if values:
                yield _event("values", {str(d): m for d, m in values.items()})
                sent = True
            if alarms:
                yield _event("alarms", {"enterprises": sorted(alarms)})
                sent = True
            now = loop.time()
            if health and now >= next_health:
                yield _event("health", snapshot(user.services))
                next_health = now + HEALTH_EVERY_S
                sent = True
            if sent:
                next_keepalive = now + KEEPALIVE_S
            elif now >= next_keepalive:
                yield b": keepalive\n\n"
                next_keepalive = now + KEEPALIVE_S
    finally:
        hub.unsubscribe(sub)


@router.get("/live")
async def live(
    request: Request,
    user: PageUserDep,
    devices: str = "",
    alarms: bool = False,
    health: bool = False,
) -> StreamingResponse:
    ids = _device_ids(devices)
    enterprises = await run_in_threadpool(_check, user, ids)
    if health and user.role is not Role.OPERATOR:
        raise ForbiddenError("platform health is the operator's", code="forbidden")
    access = user.access
    sub = hub_of(request).subscribe(ids, access.can_count_alarms if alarms else None)
    return StreamingResponse(
        _stream(hub_of(request), sub, user, health, session_token_of(request) or "", enterprises),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
