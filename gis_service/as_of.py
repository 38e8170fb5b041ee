"""The plan on any date: which plan versions were in force on a day, the one rule every reader uses.

A version of a plan is **in force on day D** when it was published (its status is ``approved`` or, since a later
version replaced it, ``superseded``; a draft never is), its approval decision is dated on or before D, and no other
published version of the same plan has a later decision dated on or before D (on the same date, the approved
version first, then the higher version number). Publishing keeps today's answer equal to the approved versions: a
decision may not be dated after today, nor before the decision of the version it supersedes
(:func:`gis_service.editing.plans.publish_plan`). See ``docs/editing.md#the-plan-on-a-date``.

"Today" is the date in Huế (UTC+7, no daylight saving), not the server's: a decision signed on a Huế morning is
in force that day. A date after today answers for today: no decision of a later day is known yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import psycopg

from gis_service.errors import ValidationError

__all__ = [
    "HUE_TZ",
    "IN_FORCE_SQL",
    "AsOf",
    "PlanInForce",
    "as_of_day",
    "parse_as_of",
    "plans_in_force",
    "plans_in_force_async",
    "today_in_hue",
]

#: Việt Nam's time (ICT), which has had no daylight saving since 1975.
HUE_TZ = timezone(timedelta(hours=7), "ICT")

#: The rule, per plan code: the published version with the latest decision dated on or before ``%(day)s``.
IN_FORCE_SQL = """
SELECT DISTINCT ON (p.code) p.id, p.code, p.name, p.level, p.version, p.decision_no,
       to_char(p.decision_date, 'YYYY-MM-DD'), p.approving_authority
FROM planning.plans p
WHERE p.status IN ('approved', 'superseded') AND p.decision_date <= %(day)s
ORDER BY p.code, p.decision_date DESC, p.status = 'approved' DESC, p.version DESC
"""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def today_in_hue(now: datetime | None = None) -> date:
    """The date in Huế now (or at ``now``, an aware datetime).

    >>> today_in_hue(datetime(2026, 12, 5, 18, 30, tzinfo=timezone.utc))
    datetime.date(2026, 12, 6)
    """
    return (now or datetime.now(UTC)).astimezone(HUE_TZ).date()


def parse_as_of(raw: str, *, name: str = "as_of") -> date:
    """A date written ``YYYY-MM-DD``; a ValidationError naming the parameter ``name`` otherwise.

    >>> parse_as_of("2024-07-01")
    datetime.date(2024, 7, 1)
    """
    text = raw.strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise ValidationError(f"{name} must be a date written YYYY-MM-DD (e.g. 2024-07-01), not {shown!r}") from None


def as_of_day(day: date, today: date | None = None) -> date:
    """The day an answer is given for: ``day``, or today when ``day`` is later (later decisions are unknown).

    >>> as_of_day(date(2030, 1, 1), today=date(2026, 12, 6))
    datetime.date(2026, 12, 6)
    """
    today = today or today_in_hue()
    return min(day, today)


@dataclass(frozen=True)
class PlanInForce:
    """A plan version in force on the day asked: its code, version and approval decision."""

    id: int
    code: str
    name: str
    level: str
    version: int
    decision_no: str | None
    decision_date: str | None
    approving_authority: str | None

    def as_dict(self) -> dict[str, Any]:
        """The version as the answers cite it (the lookup's ``PlanRef``)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class AsOf:
    """The answer to "which plan versions were in force on ``day``" (``requested``: the date asked for)."""

    day: date
    requested: date
    plans: tuple[PlanInForce, ...]

    @property
    def plan_ids(self) -> list[int]:
        """The ids of the versions in force (what readers bind into ``plan_id = ANY(...)``)."""
        return [p.id for p in self.plans]

    def as_dict(self) -> dict[str, Any]:
        """The date answered for, the date asked, and the versions in force (none: no plan was in force)."""
        return {
            "date": self.day.isoformat(),
            "requested": self.requested.isoformat(),
            "plans": [p.as_dict() for p in self.plans],
        }


def plans_in_force(conn: psycopg.Connection[Any], requested: date) -> AsOf:
    """The plan versions in force on ``requested`` (today when it is later), by plan code."""
    day = as_of_day(requested)
    rows = conn.execute(IN_FORCE_SQL, {"day": day}, prepare=True).fetchall()
    return AsOf(day, requested, tuple(PlanInForce(*r) for r in rows))


async def plans_in_force_async(conn: psycopg.AsyncConnection[Any], requested: date) -> AsOf:
    """:func:`plans_in_force` on an asynchronous connection (the web routes)."""
    day = as_of_day(requested)
    cur = await conn.execute(IN_FORCE_SQL, {"day": day}, prepare=True)
    return AsOf(day, requested, tuple(PlanInForce(*r) for r in await cur.fetchall()))
