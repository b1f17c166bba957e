"""Page-matrix rows of the enterprise files (一企一档): B's file and its forms; the district's
table, the tiers board and the imports. B's file is read by B's people, its park's official and
the bureau, never the operator; the bureau edits it, B's administrators (no role of the matrix)
and the bureau file its figures; the district's table and the board are the bureau's and the
park officials'; the tier criteria and imports are the bureau's alone."""

from __future__ import annotations

from datetime import date

from tests.api.conftest import World
from tests.web.page_matrix import PageRow

SIGN_IN = {"anonymous": 303}
B_HIDDEN = SIGN_IN | {"viewer_a": 404, "admin_a": 404, "park_other": 404}
B_FILE_READ = B_HIDDEN | {"operator": 403}
B_FILE_WRITE = B_HIDDEN | {"park_official": 403, "operator": 403}
DISTRICT = SIGN_IN | {"viewer_a": 403, "admin_a": 403, "operator": 403}
BUREAU_ONLY = DISTRICT | {"park_official": 403, "park_other": 403}
CERT = {"kind": "高企", "granted_on": "2024-01-01", "expires_on": "2026-12-31", "number": "GR1"}


def _certification(w: World) -> dict[str, int]:
    cert = w.registry.add_certification(w.ent_b, "高企", date(2024, 1, 1), None, None, "setup")
    return {"certification": cert.id}


E = "/e/{enterprise_id}/file"
ROWS: list[PageRow] = [
    PageRow("GET", "/bureau/files", lambda w, o: "/bureau/files", DISTRICT),
    PageRow("GET", E, lambda w, o: f"/e/{w.ent_b}/file", B_FILE_READ),
    PageRow(
        "POST",
        E,
        lambda w, o: f"/e/{w.ent_b}/file",
        B_FILE_WRITE,
        form=lambda w, o: {"industry_code": "6510", "key_enterprise": "1"},
    ),
    PageRow(
        "POST",
        f"{E}/figures",
        lambda w, o: f"/e/{w.ent_b}/file/figures",
        B_FILE_WRITE,
        form=lambda w, o: {"year": "2024", "revenue_wan": "1200", "staff": "40"},
    ),
    PageRow(
        "POST",
        f"{E}/particulars",
        lambda w, o: f"/e/{w.ent_b}/file/particulars",
        B_FILE_WRITE,
        form=lambda w, o: {"leased_area_m2": "300", "rent_yuan_m2_month": "50", "pre_ipo": "yes"},
    ),
    PageRow(
        "POST",
        f"{E}/certifications",
        lambda w, o: f"/e/{w.ent_b}/file/certifications",
        B_FILE_WRITE,
        form=lambda w, o: CERT,
    ),
    PageRow(
        "POST",
        f"{E}/certifications/{{certification_id}}",
        lambda w, o: f"/e/{w.ent_b}/file/certifications/{o['certification']}",
        B_FILE_WRITE,
        form=lambda w, o: CERT,
        setup=_certification,
    ),
    PageRow(
        "POST",
        f"{E}/certifications/{{certification_id}}/delete",
        lambda w, o: f"/e/{w.ent_b}/file/certifications/{o['certification']}/delete",
        B_FILE_WRITE,
        setup=_certification,
    ),
    PageRow("GET", "/bureau/tiers", lambda w, o: "/bureau/tiers", DISTRICT),
    PageRow(
        "POST",
        "/bureau/tiers/{tier}",
        lambda w, o: "/bureau/tiers/dengling",
        BUREAU_ONLY,
        form=lambda w, o: {
            "criteria": "{fact: revenue_cagr_3y, op: '>=', value: 20}",
            "effective_from": "2026-01-01",
            "note": "试行",
        },
    ),
    PageRow("GET", "/bureau/imports", lambda w, o: "/bureau/imports", BUREAU_ONLY),
    # A form without a workbook: the bureau is told the file is unreadable (422).
    PageRow(
        "POST",
        "/bureau/imports/{kind}",
        lambda w, o: "/bureau/imports/enterprises",
        BUREAU_ONLY | {"bureau": 422},
        form=lambda w, o: {"note": "no file"},
    ),
]
