"""Enterprise tags (企业标签) as data: each tag a condition over the enterprise's facts, read from
``tags.yaml``. An enterprise carries every tag whose condition holds; facts it lacks never earn a
tag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from shugu.region.conditions import Condition, evaluate, parse_condition


@dataclass(frozen=True, slots=True)
class TagRule:
    key: str
    label_zh: str
    label_en: str
    condition: Condition
    #: The condition as written, for showing the rule.
    source: Any

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


def parse_tags(data: Any) -> tuple[TagRule, ...]:
    rules: list[TagRule] = []
    for i, item in enumerate(data["tags"]):
        where = f"tags[{i}].when"
        rules.append(
            TagRule(
                str(item["key"]),
                str(item["zh"]),
                str(item["en"]),
                parse_condition(item["when"], field=where),
                item["when"],
            )
        )
    keys = [r.key for r in rules]
    if len(set(keys)) != len(keys):
        raise ValueError("tags.yaml names a tag twice")
    return tuple(rules)


@cache
def load_tags() -> tuple[TagRule, ...]:
    """The tag rules shipped with shugu (``region/files/tags.yaml``)."""
    text = resources.files(__package__).joinpath("tags.yaml").read_text(encoding="utf-8")
    return parse_tags(yaml.safe_load(text))


def tag_keys() -> frozenset[str]:
    return frozenset(r.key for r in load_tags())


def tags_of(facts: Mapping[str, object], rules: tuple[TagRule, ...] | None = None) -> list[str]:
    """The keys of the tags whose conditions hold over ``facts``, in the rules' order."""
    return [r.key for r in (rules or load_tags()) if evaluate(r.condition, facts).ok]
