"""A permit check from request to answer: parse, find the parcel, measure in PostGIS, evaluate the rules.

The answer is ``{verdict, failed, warnings, rules: [{id, status, value, limit, unit, source, message_vi, message_en,
zone?}], plan: {...}, lot, footprint, proposal}``.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gis_service.errors import NotFound, ValidationError
from gis_service.permits.measure import measure, measure_async
from gis_service.permits.model import CheckRequest, Proposal, parse_request
from gis_service.permits.rules import evaluate, verdict

__all__ = ["answer", "check", "check_async", "pins_of"]

_SHEET_SQL = (
    "SELECT id, ward FROM planning.parcels WHERE sheet_no = %(s)s AND parcel_no = %(p)s "
    "AND (%(w)s::text IS NULL OR ward = %(w)s OR ward_code = %(w)s) ORDER BY ward LIMIT 20"
)


def _parcel_from_rows(req: CheckRequest, rows: list[tuple[Any, ...]]) -> int:
    where = f"sheet {req.sheet_no}, parcel {req.parcel_no}" + (f" in {req.ward}" if req.ward else "")
    if not rows:
        raise NotFound(f"no parcel {where} (tờ {req.sheet_no}, thửa {req.parcel_no})")
    if len(rows) > 1:
        raise ValidationError(f"{where} exists in several wards ({', '.join(str(r[1]) for r in rows)}): add ward")
    return int(rows[0][0])


def answer(proposal: Proposal, m: dict[str, Any]) -> dict[str, Any]:
    """The check's answer from its measurements."""
    results = evaluate(proposal, m)
    rules = [r.as_dict() for r in results]
    zones = m["zones"]
    plans: dict[int, dict[str, Any]] = {}
    for z in zones:
        plans.setdefault(z["plan"]["id"], {k: v for k, v in z["plan"].items() if k != "history_id"})
    main = dict(next(iter(plans.values()), {})) if plans else None
    if main is not None:
        main["zones"] = [
            {
                "id": z["id"],
                "zone_code": z["zone_code"],
                "name": z["name"],
                "land_use_code": z["land_use_code"],
                "row_version": z["row_version"],
                "footprint_m2": round(z["fp_m2"], 2),
                "lot_m2": round(z["lot_m2"], 2),
                "rules": {
                    k: z[k]
                    for k in (
                        "max_density_pct",
                        "max_floors",
                        "min_floors",
                        "max_height_m",
                        "max_far",
                        "min_setback_m",
                        "heritage_zone",
                    )
                },
            }
            for z in zones
        ]
        main["other_plans"] = [p for pid, p in plans.items() if pid != main["id"]]
    red, bl = m["red_line"], m["building_line"]
    return {
        "verdict": verdict(results),
        "failed": sorted({r.id for r in results if r.status == "fail"}),
        "warnings": sorted({r.id for r in results if r.status == "warn"}),
        "rules": rules,
        "plan": main,
        "parcel": m["parcel"] and {k: v for k, v in m["parcel"].items() if k != "history_id"},
        "lot": {"area_m2": round(m["lot"]["area_m2"], 2)},
        "footprint": {
            "area_m2": round(m["footprint"]["area_m2"], 2),
            "grazed_zones": [
                {"id": g["id"], "zone_code": g["zone_code"], "area_m2": round(g["fp_m2"], 2)}
                for g in m["footprint"]["grazed_zones"] or []
            ],
            "centroid_e": round(m["footprint"]["centroid_e"], 3),
            "centroid_n": round(m["footprint"]["centroid_n"], 3),
        },
        "red_line": red
        and {
            "id": red["id"],
            "road_name": red["road_name"],
            "width_m": red["width_m"],
            "row_version": red["row_version"],
            "footprint_distance_m": round(red["footprint_distance_m"], 3),
            "frontage_m": round(red["frontage_m"], 3),
        },
        "building_line": bl
        and {
            "id": bl["id"],
            "road_name": bl["road_name"],
            "setback_m": bl["setback_m"],
            "row_version": bl["row_version"],
        },
        "proposal": proposal.request.model_dump(exclude_none=True),
    }


def pins_of(m: dict[str, Any]) -> dict[str, Any]:
    """The row (table, id, row_version) of every plan row a check used, for :func:`gis_service.permits.workflow`."""
    rows: dict[str, list[tuple[int, int]]] = {"zones": [], "plans": [], "red_lines": [], "building_lines": []}
    plan_ids: dict[int, int] = {}
    for z in m["zones"]:
        rows["zones"].append((z["id"], z["row_version"]))
        plan_ids[z["plan"]["id"]] = z["plan"]["row_version"]
    for key, table in (("red_line", "red_lines"), ("building_line", "building_lines")):
        if m[key] is not None:
            rows[table].append((m[key]["id"], m[key]["row_version"]))
            plan_ids.setdefault(m[key]["plan_id"], m[key]["plan_row_version"])  # a line may come from another plan
    rows["plans"] = list(plan_ids.items())
    parcel = m["parcel"]
    return {"rows": rows, "parcel": None if parcel is None else (parcel["id"], parcel["row_version"])}


def check(
    conn: psycopg.Connection[Any],
    data: dict[str, Any] | CheckRequest,
    *,
    pins: dict[str, Any] | None = None,
    drawing: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a check on a (synchronous, autocommit or not) psycopg connection: ``(answer, measurements)``."""
    proposal = parse_request(data)
    req = proposal.request
    parcel_id = req.parcel_id
    if req.sheet_no is not None and pins is None:
        rows = conn.execute(_SHEET_SQL, {"s": req.sheet_no, "p": req.parcel_no, "w": req.ward}).fetchall()
        parcel_id = _parcel_from_rows(req, rows)
    m = measure(conn, proposal, parcel_id=parcel_id, pins=pins, drawing=drawing)
    return answer(proposal, m), m


async def check_async(
    conn: psycopg.AsyncConnection[Any], data: dict[str, Any] | CheckRequest, *, drawing: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`check` (live plan) on an asynchronous connection."""
    proposal = parse_request(data)
    req = proposal.request
    parcel_id = req.parcel_id
    if req.sheet_no is not None:
        cur = await conn.execute(_SHEET_SQL, {"s": req.sheet_no, "p": req.parcel_no, "w": req.ward})
        parcel_id = _parcel_from_rows(req, await cur.fetchall())
    m = await measure_async(conn, proposal, parcel_id=parcel_id, drawing=drawing)
    return answer(proposal, m), m
