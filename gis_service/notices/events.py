"""The events that write notices: a draft opened for consultation, a version published.

The event itself only queues a ``notices.write`` job, in the transaction of what causes it
(:func:`~gis_service.consultation.periods.open_consultation`,
:func:`~gis_service.editing.publishing.publish_with_decision`), so the notices are due exactly when their cause
exists. The job (:func:`write_notices`) then finds every confirmed, not ended subscription whose place meets what
changed, words what changed there (a diff per subscription, about 10 ms each: kept out of the publication's
transaction, which would otherwise hold the plan for minutes with many subscribers) and writes one notice each, then
queues the job that sends them. The outbox's unique index (subscription, event, plan version) makes a repeated event
or a retried job write nothing more: no one is mailed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gis_service import changes
from gis_service.consultation.periods import get_consultation
from gis_service.jobs import NOTICES_WRITE, Handler, Job, enqueue
from gis_service.notices.compose import PlanRef, notice_mail
from gis_service.notices.outbox import queue_sending
from gis_service.settings import Settings

if TYPE_CHECKING:
    from gis_service.consultation.periods import Consultation

__all__ = ["HANDLERS", "consultation_opened", "version_published", "write_notices"]

_LANGS = ("vi", "en")
#: What a first version changes: everything, which the diff of two versions does not word.
_FIRST_VERSION = {
    "vi": ["Đây là phiên bản đầu tiên của quy hoạch này: từ nay quy hoạch áp dụng tại nơi bạn theo dõi."],
    "en": ["This is the first version of this plan: from now on it applies to the place you follow."],
}


def consultation_opened(conn: Connection, consultation: Consultation) -> Job:
    """Queue the notices of a draft opened for consultation: what it changes from the approved version."""
    params = {"event": "consultation", "consultation_id": consultation.id}
    return enqueue(conn, NOTICES_WRITE, params, created_by=consultation.opened_by)


def version_published(conn: Connection, published_plan_id: int, superseded_plan_id: int | None) -> Job:
    """Queue the notices of a version published: what it changes from the version it supersedes (everything, for a
    first version)."""
    params = {"event": "published", "to": published_plan_id, "from": superseded_plan_id}
    return enqueue(conn, NOTICES_WRITE, params, created_by=None)


def write_notices(conn: Connection, params: dict[str, Any]) -> int:
    """Write the notices of one event (the parameters of its ``notices.write`` job); how many were written."""
    if params["event"] == "consultation":
        consultation = get_consultation(conn, int(params["consultation_id"]))
        approved = conn.execute(
            sa.text(
                "SELECT id FROM planning.plans WHERE code = :c AND status = 'approved' ORDER BY version DESC LIMIT 1"
            ),
            {"c": consultation.code},
        ).scalar()
        plan = PlanRef(
            consultation.code, consultation.version, consultation.name, consultation.starts_on, consultation.ends_on
        )
        return _notify(conn, "consultation", plan, approved, consultation.plan_id, user=consultation.opened_by)
    to_id, from_id = int(params["to"]), params.get("from")
    row = conn.execute(sa.text("SELECT code, version, name FROM planning.plans WHERE id = :id"), {"id": to_id}).one()
    plan = PlanRef(row.code, row.version, row.name)
    return _notify(conn, "published", plan, None if from_id is None else int(from_id), to_id)


def _write_handler(
    _settings: Settings, engine: Engine, params: dict[str, Any], progress: Callable[[str], None]
) -> dict[str, int]:
    progress("finding the subscriptions the change touches")
    with engine.begin() as conn:
        return {"notices": write_notices(conn, params)}


#: The code of the ``notices.write`` jobs, given to the job runner by the web app.
HANDLERS: dict[str, Handler] = {NOTICES_WRITE: _write_handler}


def _notify(
    conn: Connection, event: str, plan: PlanRef, from_id: int | None, to_id: int, *, user: str | None = None
) -> int:
    region = changes.changed_region_wkb(conn, from_id, to_id)
    if region is None:
        return 0
    # the partial index of confirmed, live subscriptions finds those the change meets
    subs = conn.execute(
        sa.text(
            "SELECT s.id, s.email, s.parcel_id, s.lang, s.token, ST_AsBinary(s.geom) AS wkb, "
            "ST_X(c) AS lon, ST_Y(c) AS lat, p.sheet_no, p.parcel_no, p.ward "
            "FROM planning.subscriptions s LEFT JOIN planning.parcels p ON p.id = s.parcel_id, "
            "LATERAL ST_Transform(ST_PointOnSurface(s.geom), 4326) c "
            "WHERE s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL "
            "AND ST_Intersects(s.geom, ST_SetSRID(ST_GeomFromWKB(:r), 9214)) "
            # told already (an event repeated): no diff to run again; the unique index still guards a race
            "AND NOT EXISTS (SELECT 1 FROM planning.outbox o WHERE o.subscription_id = s.id AND o.event = :e "
            "AND o.plan_id = :p) ORDER BY s.id"
        ),
        {"r": region, "e": event, "p": to_id},
    ).all()
    written = 0
    for sub in subs:
        summaries = _summaries(conn, sub, from_id, to_id)
        if summaries is None:
            continue
        name = None if sub.parcel_id is None else (sub.parcel_no, sub.sheet_no, sub.ward)
        mail = notice_mail(
            event=event,
            plan=plan,
            summaries=summaries,
            token=sub.token,
            lang=sub.lang,
            parcel_id=sub.parcel_id,
            parcel_name=name,
            lonlat=(sub.lon, sub.lat),
        )
        inserted = conn.execute(
            sa.text(
                "INSERT INTO planning.outbox (to_addr, subject, body_text, body_html, subscription_id, event, plan_id) "
                "VALUES (:to, :s, :t, :h, :sub, :e, :p) "
                "ON CONFLICT (subscription_id, event, plan_id) WHERE event <> 'confirm' DO NOTHING RETURNING id"
            ),
            {"to": sub.email, "s": mail.subject, "t": mail.text, "h": mail.html, "sub": sub.id, "e": event, "p": to_id},
        ).first()
        written += inserted is not None
    if written:
        queue_sending(conn, reason=event, created_by=user)
    return written


def _summaries(conn: Connection, sub: Any, from_id: int | None, to_id: int) -> dict[str, list[str]] | None:
    """The sentences of what changes at a subscription's place, in its language (the other section of the mail
    points to them: each is a diff of its own, the cost of a publication); None when nothing changes there."""
    lang = sub.lang
    if from_id is None:
        return {lg: list(_FIRST_VERSION[lg]) for lg in _LANGS}  # the whole plan is new: it meets the place
    if sub.parcel_id is not None:
        found = changes.parcel_changes(conn, sub.parcel_id, from_id, to_id, lang)
        return {lang: list(found.summary)} if found.touched else None
    sentences = list(changes.area_summary(conn, bytes(sub.wkb), from_id, to_id, lang))
    return {lang: sentences} if sentences else None
