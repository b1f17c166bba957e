"""Fuzz cases for the configuration codecs: alarm rules (an enterprise's rule and a device's
override, as the API takes them, then run by the rule engine) and device profiles (YAML, with
their default rules). District YAML and the anomaly CSV are in bench/fuzz_files.py.

Documents start from real ones (the shipped profiles and their rules) and are mutated: fields
set to values of the wrong type, NaN, huge numbers, odd strings; fields removed or added; the
encoded text cut, bit-flipped, nested deeply or aliased.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from argon2 import PasswordHasher
from hypothesis import strategies as st

from bench.fuzz_cases import (
    ACCEPTED,
    Codec,
    Verdict,
    hostile_numbers,
    hostile_text,
    mixture,
    mutate,
    unexplained,
)
from bench.fuzz_notify import CODECS as NOTIFY_CODECS
from shugu.domain.batch import Batch
from shugu.domain.errors import ShuguError, ValidationError
from shugu.domain.profiles import PlantRole, load_profiles, parse_profile
from shugu.monitor.config import check_custom_rule
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine, describe
from shugu.monitor.plant_history import fit_on_history
from shugu.monitor.rules import OVERRIDABLE, RuleKind, RuleSpec, default_rules, validate_rule
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

PROFILES = load_profiles()
PROFILE_NAMES = sorted(PROFILES)
METRIC_NAMES = sorted({m for p in PROFILES.values() for m in p.metrics})
#: The shipped rules, and a plant model judged against a condition (no profile ships one).
RULE_TEMPLATES = [rule.model_dump(mode="json") for _, rule in default_rules().values()] + [
    {
        "key": "plant_model", "kind": "plant", "label_zh": "冷却塔运行异常",
        "label_en": "Tower off its normal running", "fit_points": 2880,
        "metrics": ["cold_water_c", "fan_speed_pct"], "conditions": ["wet_bulb_c"],
    },
    {
        "key": "plant_history", "kind": "plant", "label_zh": "织机运行异常",
        "label_en": "Loom off its normal running", "fit_points": 8,
        "metrics": ["speed_rpm", "power_kw"], "fit_from": 1_799_990_000_000,
    },
]  # fmt: skip
RULE_FIELDS = sorted(RuleSpec.model_fields)
NUMERIC_RULE_FIELDS = {
    name
    for name, info in RuleSpec.model_fields.items()
    if info.annotation in (float, float | None, int | None)
}


def _deep_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


py_scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text)
py_values: st.SearchStrategy[Any] = st.one_of(
    st.recursive(
        py_scalars,
        lambda kids: st.one_of(
            st.lists(kids, max_size=3), st.dictionaries(hostile_text, kids, max_size=3)
        ),
        max_leaves=8,
    ),
    st.integers(1, 200).map(_deep_list),
)


# -- alarm rules ----------------------------------------------------------------------------


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """Arithmetic over metric names, and everything else Python's grammar allows."""
    kind = draw(st.integers(0, 9)) if depth < 4 else 0
    if kind <= 3:
        return draw(
            mixture(
                (6, st.sampled_from(METRIC_NAMES)),
                (1, st.sampled_from(["abs", "min", "max", "x", "True", "None", "__import__"])),
                (
                    1,
                    st.sampled_from(["1", "0", "1e999", "-0.0", "0x10", "1_0", "1j", "'s'", "..."]),
                ),
            )
        )
    if kind <= 5:
        op = draw(st.sampled_from(["+", "-", "*", "/", "/", "**", "%", "//", "@", "<", "and", "|"]))
        return f"{draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))}"
    if kind == 6:
        return draw(st.sampled_from(["-", "+", "not ", "~"])) + draw(expressions(depth + 1))
    if kind == 7:
        function = draw(st.sampled_from(["abs", "min", "max", "max", "foo", "print"]))
        args = draw(st.lists(expressions(depth + 1), max_size=3))
        if not draw(st.integers(0, 5)):
            args.append("key=1")
        return f"{function}({', '.join(args)})"
    if kind == 8:
        return f"({draw(expressions(depth + 1))})"
    return draw(
        st.one_of(
            st.sampled_from(
                [
                    "x.y",
                    "x[0]",
                    "lambda: 1",
                    "[x for x in y]",
                    "x if y else z",
                    "(" * 100 + "x" + ")" * 100,
                    "-" * 190 + "x",
                    "f'{x}'",
                    "(x := 1)",
                    "x\x00",
                    "x" * 201,
                ]
            ),
            st.text(max_size=20),
        )
    )


