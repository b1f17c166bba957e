"""A month's progress: investment to date adds up and never goes down, the stage never goes
back, and who may file it."""

from __future__ import annotations

from datetime import date

import pytest

from shugu.domain.errors import ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Role
from tests.region.projects.conftest import Place, project_body


def _project(place: Place, **extra: object) -> int:
    record, created = place.service().save(
        place.bureau, project_body(enterprise_id=place.ent_a, **extra)
    )
    assert created
    return record.id


def _report(month_wan: str, to_date_wan: str, stage: str = "permits") -> dict[str, object]:
    return {
        "investment_month_wan": month_wan,
        "investment_to_date_wan": to_date_wan,
        "stage": stage,
    }


def test_a_project_takes_its_owner_s_park_name_and_industry(place: Place) -> None:
    service = place.service()
    record, _ = service.save(place.bureau, project_body(enterprise_id=place.ent_a))
    assert (record.park_id, record.owner_name) == (place.park, "甲纺织")
    assert record.total_investment_yuan == 12_005_000
    again, created = service.save(place.bureau, project_body(enterprise_id=place.ent_a, name="改"))
    assert (again.id, again.name, created) == (record.id, "改", False)


def test_an_owner_without_an_account_is_named_and_its_park_given(place: Place) -> None:
    service = place.service()
    with pytest.raises(ValidationError) as refused:
        service.save(place.bureau, project_body())
    assert refused.value.code == "project_owner_required"
    record, _ = service.save(
        place.bureau, project_body(owner_name="丙公司", park_id=place.other_park)
    )
    assert record.enterprise_id is None and record.park_id == place.other_park


def test_investment_to_date_adds_up_and_never_goes_down(place: Place) -> None:
    service, pid = place.service(), _project(place)
    service.file_progress(place.admin_a, pid, "2026-03", _report("100", "100"))
    service.file_progress(place.admin_a, pid, "2026-04", _report("50", "150"))
    with pytest.raises(ValidationError) as mismatch:
        service.file_progress(place.admin_a, pid, "2026-05", _report("20", "160"))
    assert mismatch.value.code == "project_to_date_mismatch"
    with pytest.raises(ValidationError) as down:
        service.file_progress(place.admin_a, pid, "2026-05", _report("0", "140"))
    assert down.value.code == "project_to_date_decreasing"
    # Re-filing March so that April no longer adds up is refused too.
    with pytest.raises(ValidationError) as breaks_april:
        service.file_progress(place.admin_a, pid, "2026-03", _report("120", "120"))
    assert breaks_april.value.code == "project_to_date_mismatch"
    # A month skipped: to date is at least what came before plus the month's.
    filed = service.file_progress(place.admin_a, pid, "2026-06", _report("10", "175.25"))
    assert filed.investment_to_date_yuan == 1_752_500


def test_the_stage_never_goes_back_and_the_future_is_not_reported(place: Place) -> None:
    service, pid = place.service(), _project(place)
    service.file_progress(place.admin_a, pid, "2026-04", _report("1", "1", "construction"))
    with pytest.raises(ValidationError) as back:
        service.file_progress(place.admin_a, pid, "2026-05", _report("1", "2", "permits"))
    assert back.value.code == "project_stage_backwards"
    with pytest.raises(ValidationError) as future:
        service.file_progress(place.admin_a, pid, "2026-07", _report("1", "2"))
    assert future.value.code == "project_month_in_future"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_report("-1", "1"), "project_amount_invalid"),
        (_report("1.00001", "2"), "project_amount_invalid"),
        (_report("abc", "2"), "project_amount_invalid"),
        (_report("1", "2", "done"), "project_stage_invalid"),
        ({**_report("1", "1"), "stage_reached_on": "2026-07-01"}, "project_reached_on_invalid"),
    ],
)
def test_bad_fields_are_refused_by_name(place: Place, body: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        place.service().file_progress(place.admin_a, _project(place), "2026-05", body)
    assert refused.value.code == code


def test_the_owner_s_administrators_file_others_do_not(place: Place) -> None:
    service, pid = place.service(), _project(place)
    with pytest.raises(ForbiddenError):
        service.file_progress(place.bureau, pid, "2026-05", _report("1", "1"))
    with pytest.raises(NotFoundError):
        admin_b = place.access(Role.ENTERPRISE_ADMIN, place.ent_b)
        service.file_progress(admin_b, pid, "2026-05", _report("1", "1"))
    with pytest.raises(NotFoundError):
        service.detail(place.access(Role.PARK_OFFICIAL, park_id=place.other_park), pid)
    with pytest.raises(ForbiddenError):
        service.projects(place.access(Role.OPERATOR))
    official = place.access(Role.PARK_OFFICIAL, park_id=place.park)
    assert [v.project.id for v in service.projects(official)] == [pid]
    # Without an account, the bureau or the park files.
    unowned, _ = service.save(official, project_body("P-002", owner_name="丁", park_id=place.park))
    service.file_progress(official, unowned.id, "2026-05", _report("1", "1"))
    assert service.detail(place.bureau, unowned.id).view.stage == "permits"


def test_months_are_first_days(place: Place) -> None:
    filed = place.service().file_progress(
        place.admin_a, _project(place), "2026-05", _report("1", "1")
    )
    assert filed.month == date(2026, 5, 1)


def test_another_park_s_enterprise_is_unknown_to_a_park_official(place: Place) -> None:
    """Naming an enterprise of another park as a project's owner answers as for one that does
    not exist, so a park official learns nothing of it; the bureau may name it."""
    service = place.service()
    official = place.access(Role.PARK_OFFICIAL, park_id=place.other_park)
    body = project_body("P-OTHER", enterprise_id=place.ent_a, park_id=place.other_park)
    with pytest.raises(ValidationError) as caught:
        service.save(official, body)
    assert caught.value.code == "project_enterprise_unknown"
    missing = project_body("P-NONE", enterprise_id=999_999, park_id=place.other_park)
    with pytest.raises(ValidationError) as nobody:
        service.save(official, missing)
    assert nobody.value.message == caught.value.message
    # By its code, the enterprise is not linked: the project records an owner off the platform.
    by_code = project_body(
        "P-USCC", owner_uscc="91110000600037341L", owner_name="甲纺织", park_id=place.other_park
    )
    record, _ = service.save(official, by_code)
    assert record.enterprise_id is None and record.park_id == place.other_park
    assert service.save(place.bureau, project_body("P-OURS", enterprise_id=place.ent_a))
