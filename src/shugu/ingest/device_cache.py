"""A short-lived cache of device lookups for batch ingest, where one request names many devices.

Entries live a few seconds: long enough that a stream of batches does not ask the registry for
every device of every request, short enough that a new or renamed device is seen promptly.
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
        self._by_name: dict[tuple[int, str], tuple[float, DeviceRef | None]] = {}
        self._by_id: dict[int, tuple[float, DeviceRef | None]] = {}

    def by_name(self, enterprise_id: int, name: str) -> DeviceRef | None:
        key = (enterprise_id, name)
        now = time.monotonic()
        hit = self._by_name.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        ref = self._directory.device_ref_by_name(enterprise_id, name)
        with self._lock:
            self._by_name[key] = (now + self._ttl, ref)
        return ref

    def by_id(self, device_id: int) -> DeviceRef | None:
        now = time.monotonic()
        hit = self._by_id.get(device_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        ref = self._directory.get_device_ref(device_id)
        with self._lock:
            self._by_id[device_id] = (now + self._ttl, ref)
        return ref

    def clear(self) -> None:
        with self._lock:
            self._by_name.clear()
            self._by_id.clear()