def _rule_field(name: str) -> st.SearchStrategy[Any]:
    if name == "kind":
        specific: st.SearchStrategy[Any] = st.sampled_from([k.value for k in RuleKind])
    elif name == "expr":
        specific = expressions()
    elif name in ("metric", "running_metric"):
        specific = st.sampled_from(METRIC_NAMES)
    elif name in ("metrics", "conditions"):
        specific = st.lists(st.sampled_from(METRIC_NAMES), max_size=20)
    elif name == "into":
        specific = st.lists(st.one_of(st.integers(0, 9), hostile_numbers), max_size=4)
    elif name == "severity":
        specific = st.sampled_from(["critical", "major", "minor", "warning"])
    elif name == "fit_from":
        specific = st.one_of(
            st.integers(-(2**70), 2**70),
            st.integers(1_799_000_000_000, 1_800_100_000_000),
            st.sampled_from(
                ["2027-01-15", "2027-01-15T07:59:59Z", "2027-01-15T08:00:00+14:00", "0001-01-01",
                 "9999-12-31T23:59:59-12:00", "2027-02-30", "T", "1e3", " 1799990000000 "]
            ),
            hostile_numbers,
        )  # fmt: skip
    elif name in NUMERIC_RULE_FIELDS:
        specific = st.one_of(st.floats(-100, 1000), st.integers(0, 100), hostile_numbers)
    else:
        specific = hostile_text
    return mixture((3, specific), (1, py_values))


