"""Consultation periods: a draft version open to the public from one day to another (dates in Huế, both included).

While a period runs, the draft is public, as a draft under consultation and never mixed with the approved plan:
readers that show it select its rows with :data:`UNDER_CONSULTATION_PLAN_IDS` instead of the approved versions'.
Publishing the draft, or a planner, closes the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.as_of import today_in_hue
from gis_service.errors import NotFound, ReadOnly, ValidationError

__all__ = [
    "HUE_TODAY_SQL",
    "UNDER_CONSULTATION_IDS_SQL",
    "UNDER_CONSULTATION_PLAN_IDS",
    "Consultation",
    "close_consultation",
    "close_on_publish",
    "get_consultation",
    "list_consultations",
    "open_consultation",
]

#: Today's date in Huế, in SQL (the server's clock, Việt Nam's zone: no daylight saving).
HUE_TODAY_SQL = "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"

#: The ids of the draft versions under consultation today: the SQL readers put where the public sees approved ones.
UNDER_CONSULTATION_IDS_SQL = (
    "SELECT c.plan_id FROM planning.consultations c WHERE c.closed_at IS NULL "
    "AND (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN c.starts_on AND c.ends_on"
)
UNDER_CONSULTATION_PLAN_IDS = f"plan_id IN ({UNDER_CONSULTATION_IDS_SQL})"

#: The longest period accepted, in days (a slip of the year, e.g. 2062 for 2026, is refused).
MAX_DAYS = 366

_COLUMNS = (
    "c.id, c.plan_id, p.code, p.version, p.name, c.starts_on, c.ends_on, c.explanation, c.opened_by, c.opened_at, "
    "c.closed_at, c.closed_by"
)


@dataclass(frozen=True)
class Consultation:
    """A consultation period of one draft version (``plan_id``: the version's row in ``planning.plans``)."""

    id: int
    plan_id: int
    code: str
    version: int
    name: str
    starts_on: date
    ends_on: date
    explanation: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None

    def status(self, today: date | None = None) -> str:
        """``scheduled``, ``open`` or ``closed`` (ended, closed early, or the draft was published)."""
        today = today or today_in_hue()
        if self.closed_at is not None or today > self.ends_on:
            return "closed"
        return "open" if today >= self.starts_on else "scheduled"

    def as_dict(self, today: date | None = None) -> dict[str, Any]:
        """The period as the API answers it (``opened_by`` only for staff: the caller drops it for the public)."""
        return {
            "id": self.id,
            "plan": {"id": self.plan_id, "code": self.code, "version": self.version, "name": self.name},
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "status": self.status(today),
            "explanation": self.explanation,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def list_consultations(conn: Connection, *, code: str | None = None, open_only: bool = False) -> list[Consultation]:
    """The consultations (of plan ``code``; only those open today with ``open_only``), newest first."""
    where = ["(CAST(:code AS text) IS NULL OR p.code = :code)"]
    if open_only:
        where.append(f"c.plan_id IN ({UNDER_CONSULTATION_IDS_SQL})")
    rows = conn.execute(
        sa.text(
            f"SELECT {_COLUMNS} FROM planning.consultations c JOIN planning.plans p ON p.id = c.plan_id "  # noqa: S608
            f"WHERE {' AND '.join(where)} ORDER BY c.id DESC"
        ),
        {"code": code},
    ).all()
    return [Consultation(*r) for r in rows]


def get_consultation(conn: Connection, consultation_id: int) -> Consultation:
    """One consultation; NotFound when there is none with that id."""
    row = conn.execute(
        sa.text(
            f"SELECT {_COLUMNS} FROM planning.consultations c JOIN planning.plans p ON p.id = c.plan_id "  # noqa: S608
            "WHERE c.id = :id"
        ),
        {"id": consultation_id},
    ).first()
    if row is None:
        raise NotFound(f"no consultation {consultation_id}")
    return Consultation(*row)


def open_consultation(
    conn: Connection,
    code: str,
    *,
    starts_on: date,
    ends_on: date,
    explanation: str,
    user: str,
    version: int | None = None,
) -> Consultation:
    """Put the draft of plan ``code`` (or its draft ``version``) to public consultation from ``starts_on`` to
    ``ends_on``. Runs in the caller's transaction.

    Raises
    ------
    NotFound
        No such plan, or it has no draft (start one first).
    ValidationError
        An empty explanation, a period that ends before it starts, before today, or lasts over a year.
    ReadOnly
        The draft is under consultation already (close that period first).
    """
    text = explanation.strip()
    if not text:
        raise ValidationError("explanation is empty: say in Vietnamese what the draft changes and why (thuyết minh)")
    if ends_on < starts_on:
        raise ValidationError(f"the period ends ({ends_on}) before it starts ({starts_on})")
    today = today_in_hue()
    if ends_on < today:
        raise ValidationError(f"the period ends on {ends_on}, before today ({today}) in Huế")
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise ValidationError(f"the period from {starts_on} to {ends_on} is over {MAX_DAYS} days: check the year")
    draft = conn.execute(
        sa.text(
            "SELECT id, version FROM planning.plans WHERE code = :code AND status = 'draft' "
            "AND (CAST(:v AS integer) IS NULL OR version = :v) ORDER BY version DESC LIMIT 1"
        ),
        {"code": code, "v": version},
    ).first()
    if draft is None:
        which = f"version {version} of plan {code} is not a draft" if version else f"plan {code} has no draft"
        raise NotFound(f"{which}: start a draft, edit it, then open it for consultation")
    existing = conn.execute(
        sa.text("SELECT id FROM planning.consultations WHERE plan_id = :p AND closed_at IS NULL AND ends_on >= :t"),
        {"p": draft.id, "t": today},
    ).first()
    if existing is not None:
        raise ReadOnly(
            f"plan {code} version {draft.version} is under consultation already (consultation {existing.id}): "
            "close it before opening another period"
        )
    # A period that ended on its own still holds the one open slot of the unique index: close it now.
    conn.execute(
        sa.text(
            "UPDATE planning.consultations SET closed_at = now(), closed_by = :u "
            "WHERE plan_id = :p AND closed_at IS NULL"
        ),
        {"p": draft.id, "u": user},
    )
    new_id = conn.execute(
        sa.text(
            "INSERT INTO planning.consultations (plan_id, starts_on, ends_on, explanation, opened_by) "
            "VALUES (:p, :s, :e, :x, :u) RETURNING id"
        ),
        {"p": draft.id, "s": starts_on, "e": ends_on, "x": text, "u": user},
    ).scalar_one()
    # imported here: the notices read the diff of versions, which reads the periods of this module
    from gis_service.notices.events import consultation_opened

    opened = get_consultation(conn, new_id)
    consultation_opened(conn, opened)  # queues the notices to subscribers it touches
    return opened


def close_consultation(conn: Connection, consultation_id: int, *, user: str) -> Consultation:
    """End a consultation now (before its last day). ReadOnly when it is closed already."""
    current = get_consultation(conn, consultation_id)
    if current.closed_at is not None:
        raise ReadOnly(f"consultation {consultation_id} is closed already (since {current.closed_at:%Y-%m-%d})")
    conn.execute(
        sa.text("UPDATE planning.consultations SET closed_at = now(), closed_by = :u WHERE id = :id"),
        {"id": consultation_id, "u": user},
    )
    return get_consultation(conn, consultation_id)


def close_on_publish(conn: Connection, plan_id: int, *, user: str) -> None:
    """Close the consultation of a version being published: it is the approved plan from now on."""
    conn.execute(
        sa.text(
            "UPDATE planning.consultations SET closed_at = now(), closed_by = :u "
            "WHERE plan_id = :p AND closed_at IS NULL"
        ),
        {"p": plan_id, "u": user},
    )
