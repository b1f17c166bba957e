"""Device attributes as ThingsBoard defines them, one service for MQTT and HTTP.

- *client* attributes are what a device reports about itself (firmware, serial number), over
  ``v1/devices/me/attributes`` or ``POST /api/v1/{token}/attributes``;
- *shared* attributes are set for a device by its enterprise (a set point, a reporting period)
  and pushed to it: on ``v1/devices/me/attributes`` to an MQTT device, on
  ``v1/gateway/attributes`` to a gateway for the devices behind it, and as the answer to a
  waiting ``GET /api/v1/{token}/attributes/updates`` for a device that polls over HTTP.

A device reads both with ``clientKeys`` and ``sharedKeys``, as in ThingsBoard: naming neither
returns every attribute of both scopes, naming one returns only what it names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ValidationError
from shugu.ingest.door import IngestDoor
from shugu.ingest.long_poll import DevicePolls, LongPoll
from shugu.store.telemetry import AttributeRecord, IngestStore, RejectRecord

#: Longest attribute key kept (the store's column holds 255 characters).
MAX_ATTRIBUTE_KEY = 255
#: How long after its last poll a device that polls over HTTP keeps receiving updates in a
#: mailbox (ThingsBoard's default long-poll time): what changes between two polls is not lost.
POLLED_RECENTLY_S = 60.0

#: Sends a JSON object of changed shared attributes to a connected device; False if it cannot.
Push = Callable[[bytes], bool]


def is_text(value: str) -> bool:
    """Whether a string is text the stores can keep: no lone surrogates (JSON can escape one)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def attribute_problem(key: str, value: Any) -> str | None:
    """Why an attribute cannot be kept as it was sent, or None if it can."""
    if not 0 < len(key) <= MAX_ATTRIBUTE_KEY or not key.isprintable() or not is_text(key):
        return f"an attribute key is 1 to {MAX_ATTRIBUTE_KEY} printable characters"
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        # Lone surrogates, integers beyond 64 bits, nesting deeper than 254 levels.
        return f"the value of attribute {key!r} cannot be kept as JSON: {exc}"
    return None


def _keys(raw: Any) -> set[str] | None:
    """``"a,b"`` → {"a", "b"}; None when the scope was not named."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    return {k.strip() for k in raw.split(",") if k.strip()}


@dataclass(slots=True)
class AttributeWrite:
    stored: int
    refusals: list[RejectRecord]


@dataclass(frozen=True, slots=True)
class DeviceAttributes:
    """Both scopes of one device's attributes, as people read them."""

    client: dict[str, Any]
    shared: dict[str, Any]
    #: ``"client.key"`` / ``"shared.key"`` → when the value was kept (ms since 1970).
    updated: dict[str, int]


@dataclass(slots=True)
class _Poller(LongPoll[dict[str, Any]]):
    """A device that fetches shared-attribute updates over HTTP."""

    #: Changes made since its last poll, merged, while it polled recently.
    pending: dict[str, Any] = field(default_factory=dict)