@st.composite
def mutated_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule = copy.deepcopy(draw(st.sampled_from(RULE_TEMPLATES)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if op == "delete":
            rule.pop(draw(st.sampled_from(RULE_FIELDS)), None)
        elif op == "add":
            rule[draw(hostile_text)] = draw(py_values)
        else:
            field = draw(st.sampled_from(RULE_FIELDS))
            rule[field] = draw(_rule_field(field))
    return rule


_IDS = st.one_of(st.sampled_from([1, 2, 3, 0, -1, 2**31, 2**63, 2**70]), hostile_numbers)
rule_scopes = mixture(
    (
        4,
        st.builds(
            lambda p: {"profile": p},
            mixture((4, st.sampled_from(PROFILE_NAMES)), (1, hostile_text)),
        ),
    ),
    (1, st.builds(lambda i: {"asset_id": i}, _IDS)),
    (1, st.builds(lambda i: {"device_id": i}, _IDS)),
    (1, st.dictionaries(st.sampled_from(["profile", "asset_id", "device_id", "x"]), py_values)),
)
rule_bodies = mixture(
    (8, st.builds(lambda r, s: {"rule": r, "scope": s}, mutated_rule(), rule_scopes)),
    (1, st.dictionaries(st.sampled_from(["rule", "scope", "extra"]), py_values)),
)
override_params = mixture(
    (
        4,
        st.dictionaries(
            st.sampled_from(sorted(OVERRIDABLE)),
            st.one_of(st.floats(0, 100), py_values),
            max_size=3,
        ),
    ),
    (1, st.dictionaries(st.sampled_from(RULE_FIELDS), py_values, max_size=2)),
)
point_values = st.lists(
    st.one_of(st.floats(-50, 150), st.floats(), st.sampled_from([0.0, 1.0, 3.0])),
    min_size=1,
    max_size=8,
)
rule_cases = st.tuples(rule_bodies, override_params, point_values)


def _non_finite_fields(rule: RuleSpec) -> list[str]:
    out = []
    for name in NUMERIC_RULE_FIELDS:
        value = getattr(rule, name)
        if isinstance(value, float) and not math.isfinite(value):
            out.append(name)
    out += ["into"] if rule.into and not all(math.isfinite(v) for v in rule.into) else []
    return out


class RuleWorld:
    """A registry with one enterprise, an asset and a loom, for rules scoped to them."""

    def __init__(self, folder: Path) -> None:
        self.registry = Registry(
            f"sqlite:///{folder / 'registry.sqlite'}",
            password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
        region = self.registry.create_region("350112", "长乐区")
        park = self.registry.create_park(region.id, "滨海工业区")
        self.enterprise = self.registry.create_enterprise(
            park.id, "长乐纺织", "91110000600037341L"
        ).id
        self.asset = self.registry.create_asset(self.enterprise, "site", "一厂区", None).id
        record, _ = self.registry.create_device(
            self.enterprise, "loom-1", "loom", asset_id=self.asset
        )
        self.device = DeviceInfo(record.id, self.enterprise, "loom-1", "loom", (self.asset,))
        self.folder = folder
        #: Opened for the first plant rule fitted on stored readings.
        self.store: DuckDBTelemetryStore | None = None

    def check(self, case: tuple[dict[str, Any], dict[str, Any], list[float]]) -> Verdict:
        """Validate the rule as the API does; run an accepted one through the rule engine."""
        body, params, values = case
        custom = check_custom_rule(self.registry, self.enterprise, body)
        rule = validate_rule(custom.rule)
        odd = _non_finite_fields(rule)
        if odd:
            return unexplained(f"a rule with non-finite {', '.join(odd)} was accepted")
        override_refused = None
        try:
            rule.with_overrides(params)
        except ShuguError as exc:
            override_refused = exc.code
        names = rule.inputs()
        ids = {name: i for i, name in enumerate(names)}
        engine = RuleEngine(ids.get)
        binding = RuleBinding("custom.1", rule, custom.scope, self.enterprise)
        engine.configure([self.device], [binding], {("custom.1", self.device.id): params})
        now = 1_800_000_000_000
        n = len(values)
        batch = Batch(
            np.full(n, self.device.id, np.int32),
            np.array([i % max(1, len(names)) for i in range(n)], np.int32),
            now - 1000 * np.arange(n, 0, -1, dtype=np.int64),
            np.array(values, np.float64),
            np.zeros(n, np.uint8),
        )
        for transition in [*engine.evaluate(batch, now), *engine.tick(now + 10**8)]:
            describe(rule, transition.value, "zh")
            describe(rule, transition.value, "en")
        if rule.kind is RuleKind.plant and rule.fit_from is not None:
            self._fit_on_history(rule, batch, names)
        if override_refused is not None:
            return Verdict("partial", (override_refused,))
        return ACCEPTED

    def _fit_on_history(self, rule: RuleSpec, batch: Batch, names: tuple[str, ...]) -> None:
        """Store the points, then fit the plant rule on them and back-test it as saving it
        would."""
        if self.store is None:
            self.store = DuckDBTelemetryStore(self.folder / "telemetry.duckdb")
        ids = self.store.metric_ids(list(names))
        stored = Batch(batch.device, ids[batch.metric], batch.ts, batch.value, batch.quality)
        self.store.submit(stored).result(30)
        fits = fit_on_history(self.store, rule, [self.device.id], int(batch.ts.max()) + 1)
        if any(f.rows > f.needed for f in fits.fits):
            raise AssertionError("a fit took more rows than it needs")
        back = fits.backtest
        if back is not None and (back.until_ms < back.from_ms or back.total_alarms > back.rows):
            raise AssertionError("a back-test read backwards or raised more alarms than rows")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.registry.close()


@contextmanager
def _rule_checker(folder: Path) -> Iterator[Any]:
    world = RuleWorld(folder)
    try:
        yield world.check
    finally:
        world.close()


# -- profile YAML ---------------------------------------------------------------------------

PROFILE_DOCS = [
    yaml.safe_load(f.read_text(encoding="utf-8"))
    for f in resources.files("shugu.domain").joinpath("profiles").iterdir()
    if f.name.endswith(".yaml")
]
YAML_SNIPPETS = [
    ": ",
    "- ",
    "\t",
    "&a ",
    "*a",
    "!!python/object/apply:os.system ['true']",
    "!!binary x",
    "? [a]\n: b\n",
    "{{",
    "]]",
    "%YAML 9.9\n---\n",
    "2001-12-14t21:59:43.10-05:00",
    "<<: *a\n",
    "\x00",
    "\ufeff",
]


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + f"\nname: *a{levels - 1}\n"


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node under ``node`` (itself excluded)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    out = []
    for key, child in items:
        out.append((*prefix, key))
        if isinstance(child, dict | list):
            out += _paths(child, (*prefix, key))
    return out


@st.composite
def mutated_tree(draw: st.DrawFn, tree: Any, leaf_values: st.SearchStrategy[Any]) -> Any:
    """A copy of a document with a few of its nodes, anywhere, set, deleted or added to."""
    doc = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        *head, key = draw(st.sampled_from(paths))
        parent = doc
        for step in head:
            parent = parent[step]
        op = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if op == "set":
            parent[key] = draw(leaf_values)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(hostile_text)] = draw(leaf_values)
        else:
            parent.append(draw(leaf_values))
    return doc


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@st.composite
def yaml_texts(draw: st.DrawFn, documents: list[Any], leaf_values: st.SearchStrategy[Any]) -> str:
    kind = draw(st.sampled_from(["tree", "tree", "text", "tree", "raw", "tree", "tree"]))
    if kind == "raw":
        return draw(
            st.one_of(
                st.text(max_size=200),
                st.integers(1, 5000).map(lambda d: "a: " + "[" * d + "]" * d),
                st.integers(1, 3000).map(lambda d: "- " * d + "x"),
                st.integers(1, 9).map(_laughs),
            )
        )
    text = _dump(draw(mutated_tree(draw(st.sampled_from(documents)), leaf_values)))
    if kind == "text":
        ops = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(("truncate", "flip", "insert", "delete", "repeat")),
                    st.integers(0, 1 << 16),
                    st.one_of(
                        st.binary(min_size=1, max_size=4),
                        st.sampled_from(YAML_SNIPPETS).map(str.encode),
                    ),
                ),
                min_size=1,
                max_size=3,
            )
        )
        text = mutate(text.encode("utf-8", "surrogatepass"), ops).decode("utf-8", "replace")
    return text


