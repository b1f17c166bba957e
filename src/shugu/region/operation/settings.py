"""Monthly operation's settings as data (``operation.yaml``): the deadline day and the
tolerances of reported against measured figures."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field

SETTINGS_FILE: Final = Path(__file__).with_name("operation.yaml")


class Tolerances(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    power: float = Field(gt=0, le=1)
    output: float = Field(gt=0, le=1)

    def as_dict(self) -> dict[str, float]:
        return {"power": self.power, "output": self.output}


class OperationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_day: int = Field(10, ge=1, le=28)
    tolerances: Tolerances
    report_on_first_working_day: bool = True


@functools.cache
def load_settings(path: Path = SETTINGS_FILE) -> OperationSettings:
    return OperationSettings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
