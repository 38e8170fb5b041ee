"""A permit check from request to answer: parse, find the parcel, read the site, place the footprint, run the rules.

The rules are those of :mod:`gis_service.rules` (the same ones the buildable envelope applies). The answer is
``{verdict, failed, needs_review, officer_judgement, rules: [{id, status, value, limit, unit, basis, source,
message_vi, message_en, zone?, road?}], plan, parcel, lot, footprint, red_line, building_line, proposal}``.
"""

from __future__ import annotations

from typing import Any

import psycopg
import shapely

from gis_service.errors import NotFound, ValidationError
from gis_service.permits.model import CheckRequest, Proposal, parse_request
from gis_service.rules import Placement, Roads, Site, evaluate, fetch_site, fetch_site_async, place, roads_of, verdict
from gis_service.rules.cache import SiteCache
from gis_service.rules.drawing import drawing_of
from gis_service.rules.roads import MIN_AREA_M2

__all__ = ["Measured", "answer", "check", "check_async", "pins_of"]

_SHEET_SQL = (
    "SELECT id, ward FROM planning.parcels WHERE sheet_no = %(s)s AND parcel_no = %(p)s "
    "AND (%(w)s::text IS NULL OR ward = %(w)s OR ward_code = %(w)s) ORDER BY ward LIMIT 20"
)

#: What a check measured: the site, its roads and the placed footprint (and the drawing, when asked).
Measured = dict[str, Any]


def _parcel_from_rows(req: CheckRequest, rows: list[tuple[Any, ...]]) -> int:
    where = f"sheet {req.sheet_no}, parcel {req.parcel_no}" + (f" in {req.ward}" if req.ward else "")
    if not rows:
        raise NotFound(f"no parcel {where} (tờ {req.sheet_no}, thửa {req.parcel_no})")
    if len(rows) > 1:
        raise ValidationError(f"{where} exists in several wards ({', '.join(str(r[1]) for r in rows)}): add ward")
    return int(rows[0][0])


def _site_args(proposal: Proposal, parcel_id: int | None, pins: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "parcel_id": parcel_id,
        "lot": None if proposal.lot_wkb is None else (proposal.lot_wkb, proposal.lot_srid),
        "footprint": (proposal.footprint_wkb, proposal.footprint_srid),
        "red_line_id": proposal.request.red_line_id,
        "pins": pins,
    }


def _plan_summary(placed: Placement) -> dict[str, Any] | None:
    plans: dict[int, dict[str, Any]] = {}
    for part in placed.parts:
        plans.setdefault(part.zone.plan.id, part.zone.plan.as_dict())
    if not plans:
        return None
    main = dict(next(iter(plans.values())))
    main["zones"] = [
        {
            "id": p.zone.id,
            "zone_code": p.zone.zone_code,
            "name": p.zone.name,
            "land_use_code": p.zone.land_use_code,
            "row_version": p.zone.row_version,
            "footprint_m2": round(p.fp_m2, 2),
            "lot_m2": round(p.lot_m2, 2),
            "rules": {
                "max_density_pct": p.zone.max_density_pct,
                "max_floors": p.zone.max_floors,
                "min_floors": p.zone.min_floors,
                "max_height_m": p.zone.max_height_m,
                "max_far": p.zone.max_far,
                "min_setback_m": p.zone.min_setback_m,
                "min_ground_elev_m": p.zone.min_ground_elev_m,
                "heritage_zone": p.zone.heritage_zone,
            },
        }
        for p in placed.parts
    ]
    main["other_plans"] = [p for pid, p in plans.items() if pid != main["id"]]
    return main


def answer(proposal: Proposal, m: Measured) -> dict[str, Any]:
    """The check's answer from what it measured."""
    site: Site = m["site"]
    roads: Roads = m["roads"]
    placed: Placement = m["placed"]
    results = evaluate(proposal, site, roads, placed)
    front = roads.main_front
    parcel = site.parcel
    fp = placed.geom
    centroid = shapely.centroid(fp)
    return {
        "verdict": verdict(results),
        "failed": sorted({r.id for r in results if r.status == "fail"}),
        "needs_review": sorted({r.id for r in results if r.status == "needs_review"}),
        "officer_judgement": sorted({r.id for r in results if r.status == "officer_judgement"}),
        "rules": [r.as_dict() for r in results],
        "plan": _plan_summary(placed),
        "parcel": parcel and {k: v for k, v in parcel.items() if k != "history_id"},
        "lot": {
            "area_m2": round(float(shapely.area(site.lot)), 2),
            "road_area_m2": round(float(shapely.area(roads.road_part)), 2),
            "net_area_m2": round(float(shapely.area(roads.net_lot)), 2),
        },
        "footprint": {
            "area_m2": round(placed.area_m2, 2),
            "grazed_zones": [
                {"id": g.zone.id, "zone_code": g.zone.zone_code, "area_m2": round(g.fp_m2, 2)} for g in placed.grazed
            ],
            "centroid_e": round(centroid.x, 3),
            "centroid_n": round(centroid.y, 3),
        },
        "red_line": front
        and {
            "id": front.red_line.id,
            "road_name": front.name,
            "width_m": front.width_m,
            "row_version": front.red_line.row_version,
            "footprint_distance_m": round(float(shapely.distance(fp, front.red)), 3),
            "frontage_m": round(front.frontage_m, 3),
        },
        "building_line": front
        and front.building_line
        and {
            "id": front.building_line.id,
            "road_name": front.building_line.road_name,
            "setback_m": front.bl_setback_m,
            "row_version": front.building_line.row_version,
        },
        "proposal": proposal.request.model_dump(exclude_none=True),
    }


