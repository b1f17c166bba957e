"""Page-matrix rows of the policy pages. Policies are public documents every signed-in user
reads (a policy's reach only the bureau and park officials see on it); B's policies page is B's
people's, its park official's and the bureau's; the grant lists are the bureau's alone; B's
administrators (no role of the matrix) object; the points ranking is the overseers'."""

from __future__ import annotations

from datetime import date

from shugu.store.registry.region_policies import NewGrantLine
from tests.api.conftest import World
from tests.web.page_matrix import PageRow

SIGN_IN = {"anonymous": 303}
ANY_USER = SIGN_IN
B_HIDDEN = SIGN_IN | {"viewer_a": 404, "admin_a": 404, "park_other": 404}
B_POLICY_READ = B_HIDDEN | {"operator": 403}
BUREAU_ONLY = SIGN_IN | {
    "viewer_a": 403,
    "admin_a": 403,
    "park_official": 403,
    "park_other": 403,
    "operator": 403,
}
OVERSEERS = SIGN_IN | {"viewer_a": 403, "admin_a": 403, "operator": 403}


def _batch(w: World) -> dict[str, int]:
    line = NewGrantLine(w.ent_b, 5.0, [{"zh": "定额", "en": "fixed", "amount_wan": 5}], {})
    batch = w.registry.add_grant_batch("cl-cloud-devices", 0, [line], "bureau")
    return {"batch": batch.id, "line": batch.lines[0].id}


def _approved(w: World) -> dict[str, int]:
    made = _batch(w)
    w.registry.decide_grant_batch(made["batch"], "bureau", approve=True)
    return made


def _objected(w: World) -> dict[str, int]:
    made = _approved(w)
    w.registry.object_to_grant_line(made["line"], "admin_b", "少算了设备", date.today())
    return made


ROWS: list[PageRow] = [
    PageRow("GET", "/bureau/policies", lambda w, o: "/bureau/policies", ANY_USER),
    PageRow(
        "GET", "/bureau/policies/{code}", lambda w, o: "/bureau/policies/dl-rd-major", ANY_USER
    ),
    PageRow(
        "GET", "/e/{enterprise_id}/policies", lambda w, o: f"/e/{w.ent_b}/policies", B_POLICY_READ
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/entitlements/{line_id}/objection",
        lambda w, o: f"/e/{w.ent_b}/entitlements/{o['line']}/objection",
        B_HIDDEN | {"park_official": 403, "bureau": 403, "operator": 403},
        form=lambda w, o: {"reason": "设备数不对"},
        setup=_approved,
    ),
    PageRow("GET", "/bureau/grants", lambda w, o: "/bureau/grants", BUREAU_ONLY),
    PageRow(
        "POST",
        "/bureau/grants",
        lambda w, o: "/bureau/grants",
        BUREAU_ONLY,
        form=lambda w, o: {"policy_code": "cl-cloud-devices"},
    ),
    PageRow(
        "GET",
        "/bureau/grants/{batch_id}",
        lambda w, o: f"/bureau/grants/{o['batch']}",
        BUREAU_ONLY,
        setup=_objected,
    ),
    PageRow(
        "POST",
        "/bureau/grants/{batch_id}/approve",
        lambda w, o: f"/bureau/grants/{o['batch']}/approve",
        BUREAU_ONLY,
        form=lambda w, o: {"objection_days": "10"},
        setup=_batch,
    ),
    PageRow(
        "POST",
        "/bureau/grants/{batch_id}/discard",
        lambda w, o: f"/bureau/grants/{o['batch']}/discard",
        BUREAU_ONLY,
        setup=_batch,
    ),
    PageRow(
        "POST",
        "/bureau/grants/{batch_id}/lines/{line_id}/resolve",
        lambda w, o: f"/bureau/grants/{o['batch']}/lines/{o['line']}/resolve",
        B_HIDDEN | {"park_official": 403, "operator": 403},
        form=lambda w, o: {"decision": "upheld", "amount_wan": "3", "note": "复核后调整"},
        setup=_objected,
    ),
    PageRow(
        "GET", "/bureau/innovation-points", lambda w, o: "/bureau/innovation-points", OVERSEERS
    ),
]
