"""Permit applications, recorded checks and officers' decisions, all in ``planning.change_history``.

A recorded check stores the proposal, its answer, and **pins**: for every plan row it used (plan, zones, red line,
building line, parcel) the id of the history entry holding that row's exact state. :func:`rerun_check` runs the same
measurements on those states, so a check made under version 1 of a plan still gives its original answer after the
plan was edited or a version 2 published; :func:`record_check` on the same application checks against the plan as
it is now.

Functions take a SQLAlchemy connection inside the caller's transaction (``with engine.begin() as conn``) and never
commit. The psycopg connection under it runs the check, so everything happens in one transaction.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gis_service.editing import change_context
from gis_service.errors import NotFound, PlanningError, ValidationError
from gis_service.permits.check import check, pins_of
from gis_service.permits.model import CheckRequest, parse_request

__all__ = [
    "DECISIONS",
    "PermitConflict",
    "create_application",
    "get_application",
    "get_check",
    "record_check",
    "record_decision",
    "rerun_check",
]

DECISIONS = {"approve": "approved", "reject": "rejected", "request_changes": "changes_requested"}
FINAL = {"approved", "rejected"}


class PermitConflict(PlanningError):
    """The application's state does not allow this (HTTP 409)."""

    status_code = 409
    code = "Conflict"


def _psycopg(conn: Connection) -> psycopg.Connection[Any]:
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def create_application(
    conn: Connection, *, reference: str, applicant_name: str, notes: str | None = None, user: str
) -> dict[str, Any]:
    """A new application (a reference and the applicant's name: no other personal data is kept)."""
    reference, applicant_name = reference.strip(), applicant_name.strip()
    if not reference or not applicant_name:
        raise ValidationError("an application needs a reference and the applicant's name")
    with change_context(conn, user=user, reason=f"hồ sơ cấp phép {reference}"):
        try:
            with conn.begin_nested():
                app_id = conn.execute(
                    sa.text(
                        "INSERT INTO planning.permit_applications (reference, applicant_name, notes) "
                        "VALUES (:r, :a, :n) RETURNING id"
                    ),
                    {"r": reference, "a": applicant_name, "n": notes},
                ).scalar_one()
        except IntegrityError:
            raise PermitConflict(f"an application with reference {reference!r} already exists") from None
    return get_application(conn, int(app_id))


_APPLICATION_SQL = (
    "SELECT id, reference, applicant_name, parcel_id, status, notes, created_at, created_by, updated_at, "
    "updated_by, row_version FROM planning.permit_applications WHERE id = :id"
)