yaml_leaves = mixture(
    (3, st.one_of(hostile_text, hostile_numbers)), (1, py_values), (1, mutated_rule())
)
#: A plant role set anywhere: on a counter or a state, or in place of a unit or a label.
profile_leaves = mixture((6, yaml_leaves), (1, st.sampled_from([r.value for r in PlantRole])))
profile_cases = yaml_texts(PROFILE_DOCS, profile_leaves)


def check_profile(text: str) -> Verdict:
    """Parse a profile, then validate its default rules as loading the shipped ones does."""
    profile = parse_profile(text, "fuzz.yaml")
    for index, raw in enumerate(profile.rules):
        rule = validate_rule(dict(raw), source=f"rules[{index}]")
        for name in rule.inputs():
            if profile.strict and name not in profile.metrics:
                raise ValidationError(
                    f"rule {rule.key} reads {name!r}", code="rule_invalid", field="rules"
                )
    return ACCEPTED


@contextmanager
def _plain(check: Any) -> Iterator[Any]:
    yield check


def _profile_checker(folder: Path) -> Any:
    return _plain(check_profile)


CODECS = [
    Codec("alarm_rule", rule_cases, _rule_checker),
    Codec("profile_yaml", profile_cases, _profile_checker),
    *NOTIFY_CODECS,
]
