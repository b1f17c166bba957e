"""Appeal categories (with the days to a first answer and to closing the bureau aims for) and
the departments appeals are assigned to, as data (``catalogue.yaml``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shugu.store.registry.models_projects import APPEAL_CATEGORIES

CATALOGUE_PATH: Final = Path(__file__).with_name("catalogue.yaml")


class Department(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class Category(Department):
    answer_days: int = Field(ge=1, le=365)
    close_days: int = Field(ge=1, le=365)


class AppealCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    categories: tuple[Category, ...]
    departments: tuple[Department, ...]

    @model_validator(mode="after")
    def _keys(self) -> AppealCatalogue:
        if tuple(c.key for c in self.categories) != APPEAL_CATEGORIES:
            raise ValueError(f"categories must be {APPEAL_CATEGORIES}, in that order")
        keys = [d.key for d in self.departments]
        if len(set(keys)) != len(keys):
            raise ValueError("department keys must differ")
        return self

    def category(self, key: str) -> Category:
        return next(c for c in self.categories if c.key == key)

    def department(self, key: str) -> Department | None:
        return next((d for d in self.departments if d.key == key), None)

    def category_label(self, key: str, lang: str) -> str:
        return self.category(key).label(lang) if key in APPEAL_CATEGORIES else key

    def department_label(self, key: str | None, lang: str) -> str:
        found = self.department(key) if key else None
        return found.label(lang) if found else (key or "")


@functools.cache
def appeal_catalogue() -> AppealCatalogue:
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return AppealCatalogue.model_validate(raw)
