"""The table of detectors' learned state per rule and device (decision 0068): what an anomaly or
plant rule learned of a device survives a monitor's restart and moves with the device when
another monitor worker takes it over. The blob's meaning belongs to the monitor room."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base


class DetectorState(Base):
    """One device's packed detector state under one rule, as last saved."""

    __tablename__ = "detector_states"

    rule_ref: Mapped[str] = mapped_column(String(120), primary_key=True)
    device_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Which layout the blob is packed in (kind, metrics, detector parameters, array shapes).
    layout_key: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]
    #: When the model (the evaluator, or a fit on stored readings) that learned it was made:
    #: a state of an older model of the rule does not replace it (decision 0076). None for
    #: states saved before this was kept.
    model_at: Mapped[datetime | None]
    state: Mapped[bytes] = mapped_column(LargeBinary)
