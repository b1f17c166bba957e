"""A revoked device's HTTP long polls end.

- Revoked here: sync routes (rotate, delete) and the control socket revoke from worker threads,
  while the polls are asyncio futures of the server's loop; they are ended on that loop.
- Revoked where this server does not hear of it (another process writing the registry): the
  waiting polls' tokens are re-checked every few seconds, as MQTT sessions' are.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from shugu.ingest.attributes import AttributeService
from shugu.ingest.poll_sweep import PollSweep
from shugu.ingest.rpc import RpcHub
from shugu.store.registry import Registry
from tests.server import ServedDistrict, serve_district

#: Longer than any test waits: a poll that ends did so because it was ended.
FOREVER_S = 3600.0


def _attributes() -> AttributeService:
    # Ending polls touches neither the ingest door nor the store.
    return AttributeService(cast(Any, None), cast(Any, None))


@pytest.mark.parametrize("service", [RpcHub, _attributes], ids=["rpc", "attributes"])
def test_a_poll_revoked_from_a_worker_thread_is_ended_on_its_loop(service: Any) -> None:
    # Completing the poll's future from the worker thread raised "Non-thread-safe operation"
    # under asyncio's debug mode; without it the loop was not woken and the poll waited on.
    held = service()

    async def scenario() -> object:
        poll = asyncio.create_task(held.poll(7, FOREVER_S, credential="old"))
        await asyncio.sleep(0)
        assert held.waiting_credentials() == {7: "old"}
        await asyncio.to_thread(held.forget, 7)  # as rotate_device_token does, from a worker
        assert poll.done()  # ended on the loop before forget returned
        return await poll

    assert asyncio.run(scenario(), debug=True) is None
    assert held.waiting_credentials() == {}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Registry, int, str]]:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
    device, token = registry.create_device(ent.id, "meter-1", "generic")
    try:
        yield registry, device.id, token
    finally:
        registry.close()


def test_the_sweep_ends_only_polls_whose_token_was_revoked(
    registry: tuple[Registry, int, str],
) -> None:
    reg, device_id, old_token = registry
    rpc, attributes = RpcHub(), _attributes()
    sweep = PollSweep(reg.device_ids_for_tokens, (rpc, attributes))

    async def scenario() -> tuple[int, int, object, object]:
        polls = [
            asyncio.create_task(rpc.poll(device_id, FOREVER_S, credential=old_token)),
            asyncio.create_task(attributes.poll(device_id, FOREVER_S, credential=old_token)),
        ]
        await asyncio.sleep(0)
        untouched = await sweep.revalidate()  # the token is still good
        reg.rotate_device_token(device_id)  # as another process would: nobody tells the hub
        ended = await sweep.revalidate()
        return untouched, ended, await polls[0], await polls[1]

    assert asyncio.run(scenario()) == (0, 2, None, None)


def test_a_poll_with_the_new_token_is_not_ended(registry: tuple[Registry, int, str]) -> None:
    reg, device_id, old_token = registry
    rpc = RpcHub()
    sweep = PollSweep(reg.device_ids_for_tokens, (rpc,))

    async def scenario() -> tuple[int, bool]:
        new_token = reg.rotate_device_token(device_id)
        # The sweep read the old token while the device came back with its new one: the poll
        # waiting now is not the one found revoked.
        poll = asyncio.create_task(rpc.poll(device_id, FOREVER_S, credential=new_token))
        await asyncio.sleep(0)
        ended = rpc.end_poll(device_id, old_token)
        still = await sweep.revalidate()
        waiting = not poll.done()
        poll.cancel()
        return int(ended) + still, waiting

    assert asyncio.run(scenario()) == (0, True)


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    devices = {"poller": ("generic", False)}
    with serve_district(tmp_path_factory.mktemp("poll-revocation"), devices) as served:
        yield served


class BackgroundPoll:
    """A device's long poll of 120 s in a thread, and the status it was answered with."""

    def __init__(self, district: ServedDistrict, token: str, path: str) -> None:
        self.url = f"{district.base}/api/v1/{token}/{path}?timeout=120000"
        self.status: list[int] = []
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=150) as answer:
                self.status.append(int(answer.status))
        except urllib.error.HTTPError as err:
            self.status.append(err.code)

    def answer(self) -> int:
        # Ended by the sweep, the poll answers within seconds; left alone it would run 120 s.
        self.thread.join(60)
        assert self.status, "the long poll went on after its token was revoked"
        return self.status[0]


def test_a_revocation_by_another_process_ends_the_polls(district: ServedDistrict) -> None:
    token = district.token("poller")
    polls = [BackgroundPoll(district, token, p) for p in ("rpc", "attributes/updates")]
    # Let the polls reach the server and wait there (a poll that came after the rotation would
    # be refused at once with 401, testing nothing).
    threading.Event().wait(2.0)
    # Another process rotates the token in the shared registry; this server hears nothing.
    registry = Registry(f"sqlite:///{district.data / 'registry.sqlite'}")
    try:
        registry.rotate_device_token(district.device_id("poller"))
    finally:
        registry.close()
    assert [poll.answer() for poll in polls] == [408, 408]
    assert district.post_telemetry(token, {"x": 1.0}) == 401