def pins_of(m: Measured) -> dict[str, Any]:
    """The rows (table, id, row_version) of every plan row a check read, for :mod:`gis_service.permits.workflow`."""
    site: Site = m["site"]
    rows: dict[str, list[tuple[int, int]]] = {
        "zones": [(z.id, z.row_version) for z in site.zones],
        "red_lines": [(r.id, r.row_version) for r in site.red_lines],
        "building_lines": [(b.id, b.row_version) for b in site.building_lines],
        "map_features": [(a.id, a.row_version) for a in site.alleys],
    }
    plan_ids = {z.plan.id: z.plan.row_version for z in site.zones}
    for line in (*site.red_lines, *site.building_lines):  # a line may come from another plan than the zones
        plan_ids.setdefault(line.plan_id, line.plan_row_version)
    rows["plans"] = list(plan_ids.items())
    parcel = site.parcel
    return {"rows": rows, "parcel": None if parcel is None else (parcel["id"], parcel["row_version"])}


def _measured(site: Site, proposal: Proposal, drawing: bool) -> Measured:
    if site.footprint is None or site.footprint.is_empty:
        raise ValidationError("footprint: the footprint is missing")
    roads = roads_of(site).with_main_width(proposal.request.road_width_m)
    placed = place(site, roads, site.footprint)
    m: Measured = {"site": site, "roads": roads, "placed": placed, "parcel": site.parcel}
    if drawing:
        m["drawing"] = drawing_of(site, roads, placed)
    return m


def check(
    conn: psycopg.Connection[Any],
    data: dict[str, Any] | CheckRequest,
    *,
    pins: dict[str, Any] | None = None,
    drawing: bool = False,
) -> tuple[dict[str, Any], Measured]:
    """Run a check on a (synchronous, autocommit or not) psycopg connection: ``(answer, measured)``."""
    proposal = parse_request(data)
    req = proposal.request
    parcel_id = req.parcel_id
    if req.sheet_no is not None and pins is None:
        rows = conn.execute(_SHEET_SQL, {"s": req.sheet_no, "p": req.parcel_no, "w": req.ward}).fetchall()
        parcel_id = _parcel_from_rows(req, rows)
    site = fetch_site(conn, **_site_args(proposal, parcel_id, pins))
    m = _measured(site, proposal, drawing)
    return answer(proposal, m), m


async def check_async(
    conn: psycopg.AsyncConnection[Any],
    data: dict[str, Any] | CheckRequest,
    *,
    drawing: bool = False,
    cache: SiteCache | None = None,
) -> tuple[dict[str, Any], Measured]:
    """:func:`check` (live plan) on an asynchronous connection; a parcel's site may come from ``cache``."""
    proposal = parse_request(data)
    req = proposal.request
    parcel_id = req.parcel_id
    if req.sheet_no is not None:
        cur = await conn.execute(_SHEET_SQL, {"s": req.sheet_no, "p": req.parcel_no, "w": req.ward})
        parcel_id = _parcel_from_rows(req, await cur.fetchall())
    if cache is not None and parcel_id is not None and req.red_line_id is None:
        prep, fp = await cache.prepared(conn, parcel_id, (proposal.footprint_wkb, proposal.footprint_srid))
        # a footprint reaching out of its lot may stand in zones the kept site (the lot's) does not hold
        if fp is not None and shapely.area(shapely.difference(fp, prep.site.lot)) < MIN_AREA_M2:
            site = prep.with_footprint(fp)
            roads = prep.roads.with_main_width(req.road_width_m)
            m: Measured = {"site": site, "roads": roads, "placed": place(site, roads, fp, prep.parts)}
            m["parcel"] = site.parcel
            if drawing:
                m["drawing"] = drawing_of(site, roads, m["placed"])
            return answer(proposal, m), m
    site = await fetch_site_async(conn, **_site_args(proposal, parcel_id, None))
    m = _measured(site, proposal, drawing)
    return answer(proposal, m), m
