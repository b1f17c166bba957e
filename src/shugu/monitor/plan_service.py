"""An enterprise's inspection plans: listed, validated and saved, deleted.

A plan may name alarm rules; only the profile defaults and the enterprise's own rules are open
to it, and another enterprise's rule is refused exactly as a rule that does not exist. Callers
have already authorised the enterprise (or use ``plan_enterprise`` to find it for a plan id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.domain.tenancy import Access
from shugu.monitor.rounds import InspectionPlan, validate_plan
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import ConfigRecord

PLAN = "plan"


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """A stored plan, with its body read as a plan (None if it no longer validates: a plan
    kept before a check existed is still listed, so that it can be fixed or deleted)."""

    record: ConfigRecord
    plan: InspectionPlan | None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return str(self.record.body.get("name", f"#{self.record.id}"))


def checked_plan(monitor: Monitor, enterprise_id: int, body: Any) -> InspectionPlan:
    """The plan, if it is valid and names only rules open to the enterprise."""
    plan = validate_plan(body)
    for index, check in enumerate(plan.checks):
        if check.rule is not None and not monitor.rule_open_to(check.rule, enterprise_id):
            raise ValidationError(
                f"checks.{index}.rule: there is no rule {check.rule!r}",
                code="plan_invalid",
                field=f"checks.{index}.rule",
            )
    return plan


def _read(record: ConfigRecord) -> PlanEntry:
    try:
        return PlanEntry(record, validate_plan(record.body))
    except ShuguError:
        return PlanEntry(record, None)


def list_plans(registry: Registry, enterprise_id: int) -> list[PlanEntry]:
    """The enterprise's plans, oldest first."""
    return [_read(record) for record in registry.list_configs(PLAN, [enterprise_id])]


def get_plan(registry: Registry, enterprise_id: int, plan_id: int) -> PlanEntry:
    """One plan of the enterprise; a plan of another enterprise is one that does not exist."""
    record = registry.get_config(plan_id, PLAN)
    if record.enterprise_id != enterprise_id:
        raise NotFoundError("no such inspection plan")
    return _read(record)


def plan_enterprise(registry: Registry, access: Access, plan_id: int) -> int:
    """The enterprise of a plan the caller may know of (404 otherwise, as for a missing one);
    what the caller may do with it is the caller's scope check."""
    record = registry.get_config(plan_id, PLAN)
    if record.enterprise_id is None or not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such inspection plan")
    return record.enterprise_id


def create_plan(
    registry: Registry, monitor: Monitor, enterprise_id: int, body: Any
) -> ConfigRecord:
    registry.get_enterprise(enterprise_id)
    plan = checked_plan(monitor, enterprise_id, body)
    return registry.put_config(PLAN, enterprise_id, plan.model_dump(mode="json"))


def replace_plan(registry: Registry, monitor: Monitor, plan_id: int, body: Any) -> ConfigRecord:
    record = registry.get_config(plan_id, PLAN)
    assert record.enterprise_id is not None  # plans always belong to an enterprise
    plan = checked_plan(monitor, record.enterprise_id, body)
    return registry.put_config(
        PLAN, record.enterprise_id, plan.model_dump(mode="json"), config_id=plan_id
    )


def delete_plan(registry: Registry, plan_id: int) -> None:
    """Delete a plan and, with it, its rounds."""
    registry.delete_config(plan_id, PLAN)
