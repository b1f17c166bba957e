"""Every console route has a row in some ``tests/web/matrix_*.py``, and every row holds for
every role (see page_matrix.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from tests.api.conftest import World
from tests.web.conftest import sign_in
from tests.web.page_matrix import OK, ROLES, PageRow

HERE = Path(__file__).parent


def all_rows() -> list[PageRow]:
    rows: list[PageRow] = []
    for path in sorted(HERE.glob("matrix_*.py")):
        module = importlib.import_module(f"tests.web.{path.stem}")
        rows += module.ROWS
    return rows


ROWS = all_rows()


def console_routes(world: World) -> set[tuple[str, str]]:
    routes = set()
    for route in world.client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.include_in_schema:
            continue
        if route.path in ("/docs", "/redoc") or route.path.startswith("/api/"):
            continue
        for method in route.methods - {"HEAD"}:
            routes.add((method, route.path))
    return routes


def test_every_console_route_has_a_row(world: World) -> None:
    have = {(row.method, row.route) for row in ROWS}
    missing = sorted(console_routes(world) - have)
    assert not missing, f"add rows to a tests/web/matrix_*.py for: {missing}"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.route}")
def test_each_role_gets_what_the_row_says(world: World, row: PageRow) -> None:
    wrong = []
    for role in ROLES:
        objects = row.setup(world)
        client = world.client
        headers: dict[str, str] = {"accept": "text/html"}
        if role == "anonymous":
            client.cookies.clear()
        else:
            csrf = sign_in(client, role)
            headers["X-CSRF-Token"] = csrf
        if row.htmx:
            headers["HX-Request"] = "true"
        url = row.url(world, objects)
        form = row.form(world, objects) if row.form is not None else None
        if row.route == "/live" and role != "anonymous":
            # A stream that is allowed never ends: read only its status line.
            with client.stream(row.method, url, headers=headers) as answer:
                status = answer.status_code
        else:
            answer = client.request(
                row.method, url, headers=headers, data=form, follow_redirects=False
            )
            status = answer.status_code
        expected = row.expect.get(role)
        if (expected is None and status not in OK) or (expected is not None and status != expected):
            wrong.append(f"{role}: {status}, expected {expected or 'success'}")
    assert not wrong, f"{row.method} {url}: " + "; ".join(wrong)
