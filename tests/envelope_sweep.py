"""The envelope as the permit check's oracle, tried on every parcel of a database (the sample plans).

For each parcel: the envelope's largest proposal is checked (``compliant``, or ``needs_review`` only where the plan
has no data), then pushed one step past each limit: a floor more, a metre higher, 2 % more floor area, the footprint
moved 0.5 m towards each road across its setback (and kept within the lot: a skewed lot's side boundary would cut a
corner off). Each push must fail exactly the rule the envelope says bounds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from shapely.affinity import translate

from gis_service.permits import check
from gis_service.rules.drawing import geojson
from gis_service.rules.envelope import Envelope
from gis_service.rules.envelope_answer import max_proposal
from gis_service.rules.limits import STOREY_M, qcvn_setback, setback_requirement

__all__ = ["Sweep", "sweep"]


@dataclass
class Sweep:
    """What the sweep found: counts per outcome and the parcels behind each surprise."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"  {k}: {v}" for k, v in sorted(self.counts.items())]
        return "\n".join(lines)


def _failed(conn: psycopg.Connection[Any], body: dict[str, Any]) -> tuple[str, set[str], dict[str, Any]]:
    answer, _m = check(conn, body)
    return answer["verdict"], set(answer["failed"]), answer


def _outward(fp: shapely.Geometry, red: shapely.Geometry) -> tuple[float, float] | None:
    """The unit vector from the footprint towards a red line (the way across that road's setback)."""
    line = shapely.shortest_line(fp, red)
    (x0, y0), (x1, y1) = shapely.get_coordinates(line)
    dx, dy = x1 - x0, y1 - y0
    n = (dx * dx + dy * dy) ** 0.5
    return None if n == 0 else (dx / n, dy / n)


def _required(env: Envelope, road: Any, rule: str) -> tuple[float, shapely.Geometry] | None:
    """How far from the road the footprint must stay (m) and the line measured from, when the footprint is at it."""
    if rule == "building_line":  # a building line on the red line (0 m) is no setback to push across
        return (0.0, road.bl) if road.bl is not None and (road.bl_setback_m or 0) >= 0.5 else None
    height = env.capacity["height_m"].value or (env.capacity["floors"].value or 0) * STOREY_M
    needs = []
    for part in env.placement.parts if env.placement else ():
        limit, _missing = setback_requirement(road, part.zone, height)
        if limit.value is not None:
            needs.append(limit.value)
    return (max(needs), road.red) if needs else None


def _push_fronts(
    conn: psycopg.Connection[Any], env: Envelope, body: dict[str, Any], answer: dict[str, Any], result: Sweep, pid: int
) -> None:
    """Push the footprint across each front's setback; ``answer``: the check's answer to ``body`` itself."""
    before = {z["id"] for z in (answer["plan"] or {}).get("zones", [])}
    for front, road in zip(env.fronts, env.roads.fronts, strict=True):
        rule = front["rule"]
        need = _required(env, road, rule)
        if need is None or (rule == "red_line_setback" and need[0] < 0.5):  # the lot's edge is the red line
            result.counts["push: front without a setback of 0.5 m or more (not pushed)"] += 1
            continue
        gap = float(shapely.distance(env.footprint, need[1])) - need[0]
        if gap > 0.01:  # the footprint stops short of this setback: another rule bounds it there
            result.counts["push: front where the footprint stops short of the setback (not pushed)"] += 1
            continue
        direction = _outward(env.footprint, road.red)
        if direction is None:
            continue
        # moved 0.5 m towards the road; what a skewed lot's side boundary then leaves outside is cut off
        moved = shapely.intersection(translate(env.footprint, 0.5 * direction[0], 0.5 * direction[1]), env.site.lot)
        _verdict, failed, answer = _failed(conn, {**body, "footprint": geojson(moved, 4)})
        after = {z["id"] for z in (answer["plan"] or {}).get("zones", [])}
        if failed == {rule}:
            result.counts[f"push 0.5 m across the {rule}: fails exactly {rule}"] += 1
        elif rule in failed and after != before:
            result.counts[f"push across the {rule}: fails it, and the footprint entered another zone"] += 1
        elif rule in failed and len(before) > 1 and failed - {rule} <= {"density", "far"}:
            result.counts[f"push across the {rule}: fails it, and moved area between its zones (density, far)"] += 1
        else:
            result.problems.append(
                f"parcel {pid}: pushed 0.5 m towards {front['road_name']} across the {rule} failed {sorted(failed)}"
            )


