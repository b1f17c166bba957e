"""Persistent MQTT sessions kept by the main process, whichever process serves the client.

With ``--workers`` the kernel may put a client's next connection on another process. So the
main process keeps every session whose connection has ended (``MainSessions.kept``, which is
main's own MQTT endpoint's store): on CONNECT a process fetches the client's session from main
(a front over the channel, ``FrontSessions``; main's endpoint directly, ``MainHome``), and when
the connection ends it gives the session back. While a front holds a session it is *out*; a
process that takes the client over while the session is out waits (up to ``RETURN_WAIT_S``)
for the holder to close its connection (the takeover main already tells it) and give it back,
so the subscriptions, the QoS 1 messages not acknowledged and the QoS 2 ids awaiting release
all travel with the client.

A front that dies takes the sessions it held with it (they were in its memory only), as a
restart of a single process loses its sessions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import orjson

from shugu.front import wire
from shugu.ingest.mqtt.session import Session

#: How long a takeover waits for the process holding the session to give it back.
RETURN_WAIT_S = 3.0

Key = tuple[int, str]


def encode_session(session: Session) -> bytes:
    return orjson.dumps(
        {
            "device": session.device_id,
            "client": session.client_id,
            "subscriptions": session.subscriptions,
            "unacked": [
                [packet_id, topic, base64.b64encode(payload).decode()]
                for packet_id, (topic, payload) in session.unacked.items()
            ],
            "awaiting_release": sorted(session.awaiting_release),
            "next_id": session._next_id,
        }
    )


def decode_session(payload: bytes) -> Session:
    """The session a process sent; anything that does not add up is a ChannelError."""
    doc = wire.from_json(payload)
    try:
        session = Session(int(doc["device"]), str(doc["client"]))
        session.subscriptions = {str(f): int(q) for f, q in doc["subscriptions"].items()}
        session.unacked = OrderedDict(
            (int(packet_id), (str(topic), base64.b64decode(body, validate=True)))
            for packet_id, topic, body in doc["unacked"]
        )
        session.awaiting_release = {int(packet_id) for packet_id in doc["awaiting_release"]}
        session._next_id = int(doc["next_id"])
        ids = [*session.unacked, *session.awaiting_release, session._next_id]
        if not all(0 <= packet_id <= 65535 for packet_id in ids):
            raise ValueError("a packet id out of 0..65535")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise wire.ChannelError(f"a session frame is malformed: {exc}") from None
    return session


def _ask_payload(device_id: int, client_id: str, clean_start: bool) -> bytes:
    body = orjson.dumps({"client": client_id, "clean": clean_start})
    return wire.for_device(device_id, body)


def parse_ask(payload: bytes) -> tuple[int, str, bool]:
    device_id, body = wire.device_and_body(payload)
    doc = wire.from_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("client"), str):
        raise wire.ChannelError("a session request without its client id")
    return device_id, doc["client"], bool(doc.get("clean"))


class FrontSessions:
    """A front's ``SessionHome``: sessions are fetched from main and given back to it."""

    def __init__(
        self,
        ask: Callable[[int, bytes], Awaitable[bytes]],
        send: Callable[[int, int, bytes], None],
    ) -> None:
        self._ask = ask
        self._send = send

    async def fetch(self, device_id: int, client_id: str, clean_start: bool) -> Session | None:
        answer = await self._ask(wire.SESSION_TAKE, _ask_payload(device_id, client_id, clean_start))
        return decode_session(answer) if answer else None

    def give_back(self, session: Session) -> None:
        self._send(wire.SESSION_RETURN, 0, encode_session(session))


class MainSessions:
    """Main's keeper: the sessions kept between connections and those out at a front."""

    def __init__(self) -> None:
        #: Sessions whose connection ended (main's MQTT endpoint's own store when it has one).
        self.kept: dict[Key, Session] = {}
        #: Sessions a front holds now → that front.
        self._out: dict[Key, object] = {}
        #: Takeovers waiting for a session to come back.
        self._returns: dict[Key, asyncio.Event] = {}

    async def take(
        self, taker: object | None, device_id: int, client_id: str, clean_start: bool
    ) -> Session | None:
        """The session for ``taker`` (a front; None: main, whose endpoint reads ``kept``)."""
        key = (device_id, client_id)
        holder = self._out.get(key)
        if holder is not None and holder is not taker:
            returned = self._returns.setdefault(key, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(returned.wait(), RETURN_WAIT_S)
            if self._out.get(key) is holder:
                # The holder never gave it back (stuck, or gone): the client starts afresh.
                del self._out[key]
        if clean_start:
            self.kept.pop(key, None)
            return None
        if taker is None:
            return None
        self._out[key] = taker
        return self.kept.pop(key, None)

    def returned(self, giver: object, session: Session) -> None:
        key = (session.device_id, session.client_id)
        if self._out.get(key) is not giver:
            return  # taken meanwhile by another process, which started afresh
        del self._out[key]
        self.kept[key] = session
        waiting = self._returns.pop(key, None)
        if waiting is not None:
            waiting.set()

    def front_gone(self, front: object) -> None:
        for key in [k for k, holder in self._out.items() if holder is front]:
            del self._out[key]
            waiting = self._returns.pop(key, None)
            if waiting is not None:
                waiting.set()

    def forget_device(self, device_id: int) -> None:
        for key in [k for k in self._out if k[0] == device_id]:
            del self._out[key]
        for key in [k for k in self.kept if k[0] == device_id]:
            del self.kept[key]


class MainHome:
    """Main's own endpoint's ``SessionHome``: its store is ``MainSessions.kept`` itself, so a
    fetch only waits for a session out at a front to come back, after the takeover has told
    that front to close its connection."""

    def __init__(self, sessions: MainSessions, taken: Callable[[int, str], None]) -> None:
        self._sessions = sessions
        self._taken = taken

    async def fetch(self, device_id: int, client_id: str, clean_start: bool) -> Session | None:
        self._taken(device_id, client_id)
        return await self._sessions.take(None, device_id, client_id, clean_start)

    def give_back(self, session: Session) -> None:
        self._sessions.kept[(session.device_id, session.client_id)] = session
