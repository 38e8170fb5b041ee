"""Plan versions: list them, publish a draft (draft -> approved, the previous approved version -> superseded).

Only approved versions are public (OGC API, tiles, lookup). Publishing goes through
:mod:`~gis_service.editing.history`, so the history names the administrator and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.as_of import today_in_hue
from gis_service.consultation.periods import close_on_publish
from gis_service.editing.history import update_feature
from gis_service.errors import NotFound, ValidationError

__all__ = ["PlanVersion", "list_plans", "publish_plan"]


@dataclass(frozen=True)
class PlanVersion:
    """One version of a plan: its code and number, status (draft, approved, superseded), decision, zone count."""

    id: int
    code: str
    version: int
    name: str
    level: str
    status: str
    decision_no: str | None
    decision_date: date | None
    zones: int


def list_plans(conn: Connection, *, code: str | None = None) -> list[PlanVersion]:
    """Every plan version (or those of ``code``), by code then version."""
    rows = conn.execute(
        sa.text(
            "SELECT p.id, p.code, p.version, p.name, p.level, p.status, p.decision_no, p.decision_date, "
            "(SELECT count(*) FROM planning.zones z WHERE z.plan_id = p.id) AS zones "
            "FROM planning.plans p WHERE (CAST(:code AS text) IS NULL OR p.code = :code) ORDER BY p.code, p.version"
        ),
        {"code": code},
    ).all()
    return [PlanVersion(*r) for r in rows]


def publish_plan(
    conn: Connection, code: str, *, user: str, reason: str, version: int | None = None
) -> tuple[PlanVersion, PlanVersion | None]:
    """Approve the latest draft of plan ``code`` (or draft ``version``); the approved version becomes superseded.

    Runs inside the caller's transaction. Returns ``(published, superseded or None)``.

    Raises
    ------
    NotFound
        No plan with that code, or no draft to publish.
    ValidationError
        The draft has no decision number or date (an approval needs its decision), or its decision is dated after
        today or before the decision of the version it would supersede.
    """
    versions = list_plans(conn, code=code)
    if not versions:
        raise NotFound(f"no plan with code {code!r}; 'planning plans list' shows the plans")
    drafts = [v for v in versions if v.status == "draft" and (version is None or v.version == version)]
    if not drafts:
        which = f"version {version} of {code} is not a draft" if version else f"plan {code} has no draft version"
        raise NotFound(f"{which} (versions: {', '.join(f'{v.version} {v.status}' for v in versions)})")
    draft = drafts[-1]
    if not draft.decision_no or not draft.decision_date:
        raise ValidationError(
            f"plan {code} version {draft.version} has no approval decision (decision_no and decision_date): "
            "record the decision before publishing"
        )
    current = next((v for v in versions if v.status == "approved"), None)
    _check_decision_date(draft, current)
    if current is not None:
        update_feature(conn, "plans", current.id, {"status": "superseded"}, user=user, reason=reason)
    update_feature(conn, "plans", draft.id, {"status": "approved"}, user=user, reason=reason)
    close_on_publish(conn, draft.id, user=user)
    published = next(v for v in list_plans(conn, code=code) if v.id == draft.id)
    superseded = None if current is None else next(v for v in list_plans(conn, code=code) if v.id == current.id)
    return published, superseded


def _check_decision_date(draft: PlanVersion, current: PlanVersion | None) -> None:
    """Refuse a decision date that would make the plan in force today differ from the approved version.

    The versions in force on a date follow the decision dates (:mod:`gis_service.as_of`); a decision dated in the
    future, or before the one it replaces, would put another version in force today than the one published.
    """
    assert draft.decision_date is not None
    today = today_in_hue()
    where = f"plan {draft.code} version {draft.version}"
    if draft.decision_date > today:
        raise ValidationError(
            f"{where}: the approval decision is dated {draft.decision_date}, after today ({today}); "
            "record the date the decision was signed"
        )
    if current is not None and current.decision_date is not None and draft.decision_date < current.decision_date:
        raise ValidationError(
            f"{where}: the approval decision is dated {draft.decision_date}, before that of version "
            f"{current.version} it would supersede ({current.decision_date}); a later decision replaces an earlier one"
        )