def _taller_needs_more(env: Envelope, height: float) -> bool:
    """Whether QCVN Table 2.7 asks a larger setback of a building a metre taller on one of the lot's roads."""
    return any(
        (qcvn_setback(road, height + 1)[0] or 0) > (qcvn_setback(road, height)[0] or 0) for road in env.roads.fronts
    )


def sweep(conn: psycopg.Connection[Any], envelopes: Mapping[int, Envelope], *, push: bool = True) -> Sweep:
    """Run the oracle over these parcels' envelopes (see the module docstring)."""
    result = Sweep()
    for pid, env in envelopes.items():
        body = max_proposal(env)
        if body is None:
            result.counts[f"envelope {env.status}: nothing to build ({'; '.join(env.notes_en)[:60]})"] += 1
            continue
        verdict, _failed_ids, answer = _failed(conn, body)
        result.counts[f"largest proposal: {verdict}"] += 1
        # as a browser sends it: in lon/lat, through the official shift and back
        lonlat = _failed(conn, max_proposal(env, crs="CRS84") or body)[0]
        if lonlat != verdict:
            result.problems.append(f"parcel {pid}: the largest proposal sent in CRS84 is {lonlat}, not {verdict}")
        if verdict == "not_compliant":
            bad = [r for r in answer["rules"] if r["status"] == "fail"]
            result.problems.append(
                f"parcel {pid}: the envelope's proposal fails {[(r['id'], r['message_en']) for r in bad]}"
            )
            continue
        if verdict == "needs_review":
            if env.status != "needs_review":
                result.problems.append(
                    f"parcel {pid}: the check needs review ({answer['needs_review']}) "
                    f"but the envelope says {env.status}"
                )
            result.review.append(f"parcel {pid}: {answer['needs_review']}")
        if not push:
            continue
        cap = env.capacity
        if "floors" in body and cap["floors"].limit.settled:
            _v, f, _a = _failed(conn, {**body, "floors": body["floors"] + 1})
            result.counts["a floor more: fails exactly floors" if f == {"floors"} else "a floor more: other"] += 1
            if f != {"floors"}:
                result.problems.append(f"parcel {pid}: a floor more failed {sorted(f)}")
        if "height_m" in body and cap["height_m"].limit.settled:
            _v, f, _a = _failed(conn, {**body, "height_m": body["height_m"] + 1})
            if f == {"height"}:
                result.counts["a metre higher: fails exactly height"] += 1
            elif f == {"height", "red_line_setback"} and _taller_needs_more(env, body["height_m"]):
                result.counts["a metre higher: fails height, and Table 2.7's setback for the taller building"] += 1
            else:
                result.problems.append(f"parcel {pid}: a metre higher failed {sorted(f)}")
        area = cap.get("floor_area_m2")
        if area is not None and area.rule == "far" and area.limit.settled and "total_floor_area_m2" in body:
            _v, f, _a = _failed(conn, {**body, "total_floor_area_m2": round(body["total_floor_area_m2"] * 1.02, 2)})
            if f != {"far"}:
                result.problems.append(f"parcel {pid}: 2 % more floor area failed {sorted(f)}")
            result.counts["2 % more floor area: fails exactly far" if f == {"far"} else "2 % more area: other"] += 1
        _push_fronts(conn, env, body, answer, result, pid)
    return result
