"""Page-matrix rows of the platform operator's pages: nobody else opens them, whatever the
object."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.page_matrix import OPERATOR_ONLY, PageRow


def _spare_device(w: World) -> dict[str, int]:
    """A device of B to rotate or delete (one per role: a deleted one is gone)."""
    count = len(w.registry.list_devices(w.ent_b))
    device, _ = w.registry.create_device(w.ent_b, f"spare-{count}", "crah")
    return {"device": device.id}


ROWS: list[PageRow] = [
    PageRow("GET", "/operator/enterprises", lambda w, o: "/operator/enterprises", OPERATOR_ONLY),
    PageRow(
        "POST",
        "/operator/enterprises",
        lambda w, o: "/operator/enterprises",
        OPERATOR_ONLY,
        form=lambda w, o: {"park_id": str(w.park_id), "name": "丙", "uscc": "91350100M0001TGQXM"},
    ),
    PageRow(
        "GET",
        "/operator/enterprises/{enterprise_id}",
        lambda w, o: f"/operator/enterprises/{w.ent_b}",
        OPERATOR_ONLY,
    ),
    PageRow(
        "POST",
        "/operator/enterprises/{enterprise_id}/devices/{device_id}/token",
        lambda w, o: f"/operator/enterprises/{w.ent_b}/devices/{o['device']}/token",
        OPERATOR_ONLY | {"anonymous": 401},
        form=lambda w, o: {},
        setup=_spare_device,
        htmx=True,
    ),
    PageRow(
        "DELETE",
        "/operator/enterprises/{enterprise_id}/devices/{device_id}",
        lambda w, o: f"/operator/enterprises/{w.ent_b}/devices/{o['device']}",
        OPERATOR_ONLY | {"anonymous": 401},
        setup=_spare_device,
        htmx=True,
    ),
    PageRow("GET", "/operator/health", lambda w, o: "/operator/health", OPERATOR_ONLY),
    PageRow(
        "GET", "/operator/health/rejects", lambda w, o: "/operator/health/rejects", OPERATOR_ONLY
    ),
]
