"""Edits of plan layers with history: every change records who, when, why, before and after.

The history itself is written by triggers in the database (migration 0001), so edits made directly in SQL or QGIS
are recorded too (attributed to the database role). This module is the application's way in: it requires a reason,
names the user, and restores earlier versions exactly (geometry is kept in the history as hex EWKB).

All functions take an open SQLAlchemy :class:`~sqlalchemy.engine.Connection` inside a transaction and never commit:
the caller decides (``with engine.begin() as conn: ...``), so an edit is all or nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, InternalError

from gis_service.errors import NotFound, ValidationError
from gis_service.model import LAYERS as CATALOGUE

__all__ = [
    "LAYERS",
    "HistoryEntry",
    "change_context",
    "delete_feature",
    "editable_columns",
    "feature_history",
    "feature_state",
    "insert_feature",
    "restore_feature",
    "update_feature",
]

log = logging.getLogger(__name__)

#: Tables of schema ``planning`` that hold plan layers with history (the layer name is the table name).
LAYERS: tuple[str, ...] = tuple(CATALOGUE)
BOOKKEEPING = frozenset({"id", "created_at", "created_by", "updated_at", "updated_by", "row_version"})
#: Kept from geom by the database (generated columns, or a trigger in planning.zones): never set by users.
SERVING_COLUMNS = frozenset({"geom_4326", "geom_3857", "geom_area_m2"})
STORAGE_SRID = 9214


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change of a feature; ``before``/``after`` are full row states (geometry as hex EWKB)."""

    id: int
    layer: str
    feature_id: int
    operation: str
    row_version: int
    changed_by: str
    changed_at: datetime
    reason: str | None
    restored_from: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _table(layer: str) -> str:
    if layer not in LAYERS:
        raise ValidationError(f"unknown layer {layer!r}: expected one of {', '.join(LAYERS)}")
    return layer


def editable_columns(conn: Connection, layer: str) -> list[str]:
    """Columns a user may set: everything but ``id``, bookkeeping and generated columns, in table order."""
    rows = conn.execute(
        sa.text(
            "SELECT a.attname FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
            "ORDER BY a.attnum"
        ),
        {"t": f"planning.{_table(layer)}"},
    ).scalars()
    return [c for c in rows if c not in BOOKKEEPING and c not in SERVING_COLUMNS]


@contextmanager
def change_context(
    conn: Connection,
    *,
    user: str,
    reason: str,
    operation: str | None = None,
    restored_from: int | None = None,
) -> Iterator[None]:
    """Name the user and the reason of the changes made inside the block (transaction-local settings)."""
    if not user or not user.strip():
        raise ValidationError("a change needs the name of the user making it")
    if not reason or not reason.strip():
        raise ValidationError("a change needs a reason (why is it made?)")
    conn.execute(
        sa.text(
            "SELECT set_config('planning.user', :user, true), set_config('planning.reason', :reason, true), "
            "set_config('planning.operation', :op, true), set_config('planning.restored_from', :rf, true)"
        ),
        {"user": user.strip(), "reason": reason.strip(), "op": operation or "", "rf": str(restored_from or "")},
    )
    try:
        yield
    finally:
        if not conn.closed and conn.in_transaction() and not conn.invalidated:
            conn.execute(
                sa.text(
                    "SELECT set_config('planning.user', '', true), set_config('planning.reason', '', true), "
                    "set_config('planning.operation', '', true), set_config('planning.restored_from', '', true)"
                )
            )


#: What a refused write means, in plain words, by SQLSTATE (the database's own text is logged, never answered).
_REFUSALS = {
    "22001": "a text is longer than its field allows",
    "22003": "a number is out of its field's range",
    "22007": "a date is not valid (use YYYY-MM-DD)",
    "22008": "a date is out of range",
    "22P02": "a value is not of its field's type (e.g. text where a number is expected)",
    "23502": "a required value is missing",
    "23503": "a value refers to something that does not exist",
    "23505": "a value is already used by another feature",
    "23514": "a value breaks a rule of the plan data",
}
_GEOMETRY_UNREADABLE = "the geometry cannot be read (parse error - invalid geometry): send a valid WKT, WKB or GeoJSON"


