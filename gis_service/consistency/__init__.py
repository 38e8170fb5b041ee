"""Consistency of a plan with the approved plans above it: land use, rule limits, red lines, protected land."""

from gis_service.consistency.check import (
    ConsistencyFinding,
    ConsistencyReport,
    PlanRef,
    approved_version_id,
    check_consistency,
    higher_plan_for,
    plan_version_id,
)

__all__ = [
    "ConsistencyFinding",
    "ConsistencyReport",
    "PlanRef",
    "approved_version_id",
    "check_consistency",
    "higher_plan_for",
    "plan_version_id",
]
