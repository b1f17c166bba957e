"""A short-lived cache of device lookups for batch ingest, where one request names many devices.

By name, the cache holds each enterprise's whole device directory, loaded with one registry
query and kept a few seconds: a stream of batches naming hundreds of devices then costs one
dictionary lookup per device name instead of one registry query per name whenever an entry
expires. Entries live long enough to spare the registry, short enough that a new device is
seen promptly; a name missing from a fresh directory is unknown.

A device whose credentials are revoked (deleted, say) is forgotten at once with ``forget``, so
that its next message is refused rather than served from the cache. A lookup that was reading
the registry while a device was forgotten does not store its answer, which may predate the change.
"""

from __future__ import annotations

import threading
import time

from shugu.domain.entities import DeviceDirectory, DeviceRef


class DeviceCache:
    def __init__(self, directory: DeviceDirectory, ttl_s: float = 5.0) -> None:
        self._directory = directory
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._by_enterprise: dict[int, tuple[float, dict[str, DeviceRef]]] = {}
        self._by_id: dict[int, tuple[float, DeviceRef | None]] = {}
        self._refreshed: dict[int, float] = {}
        #: Grows with every ``forget`` and ``clear``; answers read before a change are not kept.
        self._generation = 0

    def names_of(self, enterprise_id: int, fresh: bool = False) -> dict[str, DeviceRef]:
        """Device name → device of one enterprise, at most ``ttl_s`` old (or reloaded now)."""
        now = time.monotonic()
        hit = self._by_enterprise.get(enterprise_id)
        if hit is not None and hit[0] > now and not fresh:
            return hit[1]
        generation = self._generation
        refs = self._directory.device_refs_of_enterprise(enterprise_id)
        names = {ref.name: ref for ref in refs}
        with self._lock:
            if generation == self._generation:
                self._by_enterprise[enterprise_id] = (now + self._ttl, names)
        return names

    def by_name(self, enterprise_id: int, name: str) -> DeviceRef | None:
        return self.by_names(enterprise_id, [name])[0]

    def by_names(self, enterprise_id: int, names: list[str]) -> list[DeviceRef | None]:
        directory = self.names_of(enterprise_id)
        found = [directory.get(name) for name in names]
        # By identity: ``None in found`` would call DeviceRef.__eq__ on every entry.
        if any(ref is None for ref in found) and self._refresh_allowed(enterprise_id):
            # A name we do not know may be a device created since the directory was loaded.
            directory = self.names_of(enterprise_id, fresh=True)
            found = [directory.get(name) for name in names]
        return found

    def _refresh_allowed(self, enterprise_id: int) -> bool:
        """At most one reload a second per enterprise, however many unknown names arrive."""
        now = time.monotonic()
        if now - self._refreshed.get(enterprise_id, 0.0) < 1.0:
            return False
        self._refreshed[enterprise_id] = now
        return True

    def by_id(self, device_id: int) -> DeviceRef | None:
        now = time.monotonic()
        hit = self._by_id.get(device_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        ref = self._directory.get_device_ref(device_id)
        with self._lock:
            if generation == self._generation:
                self._by_id[device_id] = (now + self._ttl, ref)
        return ref

    def forget(self, device_id: int) -> None:
        """Drop every cached answer that names this device (its credentials were revoked)."""
        with self._lock:
            self._generation += 1
            self._by_id.pop(device_id, None)
            stale = [
                enterprise_id
                for enterprise_id, (_, names) in self._by_enterprise.items()
                if any(ref.id == device_id for ref in names.values())
            ]
            for enterprise_id in stale:
                del self._by_enterprise[enterprise_id]
                # The next lookup of a name may reload at once, not a second from now.
                self._refreshed.pop(enterprise_id, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._by_enterprise.clear()
            self._by_id.clear()
