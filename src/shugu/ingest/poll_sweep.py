"""HTTP long polls re-checked against the registry, as open MQTT sessions are.

A revocation may be made where this process does not hear of it (another server sharing a
PostgreSQL registry, the admin command writing a registry this server reads). A long poll
(``GET /api/v1/{token}/rpc`` or ``/attributes/updates``) holds its connection for up to 300 s
with the token it came with; so, with the MQTT endpoint's period (``REVALIDATE_S``), the tokens
of the waiting polls are read again in one registry query, and a poll whose token no longer
names its device is ended like one revoked here: it answers as an empty poll (408), and the
device's next request is refused (401).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from shugu.domain.errors import ShuguError
from shugu.ingest.mqtt.server import REVALIDATE_S, TokenCheck

log = logging.getLogger(__name__)


class HeldPolls(Protocol):
    """A service devices long-poll (RPC requests, shared attributes)."""

    def waiting_credentials(self) -> dict[int, str]:
        """Device id → the access token its waiting poll came with."""
        ...

    def end_poll(self, device_id: int, credential: str) -> bool:
        """End the device's poll if it still waits with ``credential``."""
        ...


class PollSweep:
    def __init__(
        self, check: TokenCheck, held: Sequence[HeldPolls], every_s: float = REVALIDATE_S
    ) -> None:
        self._check = check
        self._held = held
        self.every_s = every_s
        #: Whether the last re-check failed (logged once when it fails, once when it recovers).
        self._failing = False

    async def run(self) -> None:
        """Re-check every ``every_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.every_s)
            await self.revalidate()

    async def revalidate(self) -> int:
        """End every waiting poll whose token no longer names its device; returns how many
        were ended. While the registry cannot be asked, polls go on."""
        waiting = [
            (held, device_id, credential)
            for held in self._held
            for device_id, credential in held.waiting_credentials().items()
        ]
        if not waiting:
            return 0
        tokens = sorted({credential for _, _, credential in waiting})
        try:
            valid = await asyncio.to_thread(self._check, tokens)
        except ShuguError as exc:
            if not self._failing:
                log.warning("cannot re-check HTTP long polls' credentials: %s", exc.message)
            self._failing = True
            return 0
        if self._failing:
            log.info("HTTP long polls' credentials can be re-checked again")
            self._failing = False
        ended = 0
        for held, device_id, credential in waiting:
            # A poll that came meanwhile with the device's new token is not ended (end_poll
            # compares the credential).
            if valid.get(credential) != device_id and held.end_poll(device_id, credential):
                ended += 1
        if ended:
            log.info("%d HTTP long poll(s) ended: their credentials were revoked", ended)
        return ended
