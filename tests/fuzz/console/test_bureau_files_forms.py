"""Hostile input to the enterprise-file forms (一企一档) as the people who may use them: the
bureau's registry, certification and tier-criteria forms, an enterprise administrator's yearly
figures and particulars, and uploads to the import page. Every answer is a page (2xx, 303 or a
4xx with the fault told on it), never a server error, and a refused form changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shugu.region.files.particulars import PARTICULARS
from shugu.store.registry.region_files import YEAR_FIGURES
from tests.api.conftest import World
from tests.fuzz.fuzzing import fuzz
from tests.web.conftest import sign_in

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "inf", "9" * 30, "1,2", "１２", "0x10"]),
    st.sampled_from(["2024-02-30", "9999-12-31", "0001-01-01", "2024-05-01", "高企", "瞪羚"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
#: Criteria text: YAML and JSON, sound and broken, deep and aliased.
CRITERIA = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "{fact: staff, op: '>=', value: 10}",
            '{"fact": "revenue_wan", "op": ">=", "value": 1e400}',
            "all: [" * 40,
            "a: &x [1]\nb: [*x, *x, *x]",
            "!!python/object:os.system ls",
            "any: []",
            "fact: staff\nop: between\nvalue: [3, 1]",
            "[" * 200 + "]" * 200,
        ]
    ),
)
FORM = settings(
    fuzz(0.2), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _answered(status: int, what: object) -> None:
    assert status < 500, what


def test_the_registry_and_certification_forms_refuse_or_keep(world: World) -> None:
    csrf = sign_in(world.client, "bureau")
    names = ("industry_code", "division_code", "nbs_category", "established_on", "listed")
    cert_names = ("kind", "granted_on", "expires_on", "number")

    @FORM
    @given(
        st.fixed_dictionaries({}, optional={n: TEXT for n in names}),
        st.fixed_dictionaries({}, optional={n: TEXT for n in cert_names}),
    )
    def one(fields: dict[str, str], cert: dict[str, str]) -> None:
        before = world.registry.enterprise_file(world.ent_b)
        answer = world.client.post(
            f"/e/{world.ent_b}/file", data={**fields, "csrf_token": csrf}, follow_redirects=False
        )
        _answered(answer.status_code, fields)
        if answer.status_code != 303:
            assert world.registry.enterprise_file(world.ent_b) == before
        count = len(world.registry.certifications(world.ent_b))
        answer = world.client.post(
            f"/e/{world.ent_b}/file/certifications",
            data={**cert, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, cert)
        added = len(world.registry.certifications(world.ent_b)) - count
        assert added == (1 if answer.status_code == 303 else 0), cert

    one()


def test_a_year_s_figures_are_filed_whole_or_not_at_all(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")

    @FORM
    @given(st.fixed_dictionaries({}, optional={n: TEXT for n in ("year", *YEAR_FIGURES)}))
    def one(fields: dict[str, str]) -> None:
        before = world.registry.year_figures(world.ent_a)
        answer = world.client.post(
            f"/e/{world.ent_a}/file/figures",
            data={**fields, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, fields)
        if answer.status_code != 303:
            assert world.registry.year_figures(world.ent_a) == before, fields

    one()


def test_particulars_are_recorded_whole_or_not_at_all(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    flags = st.one_of(TEXT, st.sampled_from(["", "yes", "no"]))
    fields = {p.name: flags if p.kind == "bool" else TEXT for p in PARTICULARS}

    @FORM
    @given(st.fixed_dictionaries({}, optional=fields))
    def one(typed: dict[str, str]) -> None:
        before = world.registry.particular_history(world.ent_a)
        answer = world.client.post(
            f"/e/{world.ent_a}/file/particulars",
            data={**typed, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, typed)
        if answer.status_code != 303:
            assert world.registry.particular_history(world.ent_a) == before, typed

    one()


def test_tier_criteria_text_is_saved_only_when_it_is_a_condition(world: World) -> None:
    csrf = sign_in(world.client, "bureau")

    @FORM
    @given(CRITERIA, st.one_of(st.just("2025-01-01"), TEXT), st.sampled_from(["dengling", "x"]))
    def one(criteria: str, day: str, tier: str) -> None:
        versions = len(world.registry.tier_versions())
        answer = world.client.post(
            f"/bureau/tiers/{tier}",
            data={"criteria": criteria, "effective_from": day, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, (criteria, day))
        saved = len(world.registry.tier_versions()) - versions
        assert saved == (1 if answer.status_code == 303 else 0), criteria

    one()


def test_an_upload_of_any_bytes_is_reported_not_crashed_on(world: World) -> None:
    csrf = sign_in(world.client, "bureau")

    @FORM
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([b"PK\x03\x04" + b"\x00" * 40, b"<xml/>", b""]),
        ),
        st.sampled_from(["enterprises", "yearly-figures", "particulars", "projects"]),
    )
    def one(data: bytes, kind: str) -> None:
        answer = world.client.post(
            f"/bureau/imports/{kind}",
            data={"csrf_token": csrf},
            files={"upload": ("f.xlsx", data, "application/octet-stream")},
        )
        _answered(answer.status_code, data[:20])
        assert answer.headers["content-type"].startswith("text/html")

    one()
