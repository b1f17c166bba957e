"""Route-matrix rows of policies (惠企政策): policies are public documents every signed-in user
reads; B's matches, entitlements and points are B's people's, its park official's and the
bureau's; the bureau alone edits policies, computes and approves batches and resolves
objections; only B's administrators (no role of the matrix) object. The operator runs the
platform and is not the bureau."""

from __future__ import annotations

from datetime import date

from shugu.store.registry.region_policies import NewGrantLine
from tests.api.conftest import World
from tests.api.matrix_rows import ANY_USER, HIDDEN, Row

#: The bureau's own work: everyone else is refused.
BUREAU_ONLY = {
    "anonymous": 401,
    "viewer_a": 403,
    "admin_a": 403,
    "park_official": 403,
    "park_other": 403,
    "operator": 403,
}
#: The district's enterprises seen whole: the bureau, and a park official for its own park.
OVERSEERS = {"anonymous": 401, "viewer_a": 403, "admin_a": 403, "operator": 403}
#: B's policy matters: B's people, its park's official, the bureau.
B_POLICY_READ = HIDDEN | {"operator": 403}
POLICY = {
    "code": "matrix-fixed",
    "name_zh": "测试政策",
    "name_en": "Test policy",
    "redeem": "granted",
    "eligibility": {"fact": "park_id", "op": "exists"},
    "benefit": {"kind": "fixed", "amount_wan": 1},
}


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


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/api/region/policies"): Row(lambda w: "/api/region/policies", ANY_USER),
    ("POST", "/api/region/policies"): Row(
        lambda w: "/api/region/policies", BUREAU_ONLY, body=lambda w: POLICY
    ),
    ("GET", "/api/region/policies/export.xlsx"): Row(
        lambda w: "/api/region/policies/export.xlsx", ANY_USER
    ),
    ("GET", "/api/region/policies/{code}"): Row(
        lambda w: "/api/region/policies/dl-rd-major", ANY_USER
    ),
    ("PUT", "/api/region/policies/{code}"): Row(
        lambda w: "/api/region/policies/cl-cloud-spend",
        BUREAU_ONLY,
        body=lambda w: {**POLICY, "code": "cl-cloud-spend"},
    ),
    ("GET", "/api/region/policies/{code}/versions"): Row(
        lambda w: "/api/region/policies/dl-rd-major/versions", ANY_USER
    ),
    ("GET", "/api/region/policies/{code}/reach"): Row(
        lambda w: "/api/region/policies/dl-rd-major/reach", OVERSEERS
    ),
    ("GET", "/api/region/policies/{code}/reach.xlsx"): Row(
        lambda w: "/api/region/policies/dl-rd-major/reach.xlsx", OVERSEERS
    ),
    ("GET", "/api/region/enterprises/{enterprise_id}/policies"): Row(
        lambda w: f"/api/region/enterprises/{w.ent_b}/policies", B_POLICY_READ
    ),
    ("GET", "/api/region/grant-batches"): Row(lambda w: "/api/region/grant-batches", BUREAU_ONLY),
    ("POST", "/api/region/grant-batches"): Row(
        lambda w: "/api/region/grant-batches",
        BUREAU_ONLY,
        body=lambda w: {"policy_code": "cl-cloud-devices"},
    ),
    ("GET", "/api/region/grant-batches/export.xlsx"): Row(
        lambda w: "/api/region/grant-batches/export.xlsx", BUREAU_ONLY, setup=_batch
    ),
    ("GET", "/api/region/grant-batches/{batch_id}"): Row(
        lambda w: "/api/region/grant-batches/{batch}", BUREAU_ONLY, setup=_batch
    ),
    ("GET", "/api/region/grant-batches/{batch_id}/export.xlsx"): Row(
        lambda w: "/api/region/grant-batches/{batch}/export.xlsx", BUREAU_ONLY, setup=_batch
    ),
    ("POST", "/api/region/grant-batches/{batch_id}/approve"): Row(
        lambda w: "/api/region/grant-batches/{batch}/approve",
        BUREAU_ONLY,
        body=lambda w: {"objection_days": 10},
        setup=_batch,
    ),
    ("POST", "/api/region/grant-batches/{batch_id}/discard"): Row(
        lambda w: "/api/region/grant-batches/{batch}/discard", BUREAU_ONLY, setup=_batch
    ),
    ("GET", "/api/region/enterprises/{enterprise_id}/entitlements"): Row(
        lambda w: f"/api/region/enterprises/{w.ent_b}/entitlements", B_POLICY_READ
    ),
    ("GET", "/api/region/enterprises/{enterprise_id}/entitlements/export.xlsx"): Row(
        lambda w: f"/api/region/enterprises/{w.ent_b}/entitlements/export.xlsx",
        B_POLICY_READ,
        setup=_approved,
    ),
    ("POST", "/api/region/entitlements/{line_id}/objection"): Row(
        lambda w: "/api/region/entitlements/{line}/objection",
        HIDDEN | {"park_official": 403, "bureau": 403, "operator": 403},
        body=lambda w: {"reason": "设备数不对"},
        setup=_approved,
    ),
    ("POST", "/api/region/entitlements/{line_id}/resolution"): Row(
        lambda w: "/api/region/entitlements/{line}/resolution",
        HIDDEN | {"park_official": 403, "operator": 403},
        body=lambda w: {"decision": "rejected", "note": "设备接入记录无误"},
        setup=_objected,
    ),
    ("GET", "/api/region/innovation-points"): Row(
        lambda w: "/api/region/innovation-points", OVERSEERS
    ),
    ("GET", "/api/region/innovation-points/export.xlsx"): Row(
        lambda w: "/api/region/innovation-points/export.xlsx", OVERSEERS
    ),
    ("GET", "/api/region/enterprises/{enterprise_id}/innovation-points"): Row(
        lambda w: f"/api/region/enterprises/{w.ent_b}/innovation-points", B_POLICY_READ
    ),
}
