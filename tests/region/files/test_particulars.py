"""An enterprise's particulars (企业特定事项): checked by kind and range, recorded with their
history (the newest value is the fact, null clears it, the same value twice records nothing),
merged into the enterprise's facts, and the policies that read them compute amounts; who may
read and record them; the XLSX import with bad rows, idempotent."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from shugu.domain.errors import ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.facts import FactBook
from shugu.region.files.imports import import_sheet
from shugu.region.files.particulars import PARTICULARS, check_particulars
from shugu.region.files.service import EnterpriseFiles
from shugu.region.policies.formulas import Inputs
from shugu.region.policies.matching import match
from shugu.region.policies.model import parse_policy
from shugu.region.policies.seed import load_seed
from shugu.region.policies.vocabulary import POLICY_FACTS, label
from tests.region.files.conftest import USCC_A, USCC_B, Files


def _access(files: Files, role: Role, enterprise_id: int | None = None) -> Access:
    park = files.park_id if role is Role.PARK_OFFICIAL else None
    principal = Principal(7, role.value, role, enterprise_id, park_id=park)
    return Access(principal, lambda e, g: False, lambda e: files.park_id)


def test_the_policies_vocabulary_is_the_particulars_list() -> None:
    assert set(POLICY_FACTS) == {p.name for p in PARTICULARS}
    assert label("leased_area_m2", "zh") == "租用面积"
    assert label("rent_yuan_m2_month", "en") == "rent"


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"no_such_fact": 1}, "particular_unknown"),
        ({"pre_ipo": 1}, "particular_invalid"),
        ({"pre_ipo": "是"}, "particular_invalid"),
        ({"leased_area_m2": True}, "particular_invalid"),
        ({"leased_area_m2": "300"}, "particular_invalid"),
        ({"leased_area_m2": -1}, "particular_out_of_range"),
        ({"leased_area_m2": float("nan")}, "particular_out_of_range"),
        ({"rent_yuan_m2_month": 10**400}, "particular_out_of_range"),
        ({"invention_patents": 2.5}, "particular_invalid"),
    ],
)
def test_bad_values_are_refused_with_codes(values: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_particulars(values)
    assert refused.value.code == code


def test_good_values_are_typed() -> None:
    checked = check_particulars(
        {"pre_ipo": True, "leased_area_m2": 300, "invention_patents": 4.0, "cloud_spend_wan": None}
    )
    assert checked == {
        "pre_ipo": True,
        "leased_area_m2": 300.0,
        "invention_patents": 4,
        "cloud_spend_wan": None,
    }
    assert isinstance(checked["invention_patents"], int)


def test_recorded_with_history_newest_wins_and_null_clears(files: Files) -> None:
    r = files.registry
    made = r.record_particulars(files.ent_a, {"leased_area_m2": 300.0, "pre_ipo": True}, "bureau")
    assert {m.fact for m in made} == {"leased_area_m2", "pre_ipo"}
    # The same values again record nothing; true is not the number 1.
    assert r.record_particulars(files.ent_a, {"leased_area_m2": 300, "pre_ipo": True}, "x") == []
    r.record_particulars(files.ent_a, {"leased_area_m2": 450.0}, "admin_a")
    current = r.particulars(files.ent_a)
    assert current["leased_area_m2"].value == 450.0
    assert current["leased_area_m2"].recorded_by == "admin_a"
    assert current["pre_ipo"].recorded_by == "bureau"
    r.record_particulars(files.ent_a, {"pre_ipo": None}, "bureau")
    assert set(r.particulars(files.ent_a)) == {"leased_area_m2"}
    history = r.particular_history(files.ent_a)
    assert [(h.fact, h.value) for h in history] == [
        ("pre_ipo", None),
        ("leased_area_m2", 450.0),
        ("pre_ipo", True),
        ("leased_area_m2", 300.0),
    ]
    assert r.particulars(files.ent_b) == {}
    assert set(r.all_particulars()) == {files.ent_a}
    with pytest.raises(NotFoundError):
        r.record_particulars(10**6, {"pre_ipo": True}, "bureau")


def test_facts_include_the_particulars(files: Files) -> None:
    files.registry.record_particulars(
        files.ent_a, {"leased_area_m2": 300.0, "in_designated_building": True}, "bureau"
    )
    book = FactBook(files.registry, today=lambda: date(2025, 6, 1))
    facts = book.enterprise_facts(files.ent_a)
    assert facts["leased_area_m2"] == 300.0 and facts["in_designated_building"] is True
    assert "rent_yuan_m2_month" not in facts  # unknown stays unknown, never zero
    many = book.facts_many([files.ent_a, files.ent_b])
    assert many[files.ent_a]["leased_area_m2"] == 300.0
    assert "leased_area_m2" not in many[files.ent_b]
    view = EnterpriseFiles(files.registry, None).view(_access(files, Role.BUREAU), files.ent_a)
    assert view.row.facts["leased_area_m2"] == 300.0
    assert set(view.particulars) == {"leased_area_m2", "in_designated_building"}


RENT_ONE_FREE_TWO_HALF = {
    "code": "test-rent",
    "name_zh": "租金一免两减半",
    "name_en": "rent, one year free and two half",
    "redeem": "quick",
    "benefit": {
        "kind": "rent",
        "area_fact": "leased_area_m2",
        "rent_fact": "rent_yuan_m2_month",
        "schedule": "一免两减半",
    },
}


def test_a_rent_policy_computes_once_the_lease_is_recorded(files: Files) -> None:
    policy = parse_policy(RENT_ONE_FREE_TWO_HALF)
    book = FactBook(files.registry)
    before = match(policy, files.ent_a, Inputs(book.enterprise_facts(files.ent_a), ()))
    assert before.amount_wan is None
    assert {line.en for line in before.shortfalls} == {"leased area: no data", "rent: no data"}
    files.registry.record_particulars(
        files.ent_a, {"leased_area_m2": 300.0, "rent_yuan_m2_month": 50.0}, "bureau"
    )
    after = match(policy, files.ent_a, Inputs(book.enterprise_facts(files.ent_a), ()))
    # 300 m² × 50 元 × 12 = 180,000 元 = 18 万元 a year: 18 + 9 + 9 = 36 万元.
    assert after.status == "qualifies"
    assert after.amount_wan == 36.0
    assert after.benefit.by_year == (18.0, 9.0, 9.0)


def test_the_seeded_designated_building_rent_computes(files: Files) -> None:
    policy = next(p for p in load_seed().policies if p.code == "dl-designated-rent")
    files.registry.add_certification(files.ent_b, "科小", date(2024, 1, 1), None, None, "bureau")
    files.registry.record_particulars(
        files.ent_b,
        {"in_designated_building": True, "leased_area_m2": 2500.0, "rent_yuan_m2_month": 60.0},
        "bureau",
    )
    facts = FactBook(files.registry, today=lambda: date(2025, 6, 1)).enterprise_facts(files.ent_b)
    found = match(policy, files.ent_b, Inputs(facts, ()))
    # The area is capped at 2,000 m²: 2,000 × 60 × 12 = 144 万元 a year, two years free.
    assert found.status == "qualifies"
    assert found.amount_wan == 288.0


def test_who_reads_and_records(files: Files) -> None:
    service = EnterpriseFiles(files.registry, None)
    values = {"talent_spend_wan": 120.0}
    bureau = _access(files, Role.BUREAU)
    admin_a = _access(files, Role.ENTERPRISE_ADMIN, files.ent_a)
    assert service.record_particulars(bureau, files.ent_a, values)[0].recorded_by == "bureau"
    made = service.record_particulars(admin_a, files.ent_a, {"talent_spend_wan": 150.0})
    assert made[0].recorded_by == Role.ENTERPRISE_ADMIN.value
    for reader in (
        _access(files, Role.ENTERPRISE_VIEWER, files.ent_a),
        _access(files, Role.PARK_OFFICIAL),
        bureau,
    ):
        assert service.particulars(reader, files.ent_a)["talent_spend_wan"].value == 150.0
    for refused in (
        _access(files, Role.ENTERPRISE_VIEWER, files.ent_a),
        _access(files, Role.PARK_OFFICIAL),
        _access(files, Role.OPERATOR),
    ):
        with pytest.raises(ForbiddenError):
            service.record_particulars(refused, files.ent_a, values)
    # Another enterprise's people do not learn that A exists.
    admin_b = _access(files, Role.ENTERPRISE_ADMIN, files.ent_b)
    with pytest.raises(NotFoundError):
        service.record_particulars(admin_b, files.ent_a, values)
    with pytest.raises(NotFoundError):
        service.particulars(admin_b, files.ent_a)
    with pytest.raises(ForbiddenError):
        service.particulars(_access(files, Role.OPERATOR), files.ent_a)


def _book(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PARTICULARS_BOOK = _book(
    [
        [
            "统一社会信用代码",
            "拟上市企业",
            "租用面积（m²）",
            "租金（元/m²/月）",
            "有效发明专利（件）",
        ],
        [USCC_A, "是", 300, 50, 4],
        [USCC_B, None, 1200.5, None, None],
        ["91110000600037341L", "否", 10, 10, 1],
        [USCC_A[:-1] + "X", None, 10, None, None],
        [USCC_B, None, -5, None, None],
        [USCC_A, "也许", None, None, 2.5],
    ]
)


def test_particulars_import_reports_bad_rows_and_is_idempotent(files: Files) -> None:
    first = import_sheet(files.registry, "particulars", PARTICULARS_BOOK, "bureau")
    assert (first.updated, first.unchanged) == (2, 0)
    by_row = {(e.number, e.column): e.code for e in first.errors}
    assert by_row == {
        (4, "uscc"): "import_enterprise_unknown",
        (5, "uscc"): "import_enterprise_unknown",
        (6, "leased_area_m2"): "cell_out_of_range",
        (7, "pre_ipo"): "cell_not_bool",
        (7, "invention_patents"): "cell_not_integer",
    }
    a = files.registry.particulars(files.ent_a)
    assert {k: r.value for k, r in a.items()} == {
        "pre_ipo": True,
        "leased_area_m2": 300.0,
        "rent_yuan_m2_month": 50.0,
        "invention_patents": 4,
    }
    assert files.registry.particulars(files.ent_b)["leased_area_m2"].value == 1200.5
    again = import_sheet(files.registry, "particulars", PARTICULARS_BOOK, "bureau")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    assert {(e.number, e.column) for e in again.errors} == set(by_row)
    assert len(files.registry.particular_history(files.ent_a)) == 4
