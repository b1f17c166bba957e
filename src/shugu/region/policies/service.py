"""Policies for routes and pages: the policies in force (shipped ones and the bureau's saved
versions), an enterprise's matches, a policy's reach and total cost, grant batches from compute to
approval, objections and their resolution, innovation points.

Who may do what is checked here, once, for the API and the console alike (``rights.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from shugu.analytics.engine import FactEngine
from shugu.domain.errors import ValidationError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import CHINA_TZ
from shugu.region.policies import rights
from shugu.region.policies.formulas import Inputs, Line, wan
from shugu.region.policies.matching import Match, match
from shugu.region.policies.model import Policy, parse_policy
from shugu.region.policies.points import Model, Score, load_model, ranking, score
from shugu.region.policies.seed import Seed, load_seed
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.region_policies import (
    GrantBatchRecord,
    GrantLineRecord,
    NewGrantLine,
)

FactsOf = Callable[[int], dict[str, object]]
#: Many enterprises' facts at once, by id (district-wide questions read the registry once).
FactsOfMany = Callable[[Sequence[int]], dict[int, dict[str, object]]]
#: The day each of an enterprise's devices first sent data (devices that never did left out).
FirstDataOf = Callable[[int], list[date]]
MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    policy: Policy
    #: 0: the definition shipped with shugu; 1 and up: the bureau's saved versions.
    version: int
    saved_by: str | None
    saved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reach:
    """A policy across the enterprises the caller may see: who qualifies, for how much."""

    entry: PolicyEntry
    qualifying: tuple[Match, ...]
    nearly: tuple[Match, ...]
    total_wan: float


def engine_first_data(registry: Registry, engine: FactEngine) -> FirstDataOf:
    """First data per device from the analytics engine's record of each device's first hour."""

    def first_data(enterprise_id: int) -> list[date]:
        ids = [d.id for d in registry.list_devices(enterprise_id)]
        if not ids:
            return []
        hours = engine.first_seen(np.array(ids, dtype=np.int64))
        never = np.iinfo(np.int64).max
        return [
            datetime.fromtimestamp(int(ms) / 1000, CHINA_TZ).date() for ms in hours if ms != never
        ]

    return first_data


def line_json(line: Line) -> dict[str, Any]:
    return {"zh": line.zh, "en": line.en, "amount_wan": line.amount_wan, "depth": line.depth}


def _text(value: str, field: str, code: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_REASON or any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise ValidationError(
            f"{field}: 1 to {MAX_REASON} characters of text", code=code, field=field
        )
    return text


class PolicyService:
    def __init__(
        self,
        registry: Registry,
        facts_of: FactsOf,
        first_data_of: FirstDataOf,
        *,
        seed: Seed | None = None,
        model: Model | None = None,
        facts_of_many: FactsOfMany | None = None,
        today: Callable[[], date] = lambda: datetime.now(CHINA_TZ).date(),
    ) -> None:
        self.registry = registry
        self._facts_of = facts_of
        self._first_data_of = first_data_of
        self._facts_of_many = facts_of_many
        self.seed = seed if seed is not None else load_seed()
        self.model = model if model is not None else load_model()
        self._today = today

    # -- policies ---------------------------------------------------------------------------

    def policies(self) -> list[PolicyEntry]:
        """Every policy in force: the newest saved version, else the shipped definition."""
        entries = {p.code: PolicyEntry(p, 0, None, None) for p in self.seed.policies}
        for code, saved in self.registry.latest_policy_versions().items():
            entries[code] = PolicyEntry(
                parse_policy(saved.definition), saved.version, saved.saved_by, saved.saved_at
            )
        return sorted(entries.values(), key=lambda e: e.policy.code)

    def policy(self, code: str) -> PolicyEntry:
        for entry in self.policies():
            if entry.policy.code == code:
                return entry
        raise missing("policy")

    def save_policy(
        self, access: Access, body: object, by: str, *, code: str | None = None
    ) -> PolicyEntry:
        """A new policy (``code`` None) or a new version of one; the bureau's alone."""
        rights.require_bureau(access)
        policy = parse_policy(body, code=code)
        if code is not None:
            self.policy(code)  # editing needs the policy to exist
        saved = self.registry.save_policy_version(policy.code, policy.definition, by)
        return PolicyEntry(policy, saved.version, saved.saved_by, saved.saved_at)

    def versions(self, code: str) -> list[PolicyEntry]:
        shipped = [PolicyEntry(p, 0, None, None) for p in self.seed.policies if p.code == code]
        saved = [
            PolicyEntry(parse_policy(v.definition), v.version, v.saved_by, v.saved_at)
            for v in self.registry.policy_versions(code)
        ]
        if not shipped and not saved:
            raise missing("policy")
        return shipped + saved

    # -- matching ---------------------------------------------------------------------------

    def inputs(self, enterprise_id: int) -> Inputs:
        return Inputs(self._facts_of(enterprise_id), tuple(self._first_data_of(enterprise_id)))

    def _facts_many(self, enterprise_ids: Sequence[int]) -> dict[int, dict[str, object]]:
        if self._facts_of_many is None:
            return {e: self._facts_of(e) for e in enterprise_ids}
        return self._facts_of_many(enterprise_ids)

    def for_enterprise(self, access: Access, enterprise_id: int) -> list[Match]:
        """Each policy against the enterprise: qualifying first (largest amount first), then
        nearly qualifying, then the rest."""
        rights.read_enterprise(access, self.registry, enterprise_id)
        inputs = self.inputs(enterprise_id)
        found = [
            match(e.policy, enterprise_id, inputs, self.seed.nearness) for e in self.policies()
        ]
        order = {"qualifies": 0, "nearly": 1, "no": 2}
        return sorted(found, key=lambda m: (order[m.status], -(m.amount_wan or 0.0)))

    def reach(self, access: Access, code: str) -> Reach:
        entry = self.policy(code)
        rights.require_overseer(access)
        return self._reach(entry, rights.overseen_enterprises(access, self.registry))

    def _reach(self, entry: PolicyEntry, enterprise_ids: Sequence[int]) -> Reach:
        facts = self._facts_many(enterprise_ids)
        matches = [
            match(
                entry.policy,
                e,
                Inputs(facts[e], tuple(self._first_data_of(e))),
                self.seed.nearness,
            )
            for e in enterprise_ids
            if e in facts
        ]
        qualifying = sorted(
            (m for m in matches if m.status == "qualifies"),
            key=lambda m: (-(m.amount_wan or 0.0), m.enterprise_id),
        )
        nearly = tuple(m for m in matches if m.status == "nearly")
        total = wan(sum(m.amount_wan or 0.0 for m in qualifying))
        return Reach(entry, tuple(qualifying), nearly, total)

    # -- granted without applying (免申即享) -------------------------------------------------

    def compute_batch(self, access: Access, code: str, by: str) -> GrantBatchRecord:
        """The list the policy pays without applying, frozen: every qualifying enterprise of the
        district with its amount, explanation and the facts used."""
        rights.require_bureau(access)
        entry = self.policy(code)
        if entry.policy.redeem != "granted":
            raise ValidationError(
                "only a policy granted without applying (redeem: granted) is paid from a batch",
                code="policy_not_granted",
                field="code",
            )
        ids = [e.id for e in self.registry.list_enterprises()]
        reach = self._reach(entry, ids)
        lines = [
            NewGrantLine(
                m.enterprise_id,
                m.amount_wan or 0.0,
                [line_json(line) for line in m.benefit.lines],
                dict(m.benefit.used),
            )
            for m in reach.qualifying
        ]
        return self.registry.add_grant_batch(code, entry.version, lines, by)

    def batches(self, access: Access) -> list[GrantBatchRecord]:
        rights.require_bureau(access)
        return self.registry.list_grant_batches()

    def batch(self, access: Access, batch_id: int) -> GrantBatchRecord:
        rights.require_bureau(access)
        return self.registry.get_grant_batch(batch_id)

    def decide(
        self,
        access: Access,
        batch_id: int,
        by: str,
        *,
        approve: bool,
        objection_days: int | None = None,
    ) -> GrantBatchRecord:
        rights.require_bureau(access)
        days = self.seed.objection_days if objection_days is None else objection_days
        if not 1 <= days <= 365:
            raise ValidationError(
                "objection_days: 1 to 365", code="objection_days_invalid", field="objection_days"
            )
        until = self._today() + timedelta(days=days)
        return self.registry.decide_grant_batch(
            batch_id, by, approve=approve, objections_until=until if approve else None
        )

    def entitlements(self, access: Access, enterprise_id: int) -> list[GrantLineRecord]:
        rights.read_enterprise(access, self.registry, enterprise_id)
        return self.registry.grant_lines_of(enterprise_id)

    def object(self, access: Access, line_id: int, by: str, reason: str) -> GrantLineRecord:
        """The enterprise's administrators object to its entitlement, with a reason."""
        line = self._visible_line(access, line_id)
        rights.require_filer(access, line.enterprise_id)
        text = _text(reason, "reason", "objection_reason_invalid")
        return self.registry.object_to_grant_line(line_id, by, text, self._today())

    def resolve(
        self,
        access: Access,
        line_id: int,
        by: str,
        *,
        upheld: bool,
        amount_wan: float | None,
        note: str,
    ) -> GrantLineRecord:
        """The bureau's answer: upheld (a new amount, 0 or none to remove) or rejected; both
        with a note."""
        line = self.registry.get_grant_line(line_id)
        if not access.can_see_enterprise(line.enterprise_id):
            raise missing("entitlement")
        rights.require_bureau(access)
        text = _text(note, "note", "resolution_note_invalid")
        if amount_wan is not None and not (0 <= amount_wan <= 1_000_000):
            raise ValidationError(
                "amount_wan: 0 to 1,000,000", code="amount_invalid", field="amount_wan"
            )
        if not upheld and amount_wan is not None:
            raise ValidationError(
                "a rejected objection leaves the amount as it is; send no amount_wan",
                code="amount_invalid",
                field="amount_wan",
            )
        return self.registry.resolve_grant_objection(
            line_id, by, upheld=upheld, amount_wan=amount_wan, note=text
        )

    def _visible_line(self, access: Access, line_id: int) -> GrantLineRecord:
        line = self.registry.get_grant_line(line_id)
        if line.batch_status != "approved" or not access.can_see_enterprise(line.enterprise_id):
            raise missing("entitlement")
        if not rights.may_read(access, line.enterprise_id):
            rights.read_enterprise(access, self.registry, line.enterprise_id)
        return line

    # -- innovation points ------------------------------------------------------------------

    def points(self, access: Access, enterprise_id: int) -> Score:
        rights.read_enterprise(access, self.registry, enterprise_id)
        return score(self.model, enterprise_id, self._facts_of(enterprise_id))

    def points_ranking(self, access: Access) -> list[Score]:
        rights.require_overseer(access)
        ids = rights.overseen_enterprises(access, self.registry)
        facts = self._facts_many(ids)
        return ranking([score(self.model, e, facts[e]) for e in ids if e in facts])