def _application_row(conn: Connection, application_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = (
        conn.execute(sa.text(_APPLICATION_SQL + " FOR UPDATE" if lock else _APPLICATION_SQL), {"id": application_id})
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no permit application with id {application_id}")
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def get_application(conn: Connection, application_id: int) -> dict[str, Any]:
    """The application with its checks (verdicts), decisions and history, oldest first."""
    app = _application_row(conn, application_id)
    app["checks"] = [
        {
            "id": r[0],
            "verdict": r[1],
            "failed": r[2],
            "checked_at": r[3].isoformat(),
            "checked_by": r[4],
            "plan": r[5],
        }
        for r in conn.execute(
            sa.text(
                "SELECT id, verdict, result->'failed', created_at, created_by, "
                "jsonb_build_object('code', result->'plan'->'code', 'version', result->'plan'->'version') "
                "FROM planning.permit_checks WHERE application_id = :id ORDER BY id"
            ),
            {"id": application_id},
        )
    ]
    app["decisions"] = [
        {"id": r[0], "decision": r[1], "comment": r[2], "check_id": r[3], "decided_at": r[4].isoformat(), "by": r[5]}
        for r in conn.execute(
            sa.text(
                "SELECT id, decision, comment, check_id, created_at, created_by FROM planning.permit_decisions "
                "WHERE application_id = :id ORDER BY id"
            ),
            {"id": application_id},
        )
    ]
    app["history"] = [
        {
            "table": r[0],
            "id": r[1],
            "operation": r[2],
            "row_version": r[3],
            "by": r[4],
            "at": r[5].isoformat(),
            "reason": r[6],
        }
        for r in conn.execute(
            sa.text(
                "SELECT table_name, feature_id, operation, row_version, changed_by, changed_at, reason "
                "FROM planning.change_history WHERE (table_name = 'permit_applications' AND feature_id = :id) "
                "OR (table_name = 'permit_checks' AND feature_id IN "
                "    (SELECT id FROM planning.permit_checks WHERE application_id = :id)) "
                "OR (table_name = 'permit_decisions' AND feature_id IN "
                "    (SELECT id FROM planning.permit_decisions WHERE application_id = :id)) ORDER BY id"
            ),
            {"id": application_id},
        )
    ]
    return app


_PIN_SQL = sa.text(
    "SELECT max(id) FROM planning.change_history "
    "WHERE table_name = :t AND feature_id = :id AND row_version = :v AND after IS NOT NULL"
)


def _pins(conn: Connection, m: dict[str, Any]) -> dict[str, Any]:
    """History entry ids of the rows a check used (each holds the row's state at that row_version)."""
    used = pins_of(m)
    pins: dict[str, Any] = {"rows": used["rows"], "parcel": None}

    def entry(table: str, fid: int, version: int) -> int:
        hid = conn.execute(_PIN_SQL, {"t": table, "id": fid, "v": version}).scalar()
        if hid is None:
            raise PlanningError(f"{table} {fid} version {version} has no history entry: the check cannot be pinned")
        return int(hid)

    if used["rows"].get("zones"):  # bulk-imported zones get their insert entries when first pinned
        conn.execute(
            sa.text("SELECT planning.ensure_history(CAST(:ids AS bigint[]))"),
            {"ids": [fid for fid, _ in used["rows"]["zones"]]},
        )
    for table, rows in used["rows"].items():
        pins[table] = [entry(table, fid, v) for fid, v in rows]
    if used["parcel"] is not None:
        pins["parcel"] = entry("parcels", *used["parcel"])
    return pins


def record_check(conn: Connection, application_id: int, data: dict[str, Any], *, user: str) -> dict[str, Any]:
    """Check a proposal against the plan as it is now and record it (with its pins) for the application."""
    app = _application_row(conn, application_id, lock=True)
    if app["status"] in FINAL:
        raise PermitConflict(f"application {app['reference']} is already {app['status']}: no more checks")
    proposal = parse_request(data)
    result, m = check(_psycopg(conn), proposal.request)
    pins = _pins(conn, m)
    req = proposal.request
    with change_context(conn, user=user, reason=f"kiểm tra hồ sơ {app['reference']}"):
        check_id = conn.execute(
            sa.text(
                "INSERT INTO planning.permit_checks (application_id, proposal, pins, result, verdict, geom) VALUES "
                "(:a, CAST(:p AS jsonb), CAST(:pins AS jsonb), CAST(:r AS jsonb), :v, ST_Multi(CASE WHEN :srid = 9214 "
                "THEN ST_SetSRID(ST_GeomFromWKB(:fp), 9214) ELSE ST_Transform(ST_SetSRID(ST_GeomFromWKB(:fp), :srid), "
                "9214) END)) RETURNING id"
            ),
            {
                "a": application_id,
                "p": req.model_dump_json(exclude_none=True),
                "pins": json.dumps(pins),
                "r": json.dumps(result, ensure_ascii=False),
                "v": result["verdict"],
                "fp": proposal.footprint_wkb,
                "srid": proposal.footprint_srid,
            },
        ).scalar_one()
        parcel = m["parcel"]
        conn.execute(
            sa.text(
                "UPDATE planning.permit_applications SET parcel_id = :pid, status = 'submitted', geom = ST_Multi("
                "coalesce((SELECT geom FROM planning.parcels WHERE id = :pid), CASE WHEN :srid = 9214 "
                "THEN ST_SetSRID(ST_GeomFromWKB(:lot), 9214) "
                "ELSE ST_Transform(ST_SetSRID(ST_GeomFromWKB(:lot), :srid), 9214) END)) WHERE id = :id"
            ),
            {
                "id": application_id,
                "pid": None if parcel is None else parcel["id"],
                "lot": proposal.lot_wkb,
                "srid": proposal.lot_srid,
            },
        )
    return {"check_id": int(check_id), "application_id": application_id, **result}


def get_check(conn: Connection, check_id: int) -> dict[str, Any]:
    """A recorded check: its stored answer, proposal, pins, who and when."""
    row = conn.execute(
        sa.text(
            "SELECT c.id, c.application_id, a.reference, c.proposal, c.pins, c.result, c.created_at, c.created_by "
            "FROM planning.permit_checks c JOIN planning.permit_applications a ON a.id = c.application_id "
            "WHERE c.id = :id"
        ),
        {"id": check_id},
    ).first()
    if row is None:
        raise NotFound(f"no recorded permit check with id {check_id}")
    return {
        "check_id": row[0],
        "application_id": row[1],
        "reference": row[2],
        "proposal": row[3],
        "pins": row[4],
        "checked_at": row[6].isoformat(),
        "checked_by": row[7],
        **row[5],
    }


def rerun_check(conn: Connection, check_id: int, *, drawing: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a recorded check again on the exact plan rows it used: ``(answer, measurements)``."""
    stored = get_check(conn, check_id)
    req = CheckRequest.model_validate(stored["proposal"])
    result, m = check(_psycopg(conn), req, pins=stored["pins"], drawing=drawing)
    return result, m


def record_decision(
    conn: Connection, application_id: int, *, decision: str, comment: str, check_id: int | None, user: str
) -> dict[str, Any]:
    """An officer's decision (approve, reject, request_changes) with a comment, on a recorded check.

    Approving needs a recorded check that is not ``not_compliant`` (the latest one unless ``check_id`` says
    which); a decided application (approved or rejected) takes no further decision.
    """
    if decision not in DECISIONS:
        raise ValidationError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not comment or not comment.strip():
        raise ValidationError("a decision needs a comment (why?)")
    app = _application_row(conn, application_id, lock=True)
    if app["status"] in FINAL:
        raise PermitConflict(f"application {app['reference']} is already {app['status']}")
    row = conn.execute(
        sa.text(
            "SELECT id, verdict FROM planning.permit_checks WHERE application_id = :a "
            "AND (CAST(:c AS bigint) IS NULL OR id = :c) ORDER BY id DESC LIMIT 1"
        ),
        {"a": application_id, "c": check_id},
    ).first()
    if check_id is not None and row is None:
        raise NotFound(f"application {app['reference']} has no recorded check {check_id}")
    if decision == "approve":
        if row is None:
            raise PermitConflict(f"application {app['reference']} has no recorded check: check it before approving")
        if row[1] == "not_compliant":
            raise PermitConflict(
                f"check {row[0]} of application {app['reference']} is not compliant: it cannot be approved "
                "(reject it or request changes)"
            )
    with change_context(conn, user=user, reason=f"quyết định {decision} hồ sơ {app['reference']}: {comment.strip()}"):
        decision_id = conn.execute(
            sa.text(
                "INSERT INTO planning.permit_decisions (application_id, check_id, decision, comment) "
                "VALUES (:a, :c, :d, :m) RETURNING id"
            ),
            {"a": application_id, "c": None if row is None else row[0], "d": decision, "m": comment.strip()},
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE planning.permit_applications SET status = :s WHERE id = :id"),
            {"s": DECISIONS[decision], "id": application_id},
        )
    return {"decision_id": int(decision_id), **get_application(conn, application_id)}