def _db_error(layer: str, feature_id: int | None, exc: Exception) -> ValidationError:
    """The refused write as a :class:`ValidationError` naming the feature, the field or rule, and the problem."""
    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None) or ""
    primary = (getattr(diag, "message_primary", None) or str(orig)).strip().splitlines()[0]
    log.info("a write to %s was refused by the database (%s): %s", layer, state, primary)
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    where = f"{layer} {feature_id}" if feature_id is not None else f"new {layer} feature"
    msg = _REFUSALS.get(state, "the database refused a value of the feature")
    if constraint and constraint.endswith("_geom_valid"):
        msg = "the geometry is invalid (self-intersecting or badly formed ring); repair it and try again"
    elif "geometry" in primary.lower() and state.startswith("XX"):
        msg = _GEOMETRY_UNREADABLE
    elif state == "22P02" and (kind := re.search(r"for type ([a-z ]+?)(?:\(|:|$)", primary)):
        msg = f"a value is not a valid {kind[1].strip()} (e.g. text where a number is expected)"
    elif column:
        msg = f"{msg} (field {column})"
    elif constraint:
        msg = f"{msg} (rule {constraint})"
    return ValidationError(f"{where}: {msg}")


def _value_sql(column: str, param: str) -> str:
    """SQL for a bound value: geometry in any SRID (none means EPSG:9214) is stored in EPSG:9214."""
    if column == "geom":
        g = f"CAST(:{param} AS geometry)"
        return (
            f"ST_Multi(CASE WHEN ST_SRID({g}) = 0 THEN ST_SetSRID({g}, {STORAGE_SRID}) "
            f"ELSE ST_Transform({g}, {STORAGE_SRID}) END)"
        )
    if column == "attributes":
        return f"CAST(:{param} AS jsonb)"
    return f":{param}"


def _bind_value(column: str, value: Any) -> Any:
    if column == "geom" and hasattr(value, "wkb_hex"):  # a shapely geometry, taken as EPSG:9214
        return value.wkb_hex
    if column == "attributes" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return value


def _check_columns(conn: Connection, layer: str, values: Mapping[str, Any]) -> list[str]:
    allowed = editable_columns(conn, layer)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError(
            f"{layer} has no editable field {', '.join(map(repr, unknown))}; editable: {', '.join(allowed)}"
        )
    return [c for c in allowed if c in values]


# What bad input raises (constraints, bad values, unparsable geometry); a ProgrammingError is our bug, not theirs.
_DB_ERRORS = (IntegrityError, DataError, InternalError)


def _write(
    conn: Connection,
    layer: str,
    feature_id: int | None,
    sql: str,
    params: Mapping[str, Any],
    *,
    user: str,
    reason: str,
    operation: str | None = None,
    restored_from: int | None = None,
) -> dict[str, Any] | None:
    """Run one writing statement (returning a row state) under a savepoint, named user and reason.

    A refused write (constraint, invalid geometry, bad value) leaves the transaction usable and raises
    :class:`ValidationError` naming the feature and the rule.
    """
    with change_context(conn, user=user, reason=reason, operation=operation, restored_from=restored_from):
        try:
            with conn.begin_nested():
                state: dict[str, Any] | None = conn.execute(sa.text(sql), params).scalar_one_or_none()
        except _DB_ERRORS as exc:
            raise _db_error(layer, feature_id, exc) from None
    return state


def feature_state(conn: Connection, layer: str, feature_id: int) -> dict[str, Any] | None:
    """The stored state of a feature (as in the history), or ``None`` when it does not exist."""
    state: dict[str, Any] | None = conn.execute(
        sa.text(f"SELECT planning.row_state(to_jsonb(t), t.geom) FROM planning.{_table(layer)} t WHERE t.id = :id"),
        {"id": feature_id},
    ).scalar_one_or_none()
    return state


def insert_feature(
    conn: Connection, layer: str, values: Mapping[str, Any], *, user: str, reason: str
) -> dict[str, Any]:
    """Create a feature; returns its stored state (with its new ``id``)."""
    table = _table(layer)
    cols = _check_columns(conn, layer, values)
    if not cols:
        raise ValidationError(f"a new {layer} feature needs values")
    state = _write(
        conn,
        layer,
        None,
        f"INSERT INTO planning.{table} ({', '.join(cols)}) "
        f"VALUES ({', '.join(_value_sql(c, f'v_{c}') for c in cols)}) "
        f"RETURNING planning.row_state(to_jsonb(planning.{table}.*), geom)",
        {f"v_{c}": _bind_value(c, values[c]) for c in cols},
        user=user,
        reason=reason,
    )
    assert state is not None
    return state


