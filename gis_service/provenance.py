"""Where a plan feature comes from, and whether a planner has checked it (migration 0015).

Each imported feature names its source row (``planning.feature_sources``: file, layer, SHA-256, sheet or drawing,
who imported it and why, the georeferencing error of a scan or placed drawing) and carries its estimated positional
error and review status. Planners move the status (digitised → checked → approved, or back) through
:func:`set_review_status`, an ordinary update recorded in the history with its reason.

:func:`provenance_sql` is the SQL expression the lookup puts in each zone's answer: the facts and one sentence in
Vietnamese and English ("from the scanned sheet 12, positional error about 2 m, not yet checked"); the wording
lives here only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.editing.history import update_feature
from gis_service.errors import NotFound, ValidationError

__all__ = [
    "PROVENANCE_LAYERS",
    "REVIEW_STATUSES",
    "feature_provenance",
    "provenance_sql",
    "set_review_status",
]

REVIEW_STATUSES = ("digitised", "checked", "approved")
#: The layers whose features carry provenance (migration 0015).
PROVENANCE_LAYERS = ("zones", "red_lines", "building_lines", "parcels", "buildings")

_STATUS_WORDS = {
    "digitised": ("chưa kiểm tra", "not yet checked"),
    "checked": ("đã kiểm tra", "checked"),
    "approved": ("đã phê duyệt", "approved"),
}


def _case(expr: str, words: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in words.items())
    return f"CASE {expr} {whens} ELSE '{default}' END"


def provenance_sql(f: str, s: str) -> str:
    """A ``json_build_object`` of feature alias ``f`` joined to its ``feature_sources`` row alias ``s``.

    Members: ``method``, ``file``, ``layer``, ``sheet``, ``sha256``, ``imported_by``, ``imported_at``, ``reason``,
    ``position_error_m``, ``review_status``, ``sentence_vi``, ``sentence_en``.
    """
    err = (
        f"CASE WHEN {f}.position_error_m IS NULL THEN '' WHEN {f}.position_error_m >= 1 "
        f"THEN round({f}.position_error_m)::text ELSE round({f}.position_error_m, 1)::text END"
    )
    from_vi = (
        f"CASE {s}.method WHEN 'scan' THEN 'Từ bản đồ quét tờ ' || coalesce({s}.sheet, {s}.file_name) "
        f"WHEN 'cad' THEN 'Từ bản vẽ CAD ' || coalesce({s}.sheet, {s}.file_name) "
        f"WHEN 'gis' THEN 'Từ tệp GIS ' || {s}.file_name || coalesce(', lớp ' || {s}.layer_name, '') "
        "ELSE 'Không ghi nhận nguồn' END"
    )
    from_en = (
        f"CASE {s}.method WHEN 'scan' THEN 'From the scanned sheet ' || coalesce({s}.sheet, {s}.file_name) "
        f"WHEN 'cad' THEN 'From the CAD drawing ' || coalesce({s}.sheet, {s}.file_name) "
        f"WHEN 'gis' THEN 'From the GIS file ' || {s}.file_name || coalesce(', layer ' || {s}.layer_name, '') "
        "ELSE 'Source not recorded' END"
    )
    status_vi = _case(f"{f}.review_status", {k: v[0] for k, v in _STATUS_WORDS.items()}, "")
    status_en = _case(f"{f}.review_status", {k: v[1] for k, v in _STATUS_WORDS.items()}, "")
    return (
        f"json_build_object('method', {s}.method, 'file', {s}.file_name, 'layer', {s}.layer_name, "
        f"'sheet', {s}.sheet, 'sha256', {s}.sha256, 'imported_by', {s}.imported_by, "
        f"'imported_at', to_char({s}.imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        f"'reason', {s}.reason, 'position_error_m', {f}.position_error_m::float8, "
        f"'review_status', {f}.review_status, "
        f"'sentence_vi', {from_vi} || CASE WHEN {f}.position_error_m IS NULL THEN '' "
        f"ELSE ', sai số vị trí khoảng ' || {err} || ' m' END || ', ' || {status_vi} || '.', "
        f"'sentence_en', {from_en} || CASE WHEN {f}.position_error_m IS NULL THEN '' "
        f"ELSE ', positional error about ' || {err} || ' m' END || ', ' || {status_en} || '.')"
    )


def _layer(layer: str) -> str:
    if layer not in PROVENANCE_LAYERS:
        raise ValidationError(
            f"layer {layer!r} keeps no provenance; one of {', '.join(PROVENANCE_LAYERS)} / lớp này không có nguồn gốc"
        )
    return layer


def feature_provenance(conn: Connection, layer: str, feature_id: int) -> dict[str, Any]:
    """The provenance of one feature (its source row, positional error, review status and the sentences)."""
    table = _layer(layer)
    row = conn.execute(
        sa.text(
            f"SELECT {provenance_sql('t', 's')}::jsonb FROM planning.{table} t "  # noqa: S608 (checked table)
            "LEFT JOIN planning.feature_sources s ON s.id = t.source_id WHERE t.id = :id"
        ),
        {"id": feature_id},
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{layer} {feature_id} does not exist / không có đối tượng này")
    prov: dict[str, Any] = row
    prov["id"] = feature_id
    prov["collection"] = layer
    return prov


def set_review_status(
    conn: Connection, layer: str, feature_id: int, status: str, *, user: str, reason: str
) -> dict[str, Any]:
    """Set a feature's review status (one of :data:`REVIEW_STATUSES`), recorded in the history with ``reason``;
    returns its provenance afterwards. Any plan version, approved too: checking a feature changes no plan rule."""
    table = _layer(layer)
    if status not in REVIEW_STATUSES:
        raise ValidationError(
            f"review status {status!r}: one of {', '.join(REVIEW_STATUSES)} / trạng thái kiểm tra không hợp lệ"
        )
    update_feature(conn, table, feature_id, {"review_status": status}, user=user, reason=reason)
    return feature_provenance(conn, table, feature_id)
