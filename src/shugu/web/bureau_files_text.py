"""How the enterprise-file pages name things: facts, figures, tiers, tags, certifications, size
classes and standings in the user's language. Names that come with the data (facts, tiers, tags,
the import sheets' headers) are taken from it; the rest are catalog messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shugu.domain.classification import NBS_CATEGORIES, NbsCategory
from shugu.region.conditions import Shortfall
from shugu.region.files import imports
from shugu.region.files.tags import load_tags
from shugu.region.files.text import fact_label, fact_value, shortfall_text
from shugu.region.files.tiers import tier_defs
from shugu.web.i18n import N_

#: What the platform measures, in the order the file shows it.
MEASURED_FACTS: Final = (
    "devices_registered",
    "devices_connected",
    "connected_share",
    "online_share",
    "connected_since",
    "energy_kwh_12m",
    "loom_efficiency_month",
    "kwh_per_unit_month",
    "energy_per_unit_quartile",
)
#: MIIT 2011 size classes (大型, 中型, 小型, 微型).
SIZE_LABELS: Final = {
    "large": N_("Large"),
    "medium": N_("Medium-sized"),
    "small": N_("Small"),
    "micro": N_("Micro"),
}
STANDING_LABELS: Final = {
    "held": N_("Holds it"),
    "qualifies": N_("Qualifies"),
    "close": N_("Close to it"),
    "far": N_("Far from it"),
}


@dataclass(frozen=True, slots=True)
class NbsGroup:
    top: NbsCategory
    middle: list[NbsCategory]


def nbs_choices() -> list[NbsGroup]:
    """The NBS 2021 categories as the filter offers them: each top category with its middle
    ones."""
    groups: list[NbsGroup] = []
    for category in NBS_CATEGORIES.values():
        if category.is_top:
            groups.append(NbsGroup(category, []))
        elif groups:
            groups[-1].middle.append(category)
    return groups


def _trimmed(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


@dataclass(frozen=True, slots=True)
class FileText:
    """Names in one language ("zh" or "en") for the templates."""

    lang: str

    def fact(self, name: str) -> str:
        return fact_label(name, self.lang)

    def value(self, name: str, value: object) -> str:
        if value is None:
            return "—"
        return fact_value(name, value, self.lang)

    def figure(self, name: str) -> str:
        """A yearly figure's name with its unit, as the import sheet heads it."""
        return imports.YEARLY_FIGURES.column(name).header("zh" if self.lang == "zh" else "en")

    def figure_value(self, value: float | int | None) -> str:
        """A figure for reading: thousands grouped, at most two decimals."""
        if value is None:
            return "—"
        return _trimmed(f"{value:,.2f}")

    def figure_input(self, value: float | int | None) -> str:
        """A figure as a form field holds it: no grouping, no float noise (193.2, not
        193.20000000000002)."""
        if value is None:
            return ""
        return _trimmed(f"{value:.4f}")

    def tier(self, key: str) -> str:
        return next((d.label(self.lang) for d in tier_defs() if d.key == key), key)

    def tag(self, key: str) -> str:
        return next((t.label(self.lang) for t in load_tags() if t.key == key), key)

    def certification(self, kind: str) -> str:
        """A certification as the bureau writes it (高企); in English, the tier it names."""
        if self.lang == "zh":
            return kind
        return next((d.label_en for d in tier_defs() if d.certification == kind), kind)

    def nbs(self, code: str | None) -> str:
        if not code:
            return "—"
        category = NBS_CATEGORIES.get(code)
        return f"{code} {category.name_zh}" if category else code

    def shortfall(self, shortfall: Shortfall) -> str:
        return shortfall_text(shortfall, self.lang)
