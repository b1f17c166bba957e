"""An enterprise's plant as ISA-95 levels: site → area → line → unit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shugu.domain.errors import ConflictError, ValidationError
from shugu.store.registry.core import RegistryCore, clean_name, missing
from shugu.store.registry.models import Asset, Enterprise
from shugu.store.registry.records import AssetLevel, AssetNode, AssetRecord


def asset_record(row: Asset) -> AssetRecord:
    return AssetRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        parent_id=row.parent_id,
        level=AssetLevel(row.level),
        name=row.name,
        created_at=row.created_at,
    )


def parse_asset_level(level: str) -> AssetLevel:
    try:
        return AssetLevel(level.strip().lower())
    except ValueError:
        known = ", ".join(lv.value for lv in AssetLevel)
        raise ValidationError(
            f"{level!r} is no asset level; use one of {known}",
            code="unknown_asset_level",
            field="level",
        ) from None


def asset_of_enterprise(
    session: Session, enterprise_id: int, asset_id: int, *, field: str
) -> Asset:
    """An asset that belongs to the given enterprise; another enterprise's asset is 'missing'."""
    row = session.get(Asset, asset_id)
    if row is None or row.enterprise_id != enterprise_id:
        raise missing("asset", field=field)
    return row


def _check_parent(level: AssetLevel, parent: Asset | None) -> None:
    wanted = level.parent_level
    if wanted is None:
        if parent is not None:
            raise ValidationError(
                "a site is the top of an enterprise's plant and has no parent",
                code="asset_parent_not_allowed",
                field="parent_id",
            )
        return
    if parent is None:
        raise ValidationError(
            f"a {level} must sit under a {wanted}; give parent_id",
            code="asset_parent_required",
            field="parent_id",
        )
    if parent.level != wanted:
        raise ValidationError(
            f"a {level} must sit under a {wanted}, but asset {parent.id} is a {parent.level}",
            code="asset_level_mismatch",
            field="parent_id",
        )


def _depth_first(rows: list[AssetRecord]) -> list[AssetNode]:
    children: dict[int | None, list[AssetRecord]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)

    def build(parent_id: int | None) -> tuple[AssetNode, ...]:
        return tuple(
            AssetNode(asset=row, children=build(row.id)) for row in children.get(parent_id, [])
        )

    return list(build(None))


def _flatten(nodes: list[AssetNode] | tuple[AssetNode, ...]) -> list[AssetRecord]:
    flat: list[AssetRecord] = []
    for node in nodes:
        flat.append(node.asset)
        flat.extend(_flatten(node.children))
    return flat


class AssetMixin(RegistryCore):
    def create_asset(
        self, enterprise_id: int, level: str, name: str, parent_id: int | None = None
    ) -> AssetRecord:
        asset_level = parse_asset_level(level)
        clean = clean_name(name, "name")
        taken = ConflictError(
            f"an asset named {clean!r} exists already at this place in the plant",
            code="asset_name_taken",
            field="name",
        )
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            parent = (
                asset_of_enterprise(session, enterprise_id, parent_id, field="parent_id")
                if parent_id is not None
                else None
            )
            _check_parent(asset_level, parent)
            sibling = select(Asset.id).where(
                Asset.enterprise_id == enterprise_id,
                Asset.name == clean,
                Asset.parent_id.is_(None) if parent_id is None else Asset.parent_id == parent_id,
            )
            if session.scalar(sibling) is not None:
                raise taken
            row = Asset(
                enterprise_id=enterprise_id, parent_id=parent_id, level=asset_level, name=clean
            )
            session.add(row)
            self._flush_unique(session, taken)
            return asset_record(row)

    def get_asset(self, asset_id: int) -> AssetRecord:
        with self._session() as session:
            row = session.get(Asset, asset_id)
            if row is None:
                raise missing("asset")
            return asset_record(row)

    def asset_tree(self, enterprise_id: int) -> list[AssetNode]:
        """The sites of an enterprise with everything under them, siblings in creation order."""
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            rows = session.scalars(
                select(Asset).where(Asset.enterprise_id == enterprise_id).order_by(Asset.id)
            )
            return _depth_first([asset_record(r) for r in rows])

    def list_assets(self, enterprise_id: int) -> list[AssetRecord]:
        """The assets of an enterprise, each right after its parent (depth-first)."""
        return _flatten(self.asset_tree(enterprise_id))
