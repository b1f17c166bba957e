"""The wall display's bureau panels: targets against actuals, projects by stage, key
enterprises' month and open appeals, each from its own area's service, shown as the caller may
see them."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.conftest import sign_in


def test_the_wall_fetches_the_panels(world: World) -> None:
    sign_in(world.client, "bureau")
    wall = world.client.get("/region")
    assert wall.status_code == 200
    assert 'hx-get="/region/bureau-panels"' in wall.text


def test_the_bureau_sees_every_panel_with_its_figures(world: World) -> None:
    filed = world.client.post(
        f"/api/enterprises/{world.ent_a}/appeals",
        json={"category": "electricity", "title": "增容申请", "text": "车间需要增容 400 kVA"},
        headers=world.as_("admin_a"),
    )
    assert filed.status_code == 201, filed.text
    world.registry.update_enterprise_file(world.ent_a, {"key_enterprise": True})
    sign_in(world.client, "bureau")
    panels = world.client.get("/region/bureau-panels")
    assert panels.status_code == 200
    text = panels.text
    for panel in ("targets", "projects", "key-enterprises", "appeals"):
        assert f'data-testid="panel-{panel}"' in text
    # The shipped targets of this year, a project library with no project, one open appeal
    # about electricity, one key enterprise that has not filed.
    assert "上平台企业数" in text
    assert "<strong>0</strong> 个项目" in text
    assert "<strong>1</strong> 件未办结" in text and "用电" in text
    assert "<dt>重点企业</dt><dd>1</dd>" in text and "<dt>已报送</dt><dd>0</dd>" in text


def test_the_operator_sees_targets_but_not_the_bureau_s_records(world: World) -> None:
    sign_in(world.client, "operator")
    text = world.client.get("/region/bureau-panels").text
    assert "上平台企业数" in text
    assert "个项目" not in text and "件未办结" not in text


def test_enterprise_accounts_are_refused(world: World) -> None:
    sign_in(world.client, "admin_a")
    assert world.client.get("/region/bureau-panels").status_code == 403
