"""Page-matrix rows of an enterprise's accounts page: B's administrators manage B's accounts;
the operator sees them and creates only a first administrator (B has one), so its changes are
refused as the API's are."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.page_matrix import B_MANAGE, HIDDEN, PageRow

#: Changing B's accounts: B's administrators only (none among the matrix's roles).
B_ACCOUNTS = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}


def b_spare_viewer(w: World) -> dict[str, int]:
    found = w.registry.user_by_username("b-spare")
    user = found or w.registry.create_user(
        "b-spare", "a long password", "enterprise_viewer", w.ent_b
    )
    return {"user": user.id}


ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/e/{enterprise_id}/accounts",
        lambda w, o: f"/e/{w.ent_b}/accounts",
        B_MANAGE,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/accounts",
        lambda w, o: f"/e/{w.ent_b}/accounts",
        B_ACCOUNTS,
        form=lambda w, o: {"username": "b-new", "role": "enterprise_viewer"},
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/accounts/{user_id}",
        lambda w, o: f"/e/{w.ent_b}/accounts/{o['user']}",
        B_ACCOUNTS,
        form=lambda w, o: {"disabled": "true"},
        setup=b_spare_viewer,
    ),
]
