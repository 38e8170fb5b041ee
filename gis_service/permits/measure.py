"""The measurements of a permit check, made by PostGIS in EPSG:9214 (legal metres) in one statement.

Two sources of plan rows share the same statement:

* ``live``: the zones of the approved plans under the footprint (the most detailed plan level there), the nearest red
  line and building line of an approved plan, the parcel as it is now;
* ``pinned``: the very rows a recorded check used, read back from ``planning.change_history`` by entry id (each
  entry holds a full row state with its geometry), so the check is reproduced after the plan is edited or
  republished.

The answer is a dict: ``lot``, ``footprint``, ``zones`` (each with the footprint's and the lot's area inside it and
the setback of the footprint's part in it), ``red_line`` (distance, frontage), ``building_line`` (how far the
footprint stands behind it, or protrudes), and ``drawing`` (GeoJSON in EPSG:9214) when asked.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from gis_service.errors import NotFound, ValidationError
from gis_service.permits.model import Proposal

__all__ = ["SEARCH_M", "measure", "measure_async", "measure_params"]

#: How far from the lot a red line or building line is looked for (m).
SEARCH_M = 30.0
#: A lot "reaches" the red line when it lies within this distance (m): digitised lots and red lines rarely meet exactly.
FRONTAGE_TOLERANCE_M = 1.0
#: Smaller shared areas (m²) are digitising noise (the footprint only touches the zone).
MIN_AREA_M2 = 0.01
#: A footprint stands in a zone when it covers at least the smaller of these there: 1 m² or 2 % of the footprint
#: (a 1:2000 plan's lines are good to a few decimetres on the ground; a sliver along a zone edge is that noise).
SLIVER_M2 = 1.0
SLIVER_SHARE = 0.02

_ZONE_COLUMNS = (
    "id, plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, min_floors, max_height_m, max_far, "
    "min_setback_m, heritage_zone, attributes, row_version"
)
_PLAN_COLUMNS = "id, code, name, level, version, decision_no, decision_date, approving_authority, row_version"
_PARCEL_COLUMNS = "id, ward, sheet_no, parcel_no, area_m2, land_use_code, address, row_version"
_LINE_COLUMNS = "id, plan_id, road_name, red_line_width_m, row_version"


def _alias(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def _history(table: str, columns: str, where: str) -> str:
    return (
        f"SELECT {_alias(columns, 'r')}, h.id AS history_id, h.after_geom AS geom FROM planning.change_history h "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::planning.{table}, h.after) r "
        f"WHERE h.table_name = '{table}' AND {where}"
    )


def _live(table: str, columns: str, where: str) -> str:
    return f"SELECT {_alias(columns, 't')}, NULL::bigint AS history_id, t.geom FROM planning.{table} t WHERE {where}"


SOURCES: dict[str, dict[str, str]] = {
    "live": {
        "plans": _live("plans", _PLAN_COLUMNS, "t.status = 'approved'"),
        "parcel": _live("parcels", _PARCEL_COLUMNS, "t.id = %(parcel_id)s"),
        "zones": _live("zones", _ZONE_COLUMNS, "ST_Intersects(t.geom, (SELECT g FROM fp))"),
        "red_lines": _live(
            "red_lines",
            _LINE_COLUMNS,
            "CASE WHEN %(red_line_id)s::bigint IS NULL THEN ST_DWithin(t.geom, (SELECT g FROM lot), %(search_m)s) "
            "ELSE t.id = %(red_line_id)s END",
        ),
        "building_lines": _live(
            "building_lines",
            _LINE_COLUMNS + ", setback_m",
            "ST_DWithin(t.geom, (SELECT g FROM lot), %(search_m)s)",
        ),
    },
    "pinned": {
        "plans": _history("plans", _PLAN_COLUMNS, "h.id = ANY(%(plan_h)s)"),
        "parcel": _history("parcels", _PARCEL_COLUMNS, "h.id = %(parcel_h)s"),
        "zones": _history("zones", _ZONE_COLUMNS, "h.id = ANY(%(zone_h)s)"),
        "red_lines": _history("red_lines", _LINE_COLUMNS, "h.id = ANY(%(red_h)s)"),
        "building_lines": _history("building_lines", _LINE_COLUMNS + ", setback_m", "h.id = ANY(%(bl_h)s)"),
    },
}

_TEMPLATE = """
WITH fp AS (
    SELECT CASE WHEN %(fp_srid)s::int = 9214 THEN ST_SetSRID(ST_GeomFromWKB(%(fp)s::bytea), 9214)
        ELSE ST_Transform(ST_SetSRID(ST_GeomFromWKB(%(fp)s::bytea), %(fp_srid)s::int), 9214) END AS g
), parcel AS ({parcel}
), lot AS (
    SELECT coalesce((SELECT geom FROM parcel), CASE WHEN %(lot_srid)s::int = 9214
        THEN ST_SetSRID(ST_GeomFromWKB(%(lot)s::bytea), 9214)
        ELSE ST_Transform(ST_SetSRID(ST_GeomFromWKB(%(lot)s::bytea), %(lot_srid)s::int), 9214) END) AS g
), plans AS ({plans}
), zsrc AS ({zones}
), zhit AS (
    SELECT z.*, p.code AS plan_code, p.name AS plan_name, p.level AS plan_level, p.version AS plan_version,
           p.decision_no, p.decision_date, p.approving_authority, p.row_version AS plan_row_version,
           p.history_id AS plan_history_id,
           CASE p.level WHEN 'detailed' THEN 4 WHEN 'zoning' THEN 3 WHEN 'general' THEN 2 ELSE 1 END AS level_rank,
           ST_Intersection(z.geom, fp.g) AS fp_part, ST_Area(ST_Intersection(z.geom, lot.g)) AS lot_m2
    FROM zsrc z JOIN plans p ON p.id = z.plan_id CROSS JOIN fp CROSS JOIN lot
), level AS (
    SELECT z.*, ST_Area(z.fp_part) AS fp_m2 FROM zhit z WHERE z.level_rank = (SELECT max(level_rank) FROM zhit)
), zones AS (
    -- a zone the footprint only grazes (digitising noise along a zone edge) is not one it stands in
    SELECT l.* FROM level l CROSS JOIN fp
    WHERE l.fp_m2 >= greatest(%(min_area)s, least(%(sliver_m2)s, %(sliver_share)s * ST_Area(fp.g)))
), rsrc AS ({red_lines}
), red AS (
    SELECT r.*, p.row_version AS plan_row_version, ST_Distance(r.geom, lot.g) AS lot_dist,
           ST_Distance(r.geom, fp.g) AS fp_dist,
           ST_ShortestLine(fp.g, r.geom) AS shortest,
           ST_LineMerge(ST_Intersection(r.geom, ST_Expand(lot.g, %(search_m)s))) AS clip
    FROM rsrc r JOIN plans p ON p.id = r.plan_id CROSS JOIN lot CROSS JOIN fp
    ORDER BY ST_Distance(r.geom, lot.g), r.id LIMIT 1
), red_road AS (
    -- the road side of the red line: the side holding less of the lot
    SELECT CASE WHEN ST_Area(ST_Intersection(s.l, lot.g)) < ST_Area(ST_Intersection(s.r, lot.g)) THEN s.l ELSE s.r END
           AS g
    FROM (SELECT ST_Buffer(clip, 200, 'side=left') AS l, ST_Buffer(clip, 200, 'side=right') AS r FROM red) s
    CROSS JOIN lot
), red_measure AS (
    SELECT coalesce((SELECT max(ST_Distance(d.geom, r.clip))
                     FROM ST_DumpPoints(ST_Intersection(fp.g, rr.g)) d
                     WHERE ST_Area(ST_Intersection(fp.g, rr.g)) >= %(min_area)s), 0) AS in_road_m
    FROM red r CROSS JOIN red_road rr CROSS JOIN fp
), bsrc AS ({building_lines}
), bl AS (
    SELECT b.*, p.row_version AS plan_row_version,
           ST_LineMerge(ST_Intersection(b.geom, ST_Expand(lot.g, %(search_m)s))) AS clip
    FROM bsrc b JOIN plans p ON p.id = b.plan_id CROSS JOIN lot
    ORDER BY ST_Distance(b.geom, lot.g), b.id LIMIT 1
), bl_sides AS (
    SELECT bl.id, ST_Buffer(bl.clip, 200, 'side=left') AS left_side, ST_Buffer(bl.clip, 200, 'side=right') AS right_side
    FROM bl
), bl_front AS (
    -- the road side of the building line: the side of the red line, else the side holding less of the lot
    SELECT CASE
        WHEN (SELECT geom FROM red) IS NOT NULL THEN
            CASE WHEN ST_Intersects(s.left_side, ST_ClosestPoint((SELECT geom FROM red), (SELECT clip FROM bl)))
                 THEN s.left_side ELSE s.right_side END
        WHEN ST_Area(ST_Intersection(s.left_side, lot.g)) < ST_Area(ST_Intersection(s.right_side, lot.g))
            THEN s.left_side ELSE s.right_side END AS g
    FROM bl_sides s CROSS JOIN lot
), bl_measure AS (
    SELECT ST_Distance(fp.g, bl.clip) AS behind_m,
           coalesce((SELECT max(ST_Distance(d.geom, bl.clip))
                     FROM ST_DumpPoints(ST_Intersection(fp.g, f.g)) d
                     WHERE ST_Area(ST_Intersection(fp.g, f.g)) >= %(min_area)s), 0) AS protrudes_m
    FROM bl CROSS JOIN fp CROSS JOIN bl_front f
)
SELECT json_build_object(
    'lot', (SELECT json_build_object('area_m2', ST_Area(lot.g), 'valid', ST_IsValid(lot.g)) FROM lot),
    'parcel', (SELECT json_build_object('id', p.id, 'ward', p.ward, 'sheet_no', p.sheet_no, 'parcel_no', p.parcel_no,
        'area_m2', p.area_m2::float8, 'land_use_code', p.land_use_code, 'address', p.address,
        'row_version', p.row_version, 'history_id', p.history_id) FROM parcel p),
    'footprint', (SELECT json_build_object(
        'area_m2', ST_Area(fp.g), 'outside_lot_m2', ST_Area(ST_Difference(fp.g, lot.g)),
        'outside_zones_m2', greatest(0, ST_Area(fp.g) - coalesce((SELECT sum(fp_m2) FROM level), 0)),
        'grazed_zones', (SELECT json_agg(json_build_object('id', l.id, 'zone_code', l.zone_code, 'fp_m2', l.fp_m2))
                         FROM level l WHERE l.id NOT IN (SELECT id FROM zones) AND l.fp_m2 >= %(min_area)s),
        'centroid_e', ST_X(ST_Centroid(fp.g)), 'centroid_n', ST_Y(ST_Centroid(fp.g))) FROM fp, lot),
    'zones', coalesce((SELECT json_agg(json_build_object(
        'id', z.id, 'zone_code', z.zone_code, 'name', z.name, 'land_use_code', z.land_use_code,
        'max_density_pct', z.max_density_pct::float8, 'max_floors', z.max_floors, 'min_floors', z.min_floors,
        'max_height_m', z.max_height_m::float8, 'max_far', z.max_far::float8, 'min_setback_m', z.min_setback_m::float8,
        'heritage_zone', z.heritage_zone, 'allowed_uses', z.attributes->'allowed_uses', 'row_version', z.row_version,
        'history_id', z.history_id, 'fp_m2', z.fp_m2, 'lot_m2', z.lot_m2,
        'setback_m', (SELECT ST_Distance(z.fp_part, r.geom) FROM red r),
        'plan', json_build_object('id', z.plan_id, 'code', z.plan_code, 'name', z.plan_name, 'level', z.plan_level,
            'version', z.plan_version, 'decision_no', z.decision_no,
            'decision_date', to_char(z.decision_date, 'YYYY-MM-DD'), 'approving_authority', z.approving_authority,
            'row_version', z.plan_row_version, 'history_id', z.plan_history_id))
        ORDER BY z.fp_m2 DESC, z.id) FROM zones z), '[]'::json),
    'red_line', (SELECT json_build_object('id', r.id, 'plan_id', r.plan_id, 'road_name', r.road_name,
        'width_m', r.red_line_width_m::float8, 'row_version', r.row_version, 'history_id', r.history_id,
        'plan_row_version', r.plan_row_version,
        'lot_distance_m', r.lot_dist, 'footprint_distance_m', r.fp_dist,
        'footprint_in_road_m', (SELECT in_road_m FROM red_measure),
        'frontage_m', CASE WHEN r.lot_dist > %(tol)s THEN 0 ELSE greatest(0,
            ST_Length(ST_Intersection(r.geom, ST_Buffer(lot.g, %(tol)s))) - 2 * sqrt(%(tol)s ^ 2 - r.lot_dist ^ 2)) END)
        FROM red r CROSS JOIN lot),
    'building_line', (SELECT json_build_object('id', b.id, 'plan_id', b.plan_id, 'road_name', b.road_name,
        'setback_m', b.setback_m::float8, 'row_version', b.row_version, 'history_id', b.history_id,
        'plan_row_version', b.plan_row_version,
        'behind_m', m.behind_m, 'protrudes_m', m.protrudes_m)
        FROM bl b CROSS JOIN bl_measure m),
    'drawing', CASE WHEN %(drawing)s THEN json_build_object(
        'lot', (SELECT ST_AsGeoJSON(g, 3)::json FROM lot),
        'footprint', (SELECT ST_AsGeoJSON(g, 3)::json FROM fp),
        'zones', (SELECT json_agg(json_build_object('zone_code', z.zone_code, 'land_use_code', z.land_use_code,
            'color', c.color_hex, 'geom', ST_AsGeoJSON(ST_Intersection(z.geom, ST_Expand(lot.g, 80)), 3)::json))
            FROM zones z CROSS JOIN lot LEFT JOIN planning.land_use_codes c ON c.code = z.land_use_code),
        'red_line', (SELECT ST_AsGeoJSON(ST_Intersection(r.geom, ST_Expand(lot.g, 80)), 3)::json FROM red r, lot),
        'building_line', (SELECT ST_AsGeoJSON(ST_Intersection(b.clip, ST_Expand(lot.g, 80)), 3)::json FROM bl b, lot),
        'setback', (SELECT ST_AsGeoJSON(r.shortest, 3)::json FROM red r)) END
)::text
"""

SQL = {mode: _TEMPLATE.format(**fragments) for mode, fragments in SOURCES.items()}


def measure_params(
    proposal: Proposal, *, parcel_id: int | None, pins: dict[str, Any] | None = None, drawing: bool = False
) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters (``pins`` selects the pinned source)."""
    req = proposal.request
    params: dict[str, Any] = {
        "fp": proposal.footprint_wkb,
        "fp_srid": proposal.footprint_srid,
        "lot": proposal.lot_wkb,
        "lot_srid": proposal.lot_srid,
        "parcel_id": parcel_id,
        "red_line_id": req.red_line_id,
        "search_m": SEARCH_M,
        "tol": FRONTAGE_TOLERANCE_M,
        "min_area": MIN_AREA_M2,
        "sliver_m2": SLIVER_M2,
        "sliver_share": SLIVER_SHARE,
        "drawing": drawing,
    }
    if pins is None:
        return SQL["live"], params
    params.update(
        plan_h=list(pins.get("plans", [])),
        zone_h=list(pins.get("zones", [])),
        red_h=list(pins.get("red_lines", [])),
        bl_h=list(pins.get("building_lines", [])),
        parcel_h=pins.get("parcel"),
    )
    return SQL["pinned"], params


