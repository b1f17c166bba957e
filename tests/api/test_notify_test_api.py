"""``POST /api/enterprises/{id}/notify/test``: a test notice to one channel now, through the real
notifier to a real receiver on loopback; 200 when it arrived, the delivery's error (502 with its
code) when not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import World
from tests.web.receivers import Receiver, free_port, running_receiver


@pytest.fixture
def world_settings() -> dict[str, Any]:
    # The receiver listens on loopback: notices may go there only because this allows it.
    return {"notify_allow_networks": ("127.0.0.1/32",)}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


def channels(w: World, *items: dict[str, Any]) -> None:
    answer = w.client.put(
        f"/api/enterprises/{w.ent_a}/notify",
        json={"channels": list(items), "policy": None},
        headers=w.as_("admin_a"),
    )
    assert answer.status_code == 200, answer.text


def send(w: World, channel: str, who: str = "admin_a") -> Any:
    return w.client.post(
        f"/api/enterprises/{w.ent_a}/notify/test", json={"channel": channel}, headers=w.as_(who)
    )


def test_a_test_notice_arrives_and_a_failure_names_its_cause(
    world: World, receiver: Receiver
) -> None:
    receiver.answers["/down"] = (500, b"{}")
    channels(
        world,
        {"kind": "webhook", "name": "ops", "url": receiver.url("/ops"), "lang": "en"},
        {"kind": "wecom", "name": "wx", "url": receiver.url("/wx?key=k")},
        {"kind": "webhook", "name": "down", "url": receiver.url("/down")},
        {"kind": "webhook", "name": "closed", "url": f"http://127.0.0.1:{free_port()}/"},
    )
    answer = send(world, "ops")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["delivered"] is True and body["channel"] == "ops" and body["kind"] == "webhook"
    [got] = receiver.at("/ops")
    assert got.body["event"] == "test" and got.body["alarm_id"] == 0
    assert got.body["lang"] == "en" and "test" in got.body["rule"]
    assert send(world, "wx").status_code == 200
    [robot] = receiver.at("/wx")
    assert robot.body["msgtype"] == "markdown" and "测试通知" in robot.body["markdown"]["content"]

    failed = send(world, "down")
    assert failed.status_code == 502
    error = failed.json()["error"]
    assert error["code"] == "notify_http_status" and error["status"] == 500
    assert send(world, "closed").json()["error"]["code"] == "notify_unreachable"
    missing = send(world, "nobody")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "channel"
    # Testing is changing: a viewer may not, and nothing was sent for it.
    assert send(world, "ops", "viewer_a").status_code == 403
    assert len(receiver.at("/ops")) == 1
