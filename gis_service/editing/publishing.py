"""The life of a plan version through the API: start a draft from the approved version, record the approval
decision and publish (draft -> approved, previous approved -> superseded), then rebuild the 3D tiles in the background.

Everything runs in the caller's transaction and goes through :mod:`~gis_service.editing.history` (history with user
and reason); the tile job is queued in the same transaction, so it exists exactly when the publication does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.editing.history import change_context, editable_columns, update_feature
from gis_service.editing.plans import PlanVersion, list_plans, publish_plan
from gis_service.errors import NotFound, ReadOnly, ValidationError
from gis_service.jobs import LOOKUP_PREPARE, TILES_REBUILD, Job, enqueue
from gis_service.model import PLAN_LAYERS as CATALOGUE_PLAN_LAYERS
from gis_service.notices.events import version_published

__all__ = ["PLAN_LAYERS", "publish_with_decision", "start_draft"]

#: Advisory lock namespace of starting a draft (first key of pg_advisory_xact_lock(int, int); the second: the code's
#: hash). Distinct from the jobs' (gis_service.jobs) and the zone partitions' (9214).
DRAFT_LOCK_CLASS = 7302

#: The layers whose features belong to a plan version and are copied into a new draft.
PLAN_LAYERS = CATALOGUE_PLAN_LAYERS


def start_draft(conn: Connection, code: str, *, user: str, reason: str) -> PlanVersion:
    """A new draft version of plan ``code``, a copy of its approved version (zones, red lines, building lines).

    Raises
    ------
    NotFound
        No plan with that code, or it has no approved version to start from.
    ReadOnly
        The plan has a draft already (edit that one, or publish it first); also when another planner started one
        at the same moment: the second start waits for the first to commit, then finds its draft.
    """
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:code))"), {"c": DRAFT_LOCK_CLASS, "code": code})
    versions = list_plans(conn, code=code)
    if not versions:
        raise NotFound(f"no plan with code {code!r}")
    draft = next((v for v in versions if v.status == "draft"), None)
    if draft is not None:
        raise ReadOnly(f"plan {code} has a draft already (version {draft.version}): edit it, or publish it first")
    approved = next((v for v in versions if v.status == "approved"), None)
    if approved is None:
        raise NotFound(f"plan {code} has no approved version to start a draft from")
    next_version = max(v.version for v in versions) + 1
    # Plan columns copied as they are, but for the bookkeeping of a new version.
    fresh = {"status", "version", "based_on_id", "decision_no", "decision_date"}
    plan_cols = [c for c in editable_columns(conn, "plans") if c not in fresh]
    with change_context(conn, user=user, reason=reason):
        new_id = conn.execute(
            sa.text(
                f"INSERT INTO planning.plans ({', '.join(plan_cols)}, status, version, based_on_id) "  # noqa: S608
                f"SELECT {', '.join(plan_cols)}, 'draft', :v, id FROM planning.plans WHERE id = :id RETURNING id"
            ),
            {"v": next_version, "id": approved.id},
        ).scalar_one()
        for layer in PLAN_LAYERS:
            cols = [c for c in editable_columns(conn, layer) if c != "plan_id"]
            conn.execute(
                sa.text(
                    f"INSERT INTO planning.{layer} (plan_id, {', '.join(cols)}) "  # noqa: S608 (names: catalog)
                    f"SELECT :new, {', '.join(cols)} FROM planning.{layer} WHERE plan_id = :old ORDER BY id"
                ),
                {"new": new_id, "old": approved.id},
            )
    return next(v for v in list_plans(conn, code=code) if v.id == new_id)


def publish_with_decision(
    conn: Connection,
    code: str,
    *,
    decision_no: str | None,
    decision_date: date | None,
    approving_authority: str | None = None,
    version: int | None = None,
    user: str,
    reason: str,
) -> tuple[PlanVersion, PlanVersion | None, Job]:
    """Record the approval decision on the draft, publish it, and queue the rebuild of the 3D tiles.

    Returns ``(published, superseded or None, tile job)``.
    """
    drafts = [
        v for v in list_plans(conn, code=code) if v.status == "draft" and (version is None or v.version == version)
    ]
    if not drafts:
        publish_plan(conn, code, version=version, user=user, reason=reason)  # raises the precise NotFound
        raise NotFound(f"plan {code} has no draft to publish")
    draft = drafts[-1]
    decision: dict[str, Any] = {}
    if decision_no is not None:
        if not decision_no.strip():
            raise ValidationError("decision_no is empty: give the number of the approval decision (số quyết định)")
        decision["decision_no"] = decision_no.strip()
    if decision_date is not None:
        decision["decision_date"] = decision_date
    if approving_authority is not None:
        decision["approving_authority"] = approving_authority
    if decision:
        update_feature(conn, "plans", draft.id, decision, user=user, reason=reason)
    published, superseded = publish_plan(conn, code, version=draft.version, user=user, reason=reason)
    version_published(conn, published.id, superseded.id if superseded else None)  # queues the notices to subscribers
    job = enqueue(
        conn,
        TILES_REBUILD,
        {"plan": code, "published_id": published.id, "superseded_id": superseded.id if superseded else None},
        created_by=user,
    )
    enqueue(conn, LOOKUP_PREPARE, {"plan": code, "published_id": published.id}, created_by=user)
    return published, superseded, job
