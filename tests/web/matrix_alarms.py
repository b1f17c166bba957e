"""Page-matrix rows of the alarm pages: B's alarms are B's values, whether listed, read or
handled (the bureau only reads, with consent; the operator needs B's consent for all of it)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from tests.api.conftest import World
from tests.web.page_matrix import B_VALUES, PageRow

_refs = itertools.count(1)
B_VALUES_FRAGMENT = B_VALUES | {"anonymous": 401}


def b_alarm(w: World) -> dict[str, int]:
    """A fresh open alarm of B's device (a rule of its own, so that each role has one)."""
    alarm = w.registry.open_alarm(
        f"matrix.rule_{next(_refs)}", w.device_b, w.ent_b, "major", datetime.now(UTC), 1.0, {}
    )
    assert alarm is not None
    return {"alarm": alarm.id}


ROWS: list[PageRow] = [
    PageRow("GET", "/e/{enterprise_id}/alarms", lambda w, o: f"/e/{w.ent_b}/alarms", B_VALUES),
    PageRow(
        "GET",
        "/e/{enterprise_id}/alarms/table",
        lambda w, o: f"/e/{w.ent_b}/alarms/table?status=all&severity=major",
        B_VALUES_FRAGMENT,
        htmx=True,
    ),
    PageRow(
        "GET", "/alarms/{alarm_id}", lambda w, o: f"/alarms/{o['alarm']}", B_VALUES, setup=b_alarm
    ),
    PageRow(
        "GET",
        "/alarms/{alarm_id}/state",
        lambda w, o: f"/alarms/{o['alarm']}/state",
        B_VALUES_FRAGMENT,
        setup=b_alarm,
        htmx=True,
    ),
    PageRow(
        "POST",
        "/alarms/{alarm_id}/ack",
        lambda w, o: f"/alarms/{o['alarm']}/ack",
        B_VALUES,
        form=lambda w, o: {"note": "看到了"},
        setup=b_alarm,
    ),
    PageRow(
        "POST",
        "/alarms/{alarm_id}/clear",
        lambda w, o: f"/alarms/{o['alarm']}/clear",
        B_VALUES,
        form=lambda w, o: {},
        setup=b_alarm,
    ),
    PageRow(
        "POST",
        "/alarms/{alarm_id}/shelve",
        lambda w, o: f"/alarms/{o['alarm']}/shelve",
        B_VALUES,
        form=lambda w, o: {"minutes": "30", "note": "检修"},
        setup=b_alarm,
    ),
]
