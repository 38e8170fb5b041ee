"""The answers of ``GET /plans/{code}/diff`` and ``GET /parcels/{id}/changes``, as the routes send them.

Who may see what: the public compares only approved and superseded versions and a draft under consultation today
(:func:`~gis_service.changes.resolve_versions` with ``public``); staff any version.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.changes.diff import PlanDiff, plan_diff
from gis_service.changes.parcel import parcel_changes
from gis_service.changes.sentences import line_sentence, zone_sentences
from gis_service.changes.versions import resolve_versions
from gis_service.consultation.periods import UNDER_CONSULTATION_IDS_SQL
from gis_service.errors import NotFound, ValidationError
from gis_service.printing import check_lang

__all__ = ["diff_answer", "diff_features", "parcel_answer"]

#: Zones sharing less land than this with a parcel only touch it along an edge (m²).
MIN_SHARED_M2 = 0.05

_PLANS_AT_PARCEL_SQL = sa.text(
    "SELECT DISTINCT pl.code FROM planning.parcels par "  # noqa: S608 (static SQL)
    "JOIN planning.zones z ON z.geom && par.geom AND ST_Intersects(z.geom, par.geom) "
    "JOIN planning.plans pl ON pl.id = z.plan_id "
    "WHERE par.id = :parcel AND (CAST(:code AS text) IS NULL OR pl.code = :code) "
    f"AND (NOT :public OR pl.status IN ('approved', 'superseded') OR pl.id IN ({UNDER_CONSULTATION_IDS_SQL})) "
    "AND ST_Area(ST_Intersection(z.geom, par.geom)) >= :min_m2 ORDER BY pl.code"
)
_PARCEL_EXISTS_SQL = sa.text("SELECT 1 FROM planning.parcels WHERE id = :id")


def _diff(conn: Connection, code: str, from_version: int | None, to_version: int | None, public: bool) -> PlanDiff:
    from_id, to_id = resolve_versions(conn, code, from_version, to_version, public=public)
    return plan_diff(conn, from_id, to_id, geojson=True)


def diff_answer(
    conn: Connection, code: str, from_version: int | None, to_version: int | None, *, public: bool
) -> dict[str, Any]:
    """What changed between two versions of plan ``code`` (version numbers; None: the defaults), as JSON."""
    return _diff(conn, code, from_version, to_version, public).as_dict()


def diff_features(
    conn: Connection, code: str, from_version: int | None, to_version: int | None, *, public: bool
) -> dict[str, Any]:
    """The same as a GeoJSON FeatureCollection (CRS84): one feature per changed zone part and line, with its
    summary in both languages, for the viewer to highlight."""
    diff = _diff(conn, code, from_version, to_version, public)
    features: list[dict[str, Any]] = []
    for z in diff.zones:
        zone_props: dict[str, Any] = {
            "layer": "zones",
            "change": z.change,
            "zone_code": z.zone_code,
            "from_id": z.from_id,
            "to_id": z.to_id,
            "summary_vi": " ".join(zone_sentences(z, "vi")),
            "summary_en": " ".join(zone_sentences(z, "en")),
        }
        features.append({"type": "Feature", "geometry": z.geometry, "properties": zone_props})
    for line in (*diff.red_lines, *diff.building_lines):
        props: dict[str, Any] = {
            "layer": line.layer,
            "change": line.change,
            "road_name": line.road_name,
            "from_id": line.from_id,
            "to_id": line.to_id,
            "max_shift_m": line.max_shift_m,
            "summary_vi": line_sentence(line, "vi"),
            "summary_en": line_sentence(line, "en"),
        }
        features.append({"type": "Feature", "geometry": line.geometry, "properties": props})
    whole = diff.as_dict()
    return {
        "type": "FeatureCollection",
        "features": features,
        "plan": whole["plan"],
        "from": whole["from"],
        "to": whole["to"],
    }


def parcel_answer(
    conn: Connection,
    parcel_id: int,
    from_version: int | None,
    to_version: int | None,
    *,
    code: str | None = None,
    lang: str = "vi",
    public: bool,
) -> dict[str, Any]:
    """What the new versions of the plans covering a parcel change for it, plan by plan.

    A plan that covers the parcel but has a single version (visible to the caller) has nothing to compare and is
    left out; so is one without the version numbers asked for, unless ``code`` names it (then: NotFound).

    Raises
    ------
    NotFound
        No parcel with that id; ``code`` names a plan that lacks a version asked for.
    ValidationError
        ``lang`` is not vi or en.
    """
    lang = check_lang(lang)
    if conn.execute(_PARCEL_EXISTS_SQL, {"id": parcel_id}).first() is None:
        raise NotFound(f"no parcel with id {parcel_id}")
    codes = [
        r[0]
        for r in conn.execute(
            _PLANS_AT_PARCEL_SQL, {"parcel": parcel_id, "code": code, "public": public, "min_m2": MIN_SHARED_M2}
        )
    ]
    plans: list[dict[str, Any]] = []
    parcel: dict[str, Any] | None = None
    for c in codes:
        try:
            from_id, to_id = resolve_versions(conn, c, from_version, to_version, public=public)
        except ValidationError:
            continue  # a single version: nothing to compare
        except NotFound:
            if code is not None:
                raise
            continue
        found = parcel_changes(conn, parcel_id, from_id, to_id, lang).as_dict()
        parcel = found.pop("parcel")
        plan = found.pop("plan")
        plans.append({"code": plan["code"], "name": plan["name"], **found})
    if parcel is None:
        parcel = _parcel(conn, parcel_id)
    several = len(plans) > 1
    summary = [f"{p['code']}: {s}" if several else s for p in plans for s in p["summary"]]
    answer: dict[str, Any] = {
        "parcel": parcel,
        "plans": plans,
        "summary": summary,
        "touched": any(p["touched"] for p in plans),
    }
    if not plans:
        answer["message_vi"], answer["message_en"] = (
            ("Không có quy hoạch nào tại thửa đất này.", "No plan covers this parcel.")
            if not codes
            else (
                "Quy hoạch tại thửa đất này chưa có phiên bản mới để so sánh.",
                "The plans covering this parcel have no new version to compare.",
            )
        )
    return answer


def _parcel(conn: Connection, parcel_id: int) -> dict[str, Any]:
    row = conn.execute(
        sa.text("SELECT id, sheet_no, parcel_no, ward, address FROM planning.parcels WHERE id = :id"), {"id": parcel_id}
    ).one()
    return {"id": row[0], "sheet_no": row[1], "parcel_no": row[2], "ward": row[3], "address": row[4]}
