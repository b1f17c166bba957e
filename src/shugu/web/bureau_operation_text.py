"""Words of the monthly operation pages (经济运行监测) shown by key: report states, review
steps, the checks of reported beside measured figures and their outcomes, why a report is still
due. The figures' own names and units come with the figures (``region/operation/figures.py``),
the warning rules' names with the rules (``warnings.yaml``)."""

from __future__ import annotations

from typing import Any, Final

from shugu.region.operation.figures import FIGURES
from shugu.region.operation.imports import SPEC
from shugu.web.i18n import N_
from shugu.web.session import PageUser

STATES: Final = {
    "none": N_("Not filed"),
    "draft": N_("Draft"),
    "submitted": N_("Submitted, awaiting the park"),
    "park_accepted": N_("Accepted by the park, awaiting the bureau"),
    "accepted": N_("Accepted by the bureau"),
    "returned": N_("Returned"),
}
#: The state filter of the district's list: drafts are the enterprises' own.
FILTER_STATES: Final = ("submitted", "park_accepted", "accepted", "returned")
EVENTS: Final = {
    "saved": N_("Saved as a draft"),
    "imported": N_("Imported from Excel"),
    "submitted": N_("Submitted"),
    "park_accepted": N_("Accepted by the park"),
    "accepted": N_("Accepted by the bureau"),
    "returned": N_("Returned"),
}
ROLES: Final = {
    "enterprise_admin": N_("Enterprise"),
    "park_official": N_("Park"),
    "bureau": N_("Bureau"),
}
CHECKS: Final = {
    "power": N_("Power use against the meters"),
    "output": N_("Output value against machine throughput"),
}
OUTCOMES: Final = {
    "within": N_("Within tolerance"),
    "beyond": N_("Beyond tolerance"),
    "not_measured": N_("Not measured"),
    "no_basis": N_("No basis to compare"),
}
#: The operation facts a warning shows (``region/operation/signals.py``).
FACTS: Final = {
    "output_value_wan": N_("Output value (10k yuan)"),
    "output_value_wan_year_ago": N_("A year before (10k yuan)"),
    "output_value_yoy_pct": N_("Year on year (%)"),
    "revenue_wan": N_("Revenue (10k yuan)"),
    "revenue_wan_year_ago": N_("A year before (10k yuan)"),
    "revenue_yoy_pct": N_("Year on year (%)"),
    "metered_kwh_14d": N_("Metered, last 14 days (kWh)"),
    "metered_kwh_prior_14d": N_("Metered, the 14 days before (kWh)"),
    "metered_power_14d_change_pct": N_("Change (%)"),
    "report_deadline": N_("Report deadline"),
    "report_days_overdue": N_("Days overdue"),
    "report_state": N_("Report state"),
}
DUE: Final = {"missing": N_("Not filed"), "returned": N_("Returned, not resubmitted")}
#: Badge colours of the states (console.css's severities).
STATE_BADGES: Final = {
    "none": "sev-major",
    "draft": "outline",
    "submitted": "sev-warning",
    "park_accepted": "sev-minor",
    "accepted": "sev-none",
    "returned": "sev-critical",
}


def sheet_lang(user: PageUser) -> str:
    return "en" if user.tr.lang == "en" else "zh"


def labels(user: PageUser) -> dict[str, Any]:
    lang = sheet_lang(user)
    return {
        "sheet_lang": lang,
        "figures": [(f.key, f.label(lang)) for f in FIGURES],
        "states": STATES,
        "state_badges": STATE_BADGES,
        "events": EVENTS,
        "event_roles": ROLES,
        "checks_labels": CHECKS,
        "outcomes": OUTCOMES,
        "due_labels": DUE,
        "facts": FACTS,
        "columns": {c.key: c.en if lang == "en" else c.zh for c in SPEC.columns},
    }
