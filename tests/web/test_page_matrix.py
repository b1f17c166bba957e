"""Every console route has a row in some ``tests/web/matrix_*.py``, and every row holds for
every role (see page_matrix.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from shugu.web.console import PAGE_MODULES
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


def console_routes() -> set[tuple[str, str]]:
    """Every route of the console's page modules (the application holds them as included
    routers, so they are read where they are declared)."""
    routes = set()
    for module in PAGE_MODULES:
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            routes |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return routes


def test_every_console_route_has_a_row() -> None:
    have = {(row.method, row.route) for row in ROWS}
    routes = console_routes()
    assert ("GET", "/login") in routes
    missing = sorted(routes - have)
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
