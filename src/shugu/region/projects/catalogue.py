"""The project library's vocabulary as data (``catalogue.yaml``): stages in order, project types,
when a month's report is due, the before/after window and the KPIs it compares."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shugu.store.registry.models_projects import PROJECT_STAGES, PROJECT_TYPES

CATALOGUE_PATH: Final = Path(__file__).with_name("catalogue.yaml")
SME_TYPE: Final = "sme_digital_transformation"


class Named(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class ComparedKpi(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: str
    kpi: str


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    stages: tuple[Named, ...]
    types: tuple[Named, ...]
    progress_due_day: int = Field(ge=1, le=28)
    window_months: int = Field(ge=1, le=12)
    compared_kpis: tuple[ComparedKpi, ...]

    @model_validator(mode="after")
    def _keys_are_the_registry_s(self) -> Catalogue:
        if tuple(s.key for s in self.stages) != PROJECT_STAGES:
            raise ValueError(f"stages must be {PROJECT_STAGES}, in that order")
        if {t.key for t in self.types} != set(PROJECT_TYPES):
            raise ValueError(f"types must be {PROJECT_TYPES}")
        return self

    def stage_index(self, key: str) -> int:
        return PROJECT_STAGES.index(key)

    def stage_label(self, key: str, lang: str) -> str:
        return next((s.label(lang) for s in self.stages if s.key == key), key)

    def type_label(self, key: str, lang: str) -> str:
        return next((t.label(lang) for t in self.types if t.key == key), key)


@functools.cache
def catalogue() -> Catalogue:
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return Catalogue.model_validate(raw)
