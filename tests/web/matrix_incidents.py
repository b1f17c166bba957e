"""Page-matrix rows of incidents on the alarms page: B's incidents are B's alarms, read and
acknowledged as those are."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from shugu.store.registry.incidents import IncidentWrite
from tests.api.conftest import World
from tests.web.page_matrix import B_VALUES, PageRow

_refs = itertools.count(1)
B_VALUES_FRAGMENT = B_VALUES | {"anonymous": 401}


def b_incident(w: World) -> dict[str, int]:
    """A fresh open incident of one active alarm of B's device."""
    now = datetime.now(UTC)
    alarm = w.registry.open_alarm(
        f"matrix.incident_{next(_refs)}", w.device_b, w.ent_b, "major", now, 1.0, {}
    )
    assert alarm is not None
    (incident,) = w.registry.write_incidents(
        [IncidentWrite(None, w.ent_b, "open", "major", now, alarm.id, 1, (alarm.id,))]
    )
    return {"incident": incident.id}


ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/e/{enterprise_id}/alarms/incidents",
        lambda w, o: f"/e/{w.ent_b}/alarms/incidents",
        B_VALUES_FRAGMENT,
        setup=b_incident,
        htmx=True,
    ),
    PageRow(
        "POST",
        "/incidents/{incident_id}/ack",
        lambda w, o: f"/incidents/{o['incident']}/ack",
        B_VALUES,
        form=lambda w, o: {"note": "在处理"},
        setup=b_incident,
    ),
]
