"""Numbers sent as text over HTTP are ASCII digits, and few of them (domain/digits.py).

A state sent as a text of thousands of digits, or in another script's digits, is refused alone
as an unknown state, the payload's other values kept: reading it as a number made int() raise
past its 4,300-digit limit, a 500 and the whole payload lost. (The same text over MQTT and in an
Arrow batch: tests/fuzz/test_ingest_codecs.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shugu.store.registry import Registry
from tests.api.conftest import World, build_app


@pytest.mark.parametrize("text", ["9" * 5000, "٣"], ids=["5000-digits", "arabic-indic-3"])
def test_a_state_that_is_no_code_is_refused_alone(
    registry: Registry, tmp_path: Path, text: str
) -> None:
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
    _, token = registry.create_device(ent.id, "loom-1", "loom")
    app, services = build_app(registry, tmp_path)
    try:
        with TestClient(app) as client:
            answer = client.post(
                f"/api/v1/{token}/telemetry", json={"stop_cause": text, "speed_rpm": 600}
            )
    finally:
        services.close()  # its store's writer and compactor threads
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    (error,) = body["errors"]
    assert (error["key"], error["code"]) == ("stop_cause", "unknown_state")


@pytest.mark.parametrize("enterprise", ["²", "٣", "9" * 5000, "-1", " 1"])
def test_an_enterprise_id_that_is_no_ascii_number_is_refused(world: World, enterprise: str) -> None:
    # "²" passed str.isdigit and made int() raise: a 500.
    answer = world.client.post(
        "/api/v1/batch",
        params={"enterprise": enterprise},
        json={"loom-1": {"x": 1}},
        headers=world.as_("operator"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "enterprise_required"
