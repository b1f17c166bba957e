"""Hostile input to monthly operation's forms (经济运行监测) as the people who may use them: an
enterprise administrator's report form and workbook upload, the review form of the park's
official, the bureau's "generate now" month, and the filters of the district's lists. Every
answer is a page (2xx, 303 or a 4xx with the fault told on it), never a server error, and a
refused form changes nothing."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shugu.region.operation.figures import FIGURES
from shugu.store.registry.region_operation import ReportFigures
from tests.api.conftest import World
from tests.fuzz.fuzzing import fuzz
from tests.web.conftest import sign_in

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "inf", "9" * 30, "1,200", "１２", "0x10"]),
    st.sampled_from(["2026-11", "2026-13", "1999-12", "2100-01", "2026-1", "２０２６-11", "-1"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
FORM = settings(
    fuzz(0.2), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
FIELDS = (*(f.key for f in FIGURES), "note", "action")


def _answered(status: int, what: object) -> None:
    assert status < 500, what


def test_the_report_form_saves_whole_or_not_at_all(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")

    @FORM
    @given(st.fixed_dictionaries({}, optional={n: TEXT for n in FIELDS}), TEXT)
    def one(fields: dict[str, str], month: str) -> None:
        before = world.registry.list_monthly_reports(enterprise_ids=[world.ent_a])
        answer = world.client.post(
            f"/e/{world.ent_a}/monthly-reports/{quote(month, safe='')}",
            data={**fields, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, (month, fields))
        if answer.status_code != 303:
            after = world.registry.list_monthly_reports(enterprise_ids=[world.ent_a])
            assert [(r.month, r.state, r.figures) for r in after] == [
                (r.month, r.state, r.figures) for r in before
            ], fields

    one()


def test_a_review_is_taken_only_with_a_decision_and_a_return_only_with_a_reason(
    world: World,
) -> None:
    figures = ReportFigures(1200.0, 1100.0, -35.5, 80000.0, 210, 900.0, "")
    report = world.registry.save_monthly_report(
        world.ent_b, "2026-11", figures, by="setup", role="enterprise_admin"
    )
    world.registry.move_monthly_report(
        report.id, expected=("draft",), to="submitted", by="setup", role="enterprise_admin"
    )
    csrf = sign_in(world.client, "park_official")

    @FORM
    @given(st.one_of(st.sampled_from(["accept", "return"]), TEXT), TEXT)
    def one(decision: str, reason: str) -> None:
        before = world.registry.monthly_report_by_id(report.id)
        answer = world.client.post(
            f"/bureau/operation/reports/{report.id}/review",
            data={"decision": decision, "reason": reason, "csrf_token": csrf},
            follow_redirects=False,
        )
        _answered(answer.status_code, (decision, reason))
        after = world.registry.monthly_report_by_id(report.id)
        if answer.status_code != 303:
            assert after.state == before.state, (decision, reason)
        elif after.state == "returned":
            assert after.events[-1].reason.strip(), reason
            # Put it back in the park's queue for the next example.
            world.registry.move_monthly_report(
                report.id, expected=("returned",), to="submitted", by="setup", role="x"
            )
        elif after.state == "park_accepted":
            world.registry.move_monthly_report(
                report.id, expected=("park_accepted",), to="returned", by="setup", role="x"
            )
            world.registry.move_monthly_report(
                report.id, expected=("returned",), to="submitted", by="setup", role="x"
            )

    one()


def test_uploads_and_filters_of_any_kind_are_answered_not_crashed_on(world: World) -> None:
    admin = sign_in(world.client, "admin_a")

    @FORM
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([b"PK\x03\x04" + b"\x00" * 40, b"<xml/>", b""]),
        )
    )
    def upload(data: bytes) -> None:
        answer = world.client.post(
            f"/e/{world.ent_a}/monthly-reports-import",
            data={"csrf_token": admin},
            files={"upload": ("f.xlsx", data, "application/octet-stream")},
        )
        _answered(answer.status_code, data[:20])
        assert answer.headers["content-type"].startswith("text/html")

    upload()
    bureau = sign_in(world.client, "bureau")

    @FORM
    @given(TEXT, TEXT, TEXT)
    def lists(month: str, park: str, state: str) -> None:
        query = {"month": month, "park": park, "state": state}
        for page in ("reports", "missing", "watch", "warnings"):
            answer = world.client.get(f"/bureau/operation/{page}", params=query)
            _answered(answer.status_code, (page, query))
        made = world.client.post(
            "/bureau/operation/monthly-report",
            data={"month": month, "csrf_token": bureau},
            follow_redirects=False,
        )
        _answered(made.status_code, month)

    lists()
