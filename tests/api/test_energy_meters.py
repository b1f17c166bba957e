"""Which kWh a group's energy counts: a meter stands for everything under the asset it hangs on
(a site's meter covers its lines' meters and machines), and a machine's own figure is its own
counter (at machine level, no meter hides it)."""

from __future__ import annotations

from tests.api.conftest import World
from tests.api.kpi_world import END, START, build, meter_rows, store_rows


def test_a_site_meter_covers_its_lines_meter_and_machines(world: World) -> None:
    kw = build(world)
    site_meter = world.registry.create_device(
        world.ent_a, "site-meter", "power_meter", asset_id=world.site_a
    )[0].id
    kw.services.analytics.places.invalidate()
    # The site's meter draws 1 kWh a minute over 08:00-10:00: 120 kWh, the line's 60 within it.
    store_rows(kw.services, [(d, m, t, 2 * v) for d, m, t, v in meter_rows(site_meter, 120, 240)])
    body = kw.get(
        "viewer_a", "/api/energy", level="enterprise", start=START, end=END, enterprise=world.ent_a
    )
    (group,) = body["groups"]
    assert group["energy_kwh"] == [120.0]


def test_at_machine_level_each_machine_shows_its_own_counter(world: World) -> None:
    kw = build(world)
    body = kw.get(
        "viewer_a", "/api/energy", level="device", start=START, end=END, enterprise=world.ent_a
    )
    by_name = {g["name"]: g for g in body["groups"]}
    # loom-002 draws 0.1 kWh a minute: 12 kWh over two hours, whatever meter its line has.
    assert round(by_name["loom-002"]["energy_kwh"][0], 6) == 12.0
    assert by_name["loom-002"]["per_unit"][0] > 0
    assert by_name["meter-01"]["energy_kwh"] == [60.0]
