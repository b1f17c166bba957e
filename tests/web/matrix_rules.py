"""Page-matrix rows of the rules of a device and of an enterprise: B's monitoring configuration
is B's plant (the operator reads it, the bureau needs consent); changing it decides which of B's
values raise alarms, so the operator needs B's consent for that."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.page_matrix import B_CONFIGURE_ALARMS, HIDDEN, PageRow

B_PLANT_READ = HIDDEN | {"bureau": 403, "park_official": 403}
RULE = "crah.chw_supply_high"


def b_override(w: World) -> dict[str, int]:
    w.registry.put_config(
        "override",
        w.ent_b,
        {"device_id": w.device_b, "rule_ref": RULE, "params": {"above": 13}},
        ref=f"{w.device_b}:{RULE}",
    )
    return {}


def b_rule(w: World) -> dict[str, int]:
    record = w.registry.put_config("rule", w.ent_b, {"rule": RULE_BODY, "scope": b_scope(w)})
    return {"rule": record.id}


RULE_BODY = {
    "key": "return_hot",
    "kind": "threshold",
    "metric": "return_air_c",
    "above": 35,
    "label_zh": "回风温度过高",
    "label_en": "Return air too hot",
}


def b_scope(w: World) -> dict[str, int]:
    return {"device_id": w.device_b}


def rule_form(w: World, o: dict[str, int]) -> dict[str, str]:
    return {
        "label_zh": "回风温度过高",
        "label_en": "Return air too hot",
        "applies": f"device:{w.device_b}",
        "metric": "return_air_c",
        "kind": "threshold",
        "severity": "minor",
        "above": "35",
    }


ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/devices/{device_id}/rules",
        lambda w, o: f"/devices/{w.device_b}/rules",
        B_PLANT_READ | {"anonymous": 401},
        htmx=True,
    ),
    PageRow(
        "POST",
        "/devices/{device_id}/rules/{rule_ref}/override",
        lambda w, o: f"/devices/{w.device_b}/rules/{RULE}/override",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {"above": "14"},
    ),
    PageRow(
        "POST",
        "/devices/{device_id}/rules/{rule_ref}/override/reset",
        lambda w, o: f"/devices/{w.device_b}/rules/{RULE}/override/reset",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {},
        setup=b_override,
    ),
    PageRow("GET", "/e/{enterprise_id}/rules", lambda w, o: f"/e/{w.ent_b}/rules", B_PLANT_READ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/rules",
        lambda w, o: f"/e/{w.ent_b}/rules",
        B_CONFIGURE_ALARMS,
        form=rule_form,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/rules/{rule_id}",
        lambda w, o: f"/e/{w.ent_b}/rules/{o['rule']}",
        B_CONFIGURE_ALARMS,
        setup=b_rule,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/rules/{rule_id}",
        lambda w, o: f"/e/{w.ent_b}/rules/{o['rule']}",
        B_CONFIGURE_ALARMS,
        form=rule_form,
        setup=b_rule,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/rules/{rule_id}/delete",
        lambda w, o: f"/e/{w.ent_b}/rules/{o['rule']}/delete",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {},
        setup=b_rule,
    ),
]
