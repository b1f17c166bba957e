"""The live stream: values of watched devices and alarm changes reach open pages, merged while a
page lags, and a real server pushes a device's value to an open stream."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from httpx import Response

from shugu.api.scope import visible_devices
from shugu.domain.batch import Batch
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Access
from shugu.web import live_routes
from shugu.web.live import LiveHub
from tests.server import serve_district
from tests.web.conftest import World, sign_in

NAMES = {1: "temp", 2: "rpm"}


def _batch(rows: list[tuple[int, int, int, float]]) -> Batch:
    device, metric, ts, value = zip(*rows, strict=True)
    return Batch(
        np.array(device, np.int32),
        np.array(metric, np.int32),
        np.array(ts, np.int64),
        np.array(value, np.float64),
        np.zeros(len(rows), np.uint8),
    )


def test_a_page_gets_the_newest_value_of_the_devices_it_shows_and_no_others() -> None:
    async def run() -> None:
        hub = LiveHub(NAMES.__getitem__)
        shown = hub.subscribe([7])
        other = hub.subscribe([8])
        # Sent from the store's writer thread in the server; any thread will do.
        await asyncio.to_thread(
            hub.on_batch,
            _batch([(7, 1, 2_000, 21.5), (7, 1, 1_000, 20.0), (9, 2, 1_000, 5.0), (7, 2, 3, 600)]),
        )
        await asyncio.wait_for(shown.wake.wait(), 5)
        values, alarms = shown.take()
        assert values == {7: {"temp": (2_000, 21.5), "rpm": (3, 600.0)}}
        assert not alarms
        assert not other.wake.is_set() and other.values == {}

    asyncio.run(run())


def test_a_lagging_page_holds_one_value_per_metric_however_much_arrives() -> None:
    async def run() -> None:
        hub = LiveHub(NAMES.__getitem__)
        sub = hub.subscribe([7])
        for i in range(50):
            hub.on_batch(_batch([(7, 1, i, float(i))]))
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        values, _ = sub.take()
        assert values == {7: {"temp": (49, 49.0)}}

    asyncio.run(run())


def test_alarm_changes_reach_only_pages_allowed_to_see_that_enterprise() -> None:
    async def run() -> None:
        hub = LiveHub(NAMES.__getitem__)
        mine = hub.subscribe([], alarm_enterprises=lambda e: e == 1)
        theirs = hub.subscribe([], alarm_enterprises=lambda e: e == 2)
        hub.alarms_changed(1)
        await asyncio.wait_for(mine.wake.wait(), 5)
        assert mine.take()[1] == {1}
        assert not theirs.wake.is_set()

    asyncio.run(run())


def test_a_batch_no_page_watches_costs_no_delivery() -> None:
    async def run() -> None:
        hub = LiveHub(NAMES.__getitem__)
        sub = hub.subscribe([1])
        hub.unsubscribe(sub)
        hub.on_batch(_batch([(1, 1, 1, 1.0)]))
        await asyncio.sleep(0.3)
        assert hub.delivered_events == 0 and hub.open_streams == 0

    asyncio.run(run())


def _read_event(stream: http.client.HTTPResponse, name: str, deadline: float) -> object:
    event = None
    while time.monotonic() < deadline:
        line = stream.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == name:
            return json.loads(line[6:])
    raise AssertionError(f"no {name} event before the deadline")


def test_a_real_server_pushes_a_device_value_to_an_open_stream(tmp_path: Path) -> None:
    with serve_district(tmp_path, {"loom-1": ("loom", False)}) as served:
        device_id = served.device_id("loom-1")
        connection = http.client.HTTPConnection("127.0.0.1", served.http_port, timeout=20)
        connection.request(
            "GET",
            f"/live?devices={device_id}",
            headers={"Cookie": f"shugu_session={served.admin_token}"},
        )
        stream = connection.getresponse()
        assert stream.status == 200
        assert stream.getheader("content-type", "").startswith("text/event-stream")
        assert served.post_telemetry(served.token("loom-1"), {"speed_rpm": 612.5}) == 200
        data = _read_event(stream, "values", time.monotonic() + 20)
        assert isinstance(data, dict)
        assert data[str(device_id)]["speed_rpm"][1] == 612.5
        assert served.http("GET", "/api/health")[1]["console_live_streams"] == 1
        connection.close()
        # The server notices the page went away and lets go of its stream.
        deadline = time.monotonic() + 20
        while served.http("GET", "/api/health")[1]["console_live_streams"] != 0:
            assert time.monotonic() < deadline, "the closed stream is still held"
            time.sleep(0.1)


def _stream_in_background(world: World, path: str) -> tuple[threading.Thread, list[Response]]:
    """Open a page's stream on another thread; its answer is kept once the stream ends."""
    answers: list[Response] = []
    reader = threading.Thread(target=lambda: answers.append(world.client.get(path)), daemon=True)
    reader.start()
    hub = world.client.app.state.live_hub  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    while hub.open_streams == 0:
        assert time.monotonic() < deadline, "the stream did not open"
        time.sleep(0.01)
    return reader, answers


def test_an_open_stream_ends_once_its_user_signs_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_routes, "RECHECK_S", 0.05)
    sign_in(world.client, "admin_a")
    session = world.client.cookies.get("shugu_session")
    assert session
    reader, answers = _stream_in_background(world, f"/live?devices={world.device_a}&alarms=1")
    world.registry.revoke_token_value(session)
    reader.join(20)
    assert not reader.is_alive(), "the stream outlived its session"
    [answer] = answers
    assert answer.status_code == 200 and answer.text.startswith("retry:")


def test_an_open_stream_ends_once_the_enterprise_revokes_its_consent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_routes, "RECHECK_S", 0.05)
    consent = world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "audit")
    sign_in(world.client, "bureau")
    reader, answers = _stream_in_background(world, f"/live?devices={world.device_a}")
    world.registry.revoke_consent(consent.id)
    reader.join(20)
    assert not reader.is_alive(), "the stream outlived the consent"
    assert answers[0].status_code == 200


def test_a_stream_of_many_devices_is_checked_as_each_device_would_be(world: World) -> None:
    registry = world.registry

    def access(who: str) -> Access:
        principal = registry.principal_for_token(world.tokens[who])
        assert principal is not None
        return Access(principal, registry.has_consent)

    mine = [world.device_a, world.device_a]
    assert visible_devices(registry, access("viewer_a"), mine) == {world.ent_a}
    for who, ids, refused in (
        ("viewer_a", [world.device_a, world.device_b], NotFoundError),
        ("viewer_a", [world.device_a, 10**9], NotFoundError),
        ("bureau", [world.device_a], ForbiddenError),
        ("operator", [world.device_b], ForbiddenError),
    ):
        with pytest.raises(refused):
            visible_devices(registry, access(who), ids)
    registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "看板")
    assert visible_devices(registry, access("bureau"), [world.device_a]) == {world.ent_a}