class AttributeService:
    def __init__(self, door: IngestDoor, store: IngestStore) -> None:
        self._door = door
        self._store = store
        #: device id → how shared-attribute changes reach its live MQTT connection
        self._pushes: dict[int, Push] = {}
        self._polls: DevicePolls[_Poller] = DevicePolls(_Poller, nothing={})

    # -- what devices report

    async def store_client(self, device: DeviceRef, doc: Any) -> AttributeWrite:
        """Keep the client attributes a device sent; each bad key is refused alone."""
        if not isinstance(doc, dict):
            raise ValidationError(
                "attributes are a JSON object of keys and values", code="bad_shape"
            )
        now = time.time_ns() // 1_000_000
        records = []
        refusals = []
        for key, value in doc.items():
            problem = attribute_problem(key, value)
            if problem is None:
                records.append(
                    AttributeRecord(device.id, "client", key, orjson.dumps(value).decode(), now)
                )
            else:
                refusals.append(RejectRecord(now, device.id, "bad_attribute", problem, key[:200]))
        if records:
            await self._door.store_attributes(records)
        for refusal in refusals:
            await self._door.record_refusal(refusal)
        return AttributeWrite(len(records), refusals)

    def read(self, device_id: int, client_keys: Any, shared_keys: Any) -> dict[str, dict[str, Any]]:
        """``{"client": {...}, "shared": {...}}`` as ThingsBoard answers an attribute request."""
        wanted = {"client": _keys(client_keys), "shared": _keys(shared_keys)}
        everything = wanted["client"] is None and wanted["shared"] is None
        answer: dict[str, dict[str, Any]] = {"client": {}, "shared": {}}
        for record in self._store.attributes(device_id):
            if record.scope not in answer:
                continue
            keys = wanted[record.scope]
            if everything or (keys is not None and record.key in keys):
                answer[record.scope][record.key] = orjson.loads(record.value_json)
        return answer

    async def request(
        self, device_id: int, client_keys: Any, shared_keys: Any
    ) -> dict[str, dict[str, Any]]:
        """:meth:`read` for a device's own request; a front process asks main's store."""
        return self.read(device_id, client_keys, shared_keys)

    def of_device(self, device_id: int) -> DeviceAttributes:
        """Every attribute of a device, client and shared, with when each was kept."""
        out = DeviceAttributes(client={}, shared={}, updated={})
        for record in self._store.attributes(device_id):
            scope = out.client if record.scope == "client" else out.shared
            scope[record.key] = orjson.loads(record.value_json)
            out.updated[f"{record.scope}.{record.key}"] = record.ts
        return out

    # -- what the enterprise sets

    async def set_shared(self, device_id: int, doc: dict[str, Any]) -> None:
        """Keep shared attributes (all or none), then push them to the device wherever it is
        listening. Durable before pushed: a device never acts on a value the store lost."""
        if not doc:
            raise ValidationError("name at least one shared attribute", code="bad_shape")
        for key, value in doc.items():
            problem = attribute_problem(key, value)
            if problem is not None:
                raise ValidationError(problem, code="bad_attribute", field=key[:200])
        now = time.time_ns() // 1_000_000
        await self._door.store_attributes(
            [
                AttributeRecord(device_id, "shared", key, orjson.dumps(value).decode(), now)
                for key, value in doc.items()
            ]
        )
        self._publish(device_id, doc)

    def _publish(self, device_id: int, changes: dict[str, Any]) -> None:
        push = self._pushes.get(device_id)
        if push is not None:
            push(orjson.dumps(changes))
        poller = self._polls.by_device.get(device_id)
        if poller is None:
            return
        if poller.hand(dict(changes)):
            return
        if time.monotonic() - poller.seen <= POLLED_RECENTLY_S:
            poller.pending.update(changes)
        else:
            del self._polls.by_device[device_id]

    # -- who listens

    def attach(self, device_id: int, push: Push) -> None:
        """A transport now holds this device's connection (replacing any earlier one)."""
        self._pushes[device_id] = push

    def detach(self, device_id: int, push: Push) -> None:
        if self._pushes.get(device_id) is push:
            del self._pushes[device_id]

    def pushing(self, device_id: int) -> Push | None:
        """How shared-attribute changes reach the device's connection now, if one holds it."""
        return self._pushes.get(device_id)

    async def poll(
        self, device_id: int, timeout_s: float, credential: str | None = None
    ) -> dict[str, Any] | None:
        """The next change of the device's shared attributes, or None after ``timeout_s`` (or
        when ``credential``, the token it polls with, was revoked meanwhile).

        One poll per device waits at a time: a newer poll ends the older one (as with nothing
        to report), so a device cannot hold more than one connection open here."""
        poller = self._polls.open(device_id)
        poller.seen = time.monotonic()
        poller.credential = credential
        if poller.pending:
            changes, poller.pending = poller.pending, {}
            return changes
        return await poller.wait(timeout_s, nothing={}) or None

    def forget(self, device_id: int) -> None:
        """The device's credentials were revoked: end its waiting poll, drop what was queued.
        Safe from any thread."""
        self._polls.forget(device_id)

    def waiting_credentials(self) -> dict[int, str]:
        return self._polls.waiting_credentials()

    def end_poll(self, device_id: int, credential: str) -> bool:
        return self._polls.end_poll(device_id, credential)
