"""What an MQTT session keeps between connections: subscriptions and unacknowledged messages.

A client that connects with clean start off finds its session again (per device and client id),
with its subscriptions and the QoS 1 messages shugu sent it that it never acknowledged; those
are sent again, marked DUP, when it returns.

With ``--workers`` a session is kept by the main process (a ``SessionHome``): a process fetches it
when a client connects and gives it back when the connection ends, so that a client finds its
session on whichever process the kernel puts its next connection.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching with ``+`` (one level) and ``#`` (the rest)."""
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts):
            return False
        if part != "+" and part != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)


@dataclass(slots=True)
class Session:
    device_id: int
    client_id: str
    #: topic filter → granted QoS
    subscriptions: dict[str, int] = field(default_factory=dict)
    #: QoS 1 messages sent and not yet acknowledged: packet id → (topic, payload)
    unacked: OrderedDict[int, tuple[str, bytes]] = field(default_factory=OrderedDict)
    #: QoS 2 packet ids received, stored, and waiting for the client's PUBREL.
    awaiting_release: set[int] = field(default_factory=set)
    _next_id: int = 0

    def granted_qos(self, topic: str) -> int | None:
        best: int | None = None
        for topic_filter, qos in self.subscriptions.items():
            if topic_matches(topic_filter, topic) and (best is None or qos > best):
                best = qos
        return best

    def next_packet_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self.unacked:
                return self._next_id
        raise RuntimeError("all 65,535 packet identifiers are in flight")


class SessionHome(Protocol):
    """Where sessions are kept between connections when several processes serve MQTT."""

    async def fetch(self, device_id: int, client_id: str, clean_start: bool) -> Session | None:
        """The client's kept session, now held here (None: none kept, or clean start, which
        also discards it); raises UnavailableError when the keeper cannot be asked."""

    def give_back(self, session: Session) -> None:
        """The session's connection ended: keep it for the client's next connection."""
