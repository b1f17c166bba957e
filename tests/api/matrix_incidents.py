"""Route-matrix rows of incidents (事件): read like B's alarms (B's values), acknowledged like
them (B's people, or the operator with B's consent; the bureau only reads)."""

from __future__ import annotations

from datetime import UTC, datetime

from shugu.store.registry.incidents import IncidentWrite
from tests.api.conftest import World
from tests.api.matrix_rows import B_MANAGE_VALUES, B_VALUES, Row


def _b_incident(w: World) -> dict[str, int]:
    now = datetime.now(UTC)
    alarm = w.registry.open_alarm(
        "crah.offline", w.device_b, w.ent_b, "major", now, None, {"kind": "no_data"}
    )
    assert alarm is not None
    (incident,) = w.registry.write_incidents(
        [IncidentWrite(None, w.ent_b, "open", "major", now, alarm.id, 1, (alarm.id,))]
    )
    return {"incident": incident.id}


INCIDENT_ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/api/incidents"): Row(lambda w: f"/api/incidents?enterprise={w.ent_b}", B_VALUES),
    ("GET", "/api/incidents/{incident_id}"): Row(
        lambda w: "/api/incidents/{incident}", B_VALUES, setup=_b_incident
    ),
    ("POST", "/api/incidents/{incident_id}/ack"): Row(
        lambda w: "/api/incidents/{incident}/ack",
        B_MANAGE_VALUES,
        lambda w: {"note": "在处理"},
        setup=_b_incident,
    ),
}
