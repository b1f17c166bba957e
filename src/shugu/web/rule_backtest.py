"""A plant rule's back-test (回测) from the rule form: the form's rule fitted on stored readings
and judged on the rows after the fit, nothing saved, shown above the form it came from so the
engineer can change the sensitivity or the fit start and try again before saving.

The form's "back-test" button posts to the same address as its "save" button with
``do=backtest``; the rule pages hand such a post here. The work is
``rule_service.backtest_rule``, as the API's back-test routes do.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData

from shugu.domain.errors import ValidationError
from shugu.monitor import rule_service
from shugu.monitor.plant_history import BackTest, HistoryFits
from shugu.web.rule_forms import RuleForm, choices, refuse, rule_body
from shugu.web.session import PageUser

#: The devices a back-test lists by name, those with the most alarms first.
SHOWN_DEVICES = 50


@dataclass(frozen=True, slots=True)
class BackTestRow:
    device: str
    fit_rows: int
    fit_needed: int
    alarms: int
    #: The first alarm's time (ms), None without alarms.
    first_alarm_ms: int | None


@dataclass(frozen=True, slots=True)
class BackTestView:
    """What the page shows of a back-test."""

    devices: int
    fitted: int
    #: None when no device was fitted: there was no model to judge with.
    test: BackTest | None
    #: Devices with alarms first (most first), then the rest, at most SHOWN_DEVICES.
    listed: tuple[BackTestRow, ...]

    @property
    def hours(self) -> float:
        test = self.test
        return (test.until_ms - test.from_ms) / 3_600_000 if test is not None else 0.0


def wants_backtest(submitted: FormData) -> bool:
    return submitted.get("do") == "backtest"


def try_rule(
    user: PageUser, enterprise_id: int, submitted: FormData, rule_id: int | None
) -> tuple[RuleForm, BackTestView | None]:
    """The form as submitted, and its rule's back-test (None, with the form's errors, when the
    rule cannot be back-tested)."""
    services = user.services
    allowed = choices(services.registry, enterprise_id, user.tr)
    body, form = rule_body(submitted, allowed, user.tr)
    if form.errors:
        return form, None
    try:
        tried = rule_service.backtest_rule(
            services.registry, services.monitor, enterprise_id, body, rule_id=rule_id
        )
    except ValidationError as exc:
        if exc.code == "backtest_needs_fit_from" and form.values.get("kind") != "plant":
            # The fit start's field is hidden for other kinds: the refusal goes above the form.
            form.form_error = user.tr.error(exc.code, exc.message)
            return form, None
        return refuse(form, exc, user.tr), None
    names = {d.id: d.name for d in services.registry.device_refs_of_enterprise(enterprise_id)}
    return form, view_of(tried, names)


def view_of(tried: HistoryFits, names: dict[int, str]) -> BackTestView:
    test = tried.backtest
    alarms = test.alarms if test is not None else {}
    first = test.first_alarm_ms if test is not None else {}
    order = sorted(tried.fits, key=lambda f: (-alarms.get(f.device, 0), names.get(f.device, "")))
    listed = tuple(
        BackTestRow(
            names.get(f.device, f"#{f.device}"),
            f.rows,
            f.needed,
            alarms.get(f.device, 0),
            first.get(f.device),
        )
        for f in order[:SHOWN_DEVICES]
    )
    return BackTestView(len(tried.fits), tried.fitted, test, listed)
