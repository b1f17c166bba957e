"""Page-matrix rows of changing one's own password: every signed-in role, its own account."""

from __future__ import annotations

from tests.api.conftest import PASSWORD
from tests.web.page_matrix import ANY_USER, PageRow

ROWS: list[PageRow] = [
    PageRow("GET", "/account/password", lambda w, o: "/account/password", ANY_USER),
    PageRow(
        "POST",
        "/account/password",
        lambda w, o: "/account/password",
        ANY_USER,
        form=lambda w, o: {
            "current_password": PASSWORD,
            "new_password": "a new long password",
            "new_password_again": "a new long password",
        },
    ),
]
