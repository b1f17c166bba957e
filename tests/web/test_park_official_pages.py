"""A park official in the console: the bureau's region pages narrowed to its own park, no
machine states, its navigation and landing page."""

from __future__ import annotations

from tests.web.conftest import World, sign_in


def _third_park_enterprise(w: World) -> str:
    park = w.registry.create_park(w.region_id, "第三园", None).id
    w.registry.create_enterprise(park, "丙织造", "91350100M0001TGQXM", "0502")
    return "丙织造"


def test_a_park_official_lands_on_its_park_s_overview(world: World) -> None:
    world.client.cookies.clear()
    answer = world.client.post(
        "/login",
        data={"username": "park_official", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/region"
    assert world.client.get("/region").status_code == 200
    # The wall display is full screen; the navigation is on the pages beside it.
    page = world.client.get("/region/enterprises")
    for item in ("/region", "/region/enterprises", "/region/kpi"):
        assert f'href="{item}"' in page.text
    assert 'href="/capacity"' not in page.text


def test_the_enterprise_list_holds_its_park_s_enterprises_only(world: World) -> None:
    third = _third_park_enterprise(world)
    sign_in(world.client, "bureau")
    assert third in world.client.get("/region/enterprises").text
    sign_in(world.client, "park_official")
    page = world.client.get("/region/enterprises").text
    assert "甲纺织" in page and "乙数据中心" in page and third not in page
    sign_in(world.client, "park_other")
    page = world.client.get("/region/enterprises").text
    assert "甲纺织" not in page and third not in page


def test_the_wall_display_shows_no_machine_of_its_park(world: World) -> None:
    sign_in(world.client, "park_official")
    machines = world.client.get("/region/machines?page=1")
    assert machines.status_code == 200
    assert "loom-001" not in machines.text and "crah-01" not in machines.text
    charts = world.client.get("/region/charts.json").json()
    assert "长乐纺织园" in str(charts) and "滨海数据园" not in str(charts)