def update_feature(
    conn: Connection, layer: str, feature_id: int, changes: Mapping[str, Any], *, user: str, reason: str
) -> dict[str, Any]:
    """Change some fields of a feature; returns its new stored state."""
    table = _table(layer)
    cols = _check_columns(conn, layer, changes)
    if not cols:
        raise ValidationError(f"nothing to change on {layer} {feature_id}")
    assignments = ", ".join(f"{c} = {_value_sql(c, f'v_{c}')}" for c in cols)
    state = _write(
        conn,
        layer,
        feature_id,
        f"UPDATE planning.{table} t SET {assignments} WHERE t.id = :id "
        "RETURNING planning.row_state(to_jsonb(t), t.geom)",
        {"id": feature_id, **{f"v_{c}": _bind_value(c, changes[c]) for c in cols}},
        user=user,
        reason=reason,
    )
    if state is None:
        raise NotFound(f"{layer} {feature_id} does not exist")
    return state


def delete_feature(conn: Connection, layer: str, feature_id: int, *, user: str, reason: str) -> dict[str, Any]:
    """Delete a feature (recoverable: its last state stays in the history). Returns that state."""
    table = _table(layer)
    state = _write(
        conn,
        layer,
        feature_id,
        f"DELETE FROM planning.{table} t WHERE t.id = :id RETURNING planning.row_state(to_jsonb(t), t.geom)",
        {"id": feature_id},
        user=user,
        reason=reason,
    )
    if state is None:
        raise NotFound(f"{layer} {feature_id} does not exist")
    return state


def feature_history(conn: Connection, layer: str, feature_id: int) -> list[HistoryEntry]:
    """Every recorded change of a feature, oldest first (a bulk-imported zone's insert entry is written first)."""
    if _table(layer) == "zones":
        conn.execute(sa.text("SELECT planning.ensure_history(ARRAY[CAST(:id AS bigint)])"), {"id": feature_id})
    rows = conn.execute(
        sa.text(
            "SELECT id, table_name, feature_id, operation, row_version, changed_by, changed_at, reason, "
            "restored_from, planning.row_state(before, before_geom), planning.row_state(after, after_geom) "
            "FROM planning.change_history "
            "WHERE table_name = :t AND feature_id = :id ORDER BY id"
        ),
        {"t": _table(layer), "id": feature_id},
    ).all()
    return [HistoryEntry(*row) for row in rows]


def restore_feature(
    conn: Connection, layer: str, feature_id: int, *, version: int, user: str, reason: str
) -> dict[str, Any]:
    """Bring a feature back to the content it had at ``version`` (also after a delete).

    The restore is itself a new recorded change (operation ``restore``, with the history entry it came from), so
    nothing is overwritten: the feature's version number keeps going up.
    """
    table = _table(layer)
    history = feature_history(conn, layer, feature_id)
    if not history:
        raise NotFound(f"{layer} {feature_id} has no history")
    source = next((h for h in reversed(history) if h.row_version == version and h.after is not None), None)
    if source is None:
        known = sorted({h.row_version for h in history if h.after is not None})
        raise NotFound(f"{layer} {feature_id} has no version {version}; known versions: {known}")
    cols = editable_columns(conn, layer)
    col_list = ", ".join(cols)
    params = {"id": feature_id, "state": json.dumps(source.after)}
    populated = f"jsonb_populate_record(NULL::planning.{table}, CAST(:state AS jsonb))"
    exists = feature_state(conn, layer, feature_id) is not None
    if exists:
        sql = (
            f"UPDATE planning.{table} t SET ({col_list}) = (SELECT {col_list} FROM {populated}) "
            "WHERE t.id = :id RETURNING planning.row_state(to_jsonb(t), t.geom)"
        )
    else:
        sql = (
            f"INSERT INTO planning.{table} (id, {col_list}, created_at, created_by, row_version) "
            f"SELECT :id, {col_list}, created_at, created_by, :next FROM {populated} "
            f"RETURNING planning.row_state(to_jsonb(planning.{table}.*), geom)"
        )
        params["next"] = max(h.row_version for h in history) + 1
    state = _write(
        conn, layer, feature_id, sql, params, user=user, reason=reason, operation="restore", restored_from=source.id
    )
    assert state is not None
    return state
