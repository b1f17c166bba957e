"""An enterprise's particulars (企业特定事项): the facts policies ask about, as they stand with
who recorded each and when, their history, and recording them (a partial object; null clears).

Rights are the yearly figures': the enterprise's members, its park's official and the bureau read
them; the bureau and the enterprise's own administrators record them. Routes parse and shape;
``region/files/service.py`` authorises and ``region/files/particulars.py`` checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.region.files.particulars import PARTICULARS
from shugu.store.registry.region_particulars import ParticularRecord, ParticularValue

router = APIRouter(tags=["enterprise files"])
Lang = Literal["zh", "en"]


class ParticularOut(BaseModel):
    name: str
    label: str
    unit: str
    kind: str
    value: ParticularValue = Field(description="null: not recorded (policies see no data)")
    recorded_by: str | None
    recorded_at: dt.datetime | None


class RecordingOut(BaseModel):
    name: str
    value: ParticularValue = Field(description="null: the value was cleared")
    recorded_by: str
    recorded_at: dt.datetime


class ParticularsOut(BaseModel):
    particulars: list[ParticularOut]
    history: list[RecordingOut] = Field(description="every recording, newest first")
    recorded: int = Field(default=0, description="recordings this request made")


def _recording(r: ParticularRecord) -> RecordingOut:
    return RecordingOut(
        name=r.fact, value=r.value, recorded_by=r.recorded_by, recorded_at=r.recorded_at
    )


def _answer(
    services: ServicesDep, access: AccessDep, enterprise_id: int, lang: Lang, recorded: int = 0
) -> ParticularsOut:
    files = services.region.files
    current = files.particulars(access, enterprise_id)
    history = files.particular_history(access, enterprise_id)
    out: list[ParticularOut] = []
    for p in PARTICULARS:
        r = current.get(p.name)
        out.append(
            ParticularOut(
                name=p.name,
                label=p.label(lang),
                unit=p.unit,
                kind=p.kind,
                value=None if r is None else r.value,
                recorded_by=None if r is None else r.recorded_by,
                recorded_at=None if r is None else r.recorded_at,
            )
        )
    return ParticularsOut(
        particulars=out, history=[_recording(r) for r in history], recorded=recorded
    )


@router.get("/api/enterprises/{enterprise_id}/particulars", response_model=ParticularsOut)
def get_particulars(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    lang: Annotated[Lang, Query(description="language of labels")] = "zh",
) -> ParticularsOut:
    return _answer(services, access, enterprise_id, lang)


@router.put("/api/enterprises/{enterprise_id}/particulars", response_model=ParticularsOut)
def put_particulars(
    enterprise_id: int,
    body: dict[str, Any],
    access: AccessDep,
    services: ServicesDep,
    lang: Annotated[Lang, Query(description="language of labels")] = "zh",
) -> ParticularsOut:
    """A partial object of particular → value (a number, or true/false); null clears one, those
    left out keep their value. A value already so is not recorded again."""
    made = services.region.files.record_particulars(access, enterprise_id, body)
    return _answer(services, access, enterprise_id, lang, len(made))
