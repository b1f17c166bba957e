"""Page-matrix rows of the shift calendar page. B's calendar: whoever may know of B reads it (as
the API's read: it is enterprise-level, no machine value); only B's administrators, or the
operator with B's consent, save a new version (as rules)."""

from __future__ import annotations

from tests.web.page_matrix import B_CONFIGURE_ALARMS, B_PLANT, PageRow

FORM = {
    "effective_from": "2026-12-01",
    "shift_name": "白班",
    "shift_start": "08:00",
    "shift_end": "20:00",
}

ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/e/{enterprise_id}/calendar",
        lambda w, o: f"/e/{w.ent_b}/calendar?start=2026-12-01",
        B_PLANT,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/calendar",
        lambda w, o: f"/e/{w.ent_b}/calendar",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: dict(FORM),
    ),
]
