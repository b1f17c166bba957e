"""Hostile requests to the incident routes over HTTP, as every role: the list's query
parameters, the incident's id in the path, and the acknowledgement's body (``POST
/api/incidents/{id}/ack``, whose body is optional): never a server error; a refusal is 4xx
with a code and a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from bench.fuzz_cases import hostile_text, json_scalars, mixture
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shugu.store.registry.incidents import IncidentWrite
from tests.api.conftest import World
from tests.fuzz.fuzzing import fuzz

ROLES = ("admin_b", "viewer_a", "admin_a", "bureau", "operator", "park_official")
STATES = ["unclosed", "open", "acknowledged", "closed", "all", "", "OPEN", "active"]

#: Text an HTTP client can send in a query string (lone surrogates cannot be encoded).
sendable = hostile_text.map(lambda s: s.encode("utf-8", "replace").decode("utf-8")[:300])
numbers = mixture(
    (3, st.integers(-3, 12).map(str)),
    (1, st.integers(-(2**70), 2**70).map(str)),
    (1, st.sampled_from(["1e3", "0x10", "1.5", "٣", "１", " 1", "NaN", "inf", ""])),
    (1, sendable),
)
#: What a JSON parser hands over for a field: scalars with hostile parts, lists and objects.
anything = st.recursive(
    json_scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(sendable, kids, max_size=3)),
    max_leaves=8,
)


class Incidents:
    """Enterprise B's CRAH with an open alarm in an incident, for every case to find."""

    def __init__(self, w: World) -> None:
        self.w = w
        now = datetime.now(UTC)
        alarm = w.registry.open_alarm(
            "crah.offline", w.device_b, w.ent_b, "major", now, None, {"kind": "no_data"}
        )
        assert alarm is not None
        (incident,) = w.registry.write_incidents(
            [IncidentWrite(None, w.ent_b, "open", "major", now, alarm.id, 1, (alarm.id,))]
        )
        self.id = incident.id

    def ids(self) -> st.SearchStrategy[str]:
        w = self.w
        real = [self.id, w.ent_a, w.ent_b, w.device_b]
        return mixture((3, st.sampled_from([str(i) for i in real])), (2, numbers))


def check_answer(answer: Any, context: object) -> None:
    assert answer.status_code < 500, (context, answer.status_code, answer.text[:500])
    if answer.status_code >= 400:
        error = answer.json()["error"]
        assert error["code"] and error["message"].strip(), (context, error)
    else:
        json.loads(answer.text)


@pytest.fixture
def incidents(world: World) -> Incidents:
    return Incidents(world)


def test_no_incident_query_is_a_server_error(incidents: Incidents) -> None:
    w = incidents.w
    params = st.fixed_dictionaries(
        {},
        optional={
            "enterprise": incidents.ids(),
            "state": mixture((4, st.sampled_from(STATES)), (1, sendable)),
            "lang": mixture((4, st.sampled_from(["zh", "en", "fr", ""])), (1, sendable)),
            "limit": numbers,
            "unexpected": sendable,
        },
    )

    @settings(
        fuzz(0.3),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(params=params, who=st.sampled_from(ROLES), incident=incidents.ids())
    @example(params={"enterprise": str(w.ent_b), "state": "all"}, who="admin_b", incident="1")
    @example(params={"limit": "2001", "state": "nope"}, who="operator", incident="-1")
    @example(params={"lang": "en"}, who="admin_b", incident=str(2**70))
    def one(params: dict[str, str], who: str, incident: str) -> None:
        listed = w.client.get("/api/incidents", params=params, headers=w.as_(who))
        check_answer(listed, ("list", who, params))
        url = f"/api/incidents/{quote(incident, safe='')}"
        shown = w.client.get(url, params=params, headers=w.as_(who))
        check_answer(shown, (url, who, params))

    one()


def test_no_acknowledgement_body_is_a_server_error(incidents: Incidents) -> None:
    w = incidents.w
    bodies = mixture(
        (6, st.fixed_dictionaries({}, optional={"note": anything, "extra": anything})),
        (1, anything),
    )

    @settings(
        fuzz(0.3),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        body=bodies,
        raw=st.one_of(st.none(), st.binary(max_size=40), sendable.map(str.encode)),
        who=st.sampled_from(ROLES),
        incident=incidents.ids(),
    )
    @example(body={"note": "在处理"}, raw=None, who="viewer_a", incident="1")
    @example(body={"note": "x" * 2001}, raw=None, who="admin_b", incident="1")
    @example(body=None, raw=b"{", who="admin_b", incident="1")
    def one(body: Any, raw: bytes | None, who: str, incident: str) -> None:
        # Escaped, a lone surrogate or NaN still reaches the server, as a hostile client sends it.
        content = raw if raw is not None else json.dumps(body, ensure_ascii=True).encode()
        headers = {**w.as_(who), "Content-Type": "application/json"}
        url = f"/api/incidents/{quote(incident, safe='')}/ack"
        answer = w.client.post(url, content=content, headers=headers)
        check_answer(answer, (url, who, body, raw))

    one()
