"""The draft under consultation as the public sees it: ``view=consultation`` on the features, tiles and lookup.

Why a separate view and not a mix: a draft under consultation is not in force, so a reader shows either the
approved plans (the default) or only the drafts under consultation today, never both in one answer. Its answers
say so (:data:`NOTICE_VI`, :data:`NOTICE_EN`) and name each consultation (id, period, plan version).
A plan on a past date (``as_of``) and the draft are different questions: asking both is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from gis_service.consultation.periods import UNDER_CONSULTATION_IDS_SQL
from gis_service.errors import ValidationError

__all__ = [
    "CONSULTATION",
    "NOTICE_EN",
    "NOTICE_VI",
    "VIEW",
    "ConsultationView",
    "DraftUnderConsultation",
    "drafts_under_consultation",
    "drafts_under_consultation_async",
    "parse_view",
]

#: The query parameter, and its one value.
VIEW = "view"
CONSULTATION = "consultation"
NOTICE_VI = "Dự thảo đang lấy ý kiến — chưa có hiệu lực"
NOTICE_EN = "Draft under consultation — not in force"

#: The drafts under consultation today, with their consultation (one open consultation per version).
DRAFTS_SQL = f"""
SELECT c.id, p.id, p.code, p.name, p.level, p.version, p.status,
       to_char(c.starts_on, 'YYYY-MM-DD'), to_char(c.ends_on, 'YYYY-MM-DD')
FROM planning.consultations c JOIN planning.plans p ON p.id = c.plan_id
WHERE c.closed_at IS NULL AND c.plan_id IN ({UNDER_CONSULTATION_IDS_SQL})
ORDER BY p.code, c.id
"""  # noqa: S608 (constant SQL)


def parse_view(raw: str | None, *, as_of: str | None = None) -> bool:
    """Whether ``view=consultation`` was asked; a ValidationError for another value or together with ``as_of``.

    >>> parse_view(None), parse_view("consultation")
    (False, True)
    """
    if raw is None:
        return False
    if raw.strip().lower() != CONSULTATION:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise ValidationError(
            f"view must be 'consultation' (the drafts under consultation), not {shown!r}; "
            "leave it out for the approved plans"
        )
    if as_of is not None:
        raise ValidationError(
            "view=consultation and as_of cannot go together: a draft under consultation is not in force on any "
            "date (Dự thảo chưa có hiệu lực); ask one or the other"
        )
    return True


@dataclass(frozen=True)
class DraftUnderConsultation:
    """A draft version under consultation today and its consultation's period."""

    consultation_id: int
    plan_id: int
    code: str
    name: str
    level: str
    version: int
    status: str
    starts_on: str
    ends_on: str

    def as_dict(self) -> dict[str, Any]:
        """The consultation as answers cite it."""
        return {
            "id": self.consultation_id,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "plan": {
                "id": self.plan_id,
                "code": self.code,
                "name": self.name,
                "level": self.level,
                "version": self.version,
                "status": self.status,
            },
        }


@dataclass(frozen=True)
class ConsultationView:
    """The drafts under consultation today (none: nothing is under consultation)."""

    drafts: tuple[DraftUnderConsultation, ...]

    @property
    def plan_ids(self) -> list[int]:
        """The draft versions' ids (what readers bind into ``plan_id = ANY(...)``)."""
        return [d.plan_id for d in self.drafts]

    def as_dict(self) -> dict[str, Any]:
        """The marker of an answer in this view: the notice in both languages and every consultation."""
        return {
            "notice_vi": NOTICE_VI,
            "notice_en": NOTICE_EN,
            "consultations": [d.as_dict() for d in self.drafts],
        }


def drafts_under_consultation(conn: psycopg.Connection[Any]) -> ConsultationView:
    """The drafts under consultation today (dates in Huế)."""
    rows = conn.execute(DRAFTS_SQL, prepare=True).fetchall()
    return ConsultationView(tuple(DraftUnderConsultation(*r) for r in rows))


async def drafts_under_consultation_async(conn: psycopg.AsyncConnection[Any]) -> ConsultationView:
    """:func:`drafts_under_consultation` on an asynchronous connection (the web routes)."""
    cur = await conn.execute(DRAFTS_SQL, prepare=True)
    return ConsultationView(tuple(DraftUnderConsultation(*r) for r in await cur.fetchall()))
