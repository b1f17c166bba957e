"""Running inspection rounds: on demand and at each plan's times of day."""

from __future__ import annotations

import asyncio
import logging

from shugu.domain.errors import ShuguError
from shugu.domain.timeutil import utc_datetime, utc_now_ms
from shugu.monitor.model import CheckOutcome, RoundRecord
from shugu.monitor.rounds import (
    InspectionPlan,
    Latest,
    due_slots,
    result_to_json,
    round_record,
    run_round,
    validate_plan,
)
from shugu.monitor.rules import RuleSpec
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import RoundRow
from shugu.store.telemetry import TelemetryStore

log = logging.getLogger(__name__)

SCHEDULE_EVERY_S = 20.0
#: After a restart, scheduled times missed by less than this still run (late, marked by time).
CATCH_UP_MS = 10 * 60_000


class RoundService:
    def __init__(self, registry: Registry, store: TelemetryStore, monitor: Monitor) -> None:
        self._registry = registry
        self._store = store
        self._monitor = monitor
        self._checked_until = utc_now_ms() - CATCH_UP_MS

    def _latest(self, device_ids: list[int]) -> Latest:
        table = self._store.latest(device_ids)
        devices = table.column("device").to_pylist()
        metrics = table.column("metric").to_pylist()
        ts = table.column("ts").to_pylist()
        values = table.column("value").to_pylist()
        return {(d, m): (t, v) for d, m, t, v in zip(devices, metrics, ts, values, strict=True)}

    def run(
        self,
        plan_id: int,
        *,
        trigger: str = "manual",
        by: str | None = None,
        slot: str | None = None,
        at_ms: int | None = None,
    ) -> RoundRow | None:
        """Evaluate a plan now and keep the round; None if its slot ran elsewhere already."""
        record = self._registry.get_config(plan_id, "plan")
        assert record.enterprise_id is not None
        plan = validate_plan(record.body)
        now = at_ms if at_ms is not None else utc_now_ms()
        devices = [
            d
            for d in self._monitor.engine.devices.values()
            if d.enterprise_id == record.enterprise_id
        ]
        latest = self._latest([d.id for d in devices])
        enterprise_id = record.enterprise_id

        def rule_of(ref: str, device_id: int) -> RuleSpec | None:
            # Checked again here, not only when the plan is saved: a plan kept before that
            # check existed may name another enterprise's rule, and must not show it.
            if not self._monitor.rule_open_to(ref, enterprise_id):
                return None
            return self._monitor.rule_of(ref, device_id)

        results = run_round(plan, enterprise_id, devices, latest, now, rule_of)
        failed = sum(1 for r in results if r.outcome is CheckOutcome.failed)
        return self._registry.add_round(
            plan_id,
            record.enterprise_id,
            utc_datetime(now),
            slot=slot,
            trigger=trigger,
            by=by,
            failed=failed,
            results=[result_to_json(r) for r in results],
        )

    def record(self, row: RoundRow) -> RoundRecord:
        """A stored round as the report writers take it."""
        plan = self._registry.get_config(row.plan_id, "plan")
        name = str(plan.body.get("name", f"#{row.plan_id}"))
        enterprise = self._registry.get_enterprise(row.enterprise_id).name
        return round_record(
            row.id,
            row.plan_id,
            name,
            row.enterprise_id,
            enterprise,
            row.at,
            row.trigger,
            row.by,
            row.results,
        )

    def run_due(self, now_ms: int | None = None) -> list[RoundRow]:
        """Run every plan's scheduled times that have come since the last call."""
        now = now_ms if now_ms is not None else utc_now_ms()
        after, self._checked_until = self._checked_until, now
        done: list[RoundRow] = []
        for record in self._registry.list_configs("plan"):
            try:
                plan: InspectionPlan = validate_plan(record.body)
                rows = [
                    self.run(record.id, trigger="schedule", slot=slot)
                    for slot, _at_ms in due_slots(plan, after, now)
                ]
            except ShuguError as exc:
                # One broken plan (a rule it names was deleted) must not stop the others.
                log.error("inspection plan %d cannot run: %s", record.id, exc.message)
                continue
            for row in rows:
                if row is not None:
                    done.append(row)
                    log.info(
                        "inspection round %s of plan %d: %d failed", row.slot, record.id, row.failed
                    )
        return done

    async def schedule(self) -> None:
        """Run scheduled rounds for as long as the process lives."""
        while True:
            try:
                await asyncio.to_thread(self.run_due)
            except Exception:
                # A broken plan or a registry hiccup must not end the schedule of every plan.
                log.exception("scheduled inspection rounds failed; trying again shortly")
            await asyncio.sleep(SCHEDULE_EVERY_S)