def _result(text: str, proposal: Proposal, parcel_id: int | None, pinned: bool) -> dict[str, Any]:
    m: dict[str, Any] = json.loads(text)
    if parcel_id is not None and m["parcel"] is None and not pinned:
        raise NotFound(f"no parcel with id {parcel_id}")
    if proposal.request.red_line_id is not None and m["red_line"] is None and not pinned:
        raise NotFound(f"no red line with id {proposal.request.red_line_id} in an approved plan")
    if m["lot"] is None or m["lot"]["area_m2"] in (None, 0):
        raise ValidationError("lot: the lot has no area")
    return m


def measure(
    conn: psycopg.Connection[Any],
    proposal: Proposal,
    *,
    parcel_id: int | None,
    pins: dict[str, Any] | None = None,
    drawing: bool = False,
) -> dict[str, Any]:
    """Measure a proposal (see the module docstring); ``parcel_id`` is the resolved parcel, if any."""
    sql, params = measure_params(proposal, parcel_id=parcel_id, pins=pins, drawing=drawing)
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return _result(row[0], proposal, parcel_id, pins is not None)


async def measure_async(
    conn: psycopg.AsyncConnection[Any],
    proposal: Proposal,
    *,
    parcel_id: int | None,
    pins: dict[str, Any] | None = None,
    drawing: bool = False,
) -> dict[str, Any]:
    """:func:`measure` on an asynchronous connection (the web routes)."""
    sql, params = measure_params(proposal, parcel_id=parcel_id, pins=pins, drawing=drawing)
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return _result(row[0], proposal, parcel_id, pins is not None)
