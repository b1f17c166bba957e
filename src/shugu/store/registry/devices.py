"""Devices: identity, profile, place in the plant, and the access token they send data with."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ConflictError, UnavailableError
from shugu.domain.profiles import get_profile
from shugu.store.registry.assets import asset_of_enterprise
from shugu.store.registry.core import (
    MAX_NAME_LENGTH,
    RegistryCore,
    clean_name,
    hash_token,
    missing,
)
from shugu.store.registry.models import Device, Enterprise
from shugu.store.registry.models_detector import DetectorState
from shugu.store.registry.records import DeviceRecord

#: 24 random bytes: as hard to guess as a 192-bit key, and short enough to paste into a device.
DEVICE_TOKEN_BYTES = 24


def device_record(row: Device) -> DeviceRecord:
    return DeviceRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        asset_id=row.asset_id,
        name=row.name,
        profile=row.profile,
        is_gateway=row.is_gateway,
        created_at=row.created_at,
        gateway_id=row.gateway_id,
    )


def device_ref(row: Device) -> DeviceRef:
    return DeviceRef(
        id=row.id,
        enterprise_id=row.enterprise_id,
        name=row.name,
        profile=row.profile,
        is_gateway=row.is_gateway,
        gateway_id=row.gateway_id,
    )


def new_device_token() -> str:
    return secrets.token_urlsafe(DEVICE_TOKEN_BYTES)


#: Tokens per query when many are checked at once (SQLite allows 32,766 parameters).
_TOKEN_CHUNK = 500

#: Devices not deleted; every lookup goes through it.
LIVE = Device.deleted_at.is_(None)


def _live_device(session: Session, device_id: int) -> Device | None:
    row = session.get(Device, device_id)
    return row if row is not None and row.deleted_at is None else None


class DeviceMixin(RegistryCore):
    def create_device(
        self,
        enterprise_id: int,
        name: str,
        profile: str,
        *,
        asset_id: int | None = None,
        is_gateway: bool = False,
    ) -> tuple[DeviceRecord, str]:
        """Register a device; returns it with its access token, which is shown only this once."""
        clean = clean_name(name, "name")
        profile_name = get_profile(profile.strip()).name
        taken = ConflictError(
            f"the enterprise has a device named {clean!r} already",
            code="device_name_taken",
            field="name",
        )
        token = new_device_token()
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            if asset_id is not None:
                asset_of_enterprise(session, enterprise_id, asset_id, field="asset_id")
            duplicate = select(Device.id).where(
                Device.enterprise_id == enterprise_id, Device.name == clean
            )
            if session.scalar(duplicate) is not None:
                raise taken
            row = Device(
                enterprise_id=enterprise_id,
                asset_id=asset_id,
                name=clean,
                profile=profile_name,
                token_hash=hash_token(token),
                is_gateway=is_gateway,
            )
            session.add(row)
            self._flush_unique(session, taken)
            record = device_record(row)
        # A negative answer for this token may be cached (a device that tried too early).
        self._device_by_token.discard(hash_token(token))
        return record, token

    def rotate_device_token(self, device_id: int) -> str:
        """Give a device a new access token; the old one stops working at once in this process."""
        token = new_device_token()
        with self._session() as session:
            row = _live_device(session, device_id)
            if row is None:
                raise missing("device")
            old_hash = row.token_hash
            row.token_hash = hash_token(token)
        self._device_by_token.discard(old_hash)
        self._device_by_token.discard(hash_token(token))
        return token

    def delete_device(self, device_id: int) -> DeviceRecord:
        """Delete a device: its token stops working at once in this process, it is found by no
        lookup, and its name is free again. The row stays, marked, so that its id is never
        given to another device (points and alarms that name it stay with it)."""
        with self._session() as session:
            row = _live_device(session, device_id)
            if row is None:
                raise missing("device")
            record = device_record(row)
            old_hash = row.token_hash
            # A hash of a token nobody holds; a control character no name may contain keeps
            # the retired name from ever colliding with a live one.
            row.token_hash = hash_token(new_device_token())
            suffix = f"\x1f{row.id}"
            row.name = row.name[: MAX_NAME_LENGTH - len(suffix)] + suffix
            row.deleted_at = self._now()
            # What detectors learned of it is of no further use (its id is never reused).
            session.execute(delete(DetectorState).where(DetectorState.device_id == device_id))
        self._device_by_token.discard(old_hash)
        return record

    def get_device(self, device_id: int) -> DeviceRecord:
        with self._session() as session:
            row = _live_device(session, device_id)
            if row is None:
                raise missing("device")
            return device_record(row)

    def list_devices(self, enterprise_id: int) -> list[DeviceRecord]:
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            rows = session.scalars(
                select(Device)
                .where(Device.enterprise_id == enterprise_id, LIVE)
                .order_by(Device.id)
            )
            return [device_record(r) for r in rows]

    def device_by_name(self, enterprise_id: int, name: str) -> DeviceRecord | None:
        with self._session() as session:
            row = session.scalar(
                select(Device).where(
                    Device.enterprise_id == enterprise_id, Device.name == name, LIVE
                )
            )
            return device_record(row) if row is not None else None

    # What the ingest hot path asks -------------------------------------------------------

    def device_for_token(self, token: str) -> DeviceRef | None:
        """The device an access token belongs to, or None; cached for a few seconds."""
        key = hash_token(token)
        hit = self._device_by_token.get(key)
        if hit is not None:
            return hit.value
        generation = self._device_by_token.generation
        with self._session() as session:
            row = session.scalar(select(Device).where(Device.token_hash == key, LIVE))
            ref = device_ref(row) if row is not None else None
        self._device_by_token.put(key, ref, generation=generation)
        return ref

    def device_ids_for_tokens(self, tokens: Iterable[str]) -> dict[str, int]:
        """Access token → id of the live device it belongs to, read now (not from the cache);
        a token that is unknown or revoked is absent. Open MQTT sessions re-check their
        credentials with it, so that a revocation made by another process also ends them."""
        by_hash = {hash_token(token): token for token in tokens}
        found: dict[str, int] = {}
        hashes = list(by_hash)
        try:
            with self._session() as session:
                for start in range(0, len(hashes), _TOKEN_CHUNK):
                    chunk = hashes[start : start + _TOKEN_CHUNK]
                    rows = session.execute(
                        select(Device.token_hash, Device.id).where(
                            Device.token_hash.in_(chunk), LIVE
                        )
                    )
                    for token_hash, device_id in rows:
                        found[by_hash[token_hash]] = int(device_id)
        except SQLAlchemyError as exc:
            raise UnavailableError(
                f"the registry cannot be read ({type(exc).__name__})", code="registry_unavailable"
            ) from exc
        for token_hash, token in by_hash.items():
            if token not in found:
                # Revoked, perhaps by another process: the cache must not vouch for it longer.
                self._device_by_token.discard(token_hash)
        return found

    def get_device_ref(self, device_id: int) -> DeviceRef | None:
        with self._session() as session:
            row = _live_device(session, device_id)
            return device_ref(row) if row is not None else None

    def get_device_refs(self, device_ids: Sequence[int]) -> dict[int, DeviceRef]:
        """Live devices among ``device_ids``, by id, in one query."""
        if not device_ids:
            return {}
        with self._session() as session:
            rows = session.scalars(select(Device).where(Device.id.in_(set(device_ids)), LIVE))
            return {int(r.id): device_ref(r) for r in rows}

    def device_ref_by_name(self, enterprise_id: int, name: str) -> DeviceRef | None:
        with self._session() as session:
            row = session.scalar(
                select(Device).where(
                    Device.enterprise_id == enterprise_id, Device.name == name, LIVE
                )
            )
            return device_ref(row) if row is not None else None

    def device_refs_of_enterprise(self, enterprise_id: int) -> list[DeviceRef]:
        with self._session() as session:
            rows = session.scalars(
                select(Device)
                .where(Device.enterprise_id == enterprise_id, LIVE)
                .order_by(Device.id)
            )
            return [device_ref(r) for r in rows]

    def set_device_gateway(self, device_id: int, gateway_id: int | None) -> bool:
        """Record the gateway that carries the device's data; whether that changed anything.
        Ingest calls it when it sees a device behind another gateway than the one it knew,
        never per message."""
        with self._session() as session:
            row = _live_device(session, device_id)
            if row is None:
                raise missing("device")
            if row.gateway_id == gateway_id:
                return False
            row.gateway_id = gateway_id
            return True
