"""Regions, parks, enterprises and the ISA-95 asset tree, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.store.registry import AssetLevel, Registry

VALID_USCC = "91110000600037341L"
OTHER_USCC = "91110108551385082Q"
PILOT_USCC = "91350100M0001TGQXM"


def test_region_park_enterprise(registry: Registry) -> None:
    region = registry.create_region("210200", " 大连市 ")
    assert region.name == "大连市"
    park = registry.create_park(region.id, "高新区", division_code="210211016")
    assert park.division_code == "210211016"
    enterprise = registry.create_enterprise(park.id, "大连织造", VALID_USCC.lower(), "0502")
    assert enterprise.uscc == VALID_USCC
    assert enterprise.uscc_checksum_ok and enterprise.uscc_warning is None
    assert enterprise.nbs_category == "0502"
    assert enterprise.created_at.tzinfo is not None

    assert registry.get_region(region.id) == region
    assert registry.get_park(park.id) == park
    assert registry.get_enterprise(enterprise.id) == enterprise
    assert registry.list_regions() == [region]
    assert registry.list_parks() == [park]
    assert registry.list_parks(region_id=region.id + 1) == []
    assert registry.list_enterprises() == [enterprise]
    assert registry.list_enterprises(park_id=park.id) == [enterprise]


def test_checksum_failing_uscc_is_stored_with_its_warning(registry: Registry) -> None:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    enterprise = registry.create_enterprise(park.id, "试点企业", PILOT_USCC)
    assert not enterprise.uscc_checksum_ok
    assert enterprise.uscc_warning is not None
    assert registry.get_enterprise(enterprise.id).uscc_warning == enterprise.uscc_warning


def test_validation_names_the_field(registry: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        registry.create_region("21020", "x")
    assert caught.value.details["field"] == "code"
    region = registry.create_region("210200", "大连市")
    with pytest.raises(ValidationError) as caught:
        registry.create_park(region.id, "   ")
    assert (caught.value.code, caught.value.details["field"]) == ("name_required", "name")
    with pytest.raises(ValidationError) as caught:
        registry.create_park(region.id, "福州园", division_code="350112")
    assert caught.value.code == "division_outside_region"
    park = registry.create_park(region.id, "高新区")
    with pytest.raises(ValidationError) as caught:
        registry.create_enterprise(park.id, "x", "91110000600O37341L")
    assert caught.value.code == "uscc_malformed"
    with pytest.raises(ValidationError) as caught:
        registry.create_enterprise(park.id, "x", VALID_USCC, nbs_category="0999")
    assert caught.value.code == "unknown_nbs_category"


def test_duplicates_are_conflicts(registry: Registry) -> None:
    region = registry.create_region("210200", "大连市")
    with pytest.raises(ConflictError) as caught:
        registry.create_region("210200", "again")
    assert caught.value.code == "region_code_taken"
    park = registry.create_park(region.id, "高新区")
    with pytest.raises(ConflictError) as caught:
        registry.create_park(region.id, "高新区")
    assert caught.value.code == "park_name_taken"
    other_region = registry.create_region("230600", "大庆市")
    registry.create_park(other_region.id, "高新区")  # same name, other region: fine
    registry.create_enterprise(park.id, "A", VALID_USCC)
    with pytest.raises(ConflictError) as caught:
        registry.create_enterprise(park.id, "B", VALID_USCC)
    assert (caught.value.code, caught.value.details["field"]) == ("uscc_taken", "uscc")


def test_missing_parents_are_not_found(registry: Registry) -> None:
    with pytest.raises(NotFoundError) as caught:
        registry.create_park(999, "x")
    assert caught.value.details["field"] == "region_id"
    with pytest.raises(NotFoundError):
        registry.create_enterprise(999, "x", VALID_USCC)
    with pytest.raises(NotFoundError):
        registry.get_enterprise(999)
    with pytest.raises(NotFoundError):
        registry.create_asset(999, "site", "x")


@pytest.fixture
def enterprise_ids(registry: Registry) -> tuple[int, int]:
    region = registry.create_region("210200", "大连市")
    park = registry.create_park(region.id, "高新区")
    a = registry.create_enterprise(park.id, "A", VALID_USCC)
    b = registry.create_enterprise(park.id, "B", OTHER_USCC)
    return a.id, b.id


def test_asset_tree_follows_isa95_levels(
    registry: Registry, enterprise_ids: tuple[int, int]
) -> None:
    ent, _ = enterprise_ids
    site = registry.create_asset(ent, "site", "长乐厂区")
    area = registry.create_asset(ent, "area", "织造车间", parent_id=site.id)
    line = registry.create_asset(ent, "line", "一号线", parent_id=area.id)
    unit = registry.create_asset(ent, "unit", "1号织机位", parent_id=line.id)
    second_site = registry.create_asset(ent, "SITE", "二厂")
    assert unit.level is AssetLevel.UNIT

    tree = registry.asset_tree(ent)
    assert [node.asset.id for node in tree] == [site.id, second_site.id]
    assert tree[0].children[0].children[0].children[0].asset == unit
    flat = registry.list_assets(ent)
    assert [a.id for a in flat] == [site.id, area.id, line.id, unit.id, second_site.id]
    assert registry.get_asset(line.id) == line


@pytest.mark.parametrize(
    ("level", "parent", "code"),
    [
        ("site", "site", "asset_parent_not_allowed"),
        ("area", None, "asset_parent_required"),
        ("line", "site", "asset_level_mismatch"),
        ("unit", "area", "asset_level_mismatch"),
        ("cell", None, "unknown_asset_level"),
    ],
)
def test_asset_parent_rules(
    registry: Registry,
    enterprise_ids: tuple[int, int],
    level: str,
    parent: str | None,
    code: str,
) -> None:
    ent, _ = enterprise_ids
    site = registry.create_asset(ent, "site", "S")
    area = registry.create_asset(ent, "area", "A", parent_id=site.id)
    parents = {"site": site.id, "area": area.id, None: None}
    with pytest.raises(ValidationError) as caught:
        registry.create_asset(ent, level, "x", parent_id=parents[parent])
    assert caught.value.code == code


def test_asset_names_are_unique_among_siblings(
    registry: Registry, enterprise_ids: tuple[int, int]
) -> None:
    ent, other = enterprise_ids
    site = registry.create_asset(ent, "site", "厂区")
    with pytest.raises(ConflictError) as caught:
        registry.create_asset(ent, "site", "厂区")
    assert caught.value.code == "asset_name_taken"
    registry.create_asset(other, "site", "厂区")  # another enterprise may use the name
    area = registry.create_asset(ent, "area", "车间", parent_id=site.id)
    with pytest.raises(ConflictError):
        registry.create_asset(ent, "area", "车间", parent_id=site.id)
    second = registry.create_asset(ent, "site", "二厂")
    registry.create_asset(ent, "area", "车间", parent_id=second.id)
    assert area.name == "车间"


def test_parent_of_another_enterprise_is_not_found(
    registry: Registry, enterprise_ids: tuple[int, int]
) -> None:
    ent, other = enterprise_ids
    foreign_site = registry.create_asset(other, "site", "B厂")
    with pytest.raises(NotFoundError) as caught:
        registry.create_asset(ent, "area", "x", parent_id=foreign_site.id)
    assert caught.value.details["field"] == "parent_id"
