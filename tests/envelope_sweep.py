"""The envelope as the permit check's oracle, tried on every parcel of a database (the sample plans).

For each parcel: the envelope's largest proposal is checked (``compliant``, or ``needs_review`` only where the plan
has no data), then pushed one step past each limit: a floor more, a metre higher, 2 % more floor area, the footprint
moved 0.5 m towards each road across its setback. Each push must fail exactly the rule the envelope says bounds it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from shapely.affinity import translate

from gis_service.permits import check
from gis_service.rules import envelope_of, fetch_site
from gis_service.rules.drawing import geojson
from gis_service.rules.envelope import Envelope
from gis_service.rules.envelope_answer import max_proposal

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


def _push_fronts(conn: psycopg.Connection[Any], env: Envelope, body: dict[str, Any], result: Sweep, pid: int) -> None:
    multi_zone = len(env.placement.parts) > 1 if env.placement else False
    for front, road in zip(env.fronts, env.roads.fronts, strict=True):
        setback = front["building_line_setback_m"] if front["rule"] == "building_line" else None
        if front["rule"] == "red_line_setback":
            setback = float(shapely.distance(env.footprint, road.red))
        if not setback or setback < 0.6:
            result.counts["push: front without a setback of 0.6 m or more (not pushed)"] += 1
            continue
        gap = float(
            shapely.distance(env.footprint, road.bl if front["rule"] == "building_line" and road.bl else road.red)
        )
        direction = _outward(env.footprint, road.red)
        if direction is None:
            continue
        moved = translate(env.footprint, 0.5 * direction[0], 0.5 * direction[1])
        _verdict, failed, _a = _failed(conn, {**body, "footprint": geojson(moved, 4)})
        expected = {front["rule"]}
        if failed == expected:
            result.counts[f"push 0.5 m across the {front['rule']}: fails exactly {front['rule']}"] += 1
        elif multi_zone and failed == expected | {"density"}:
            result.counts[f"push across the {front['rule']}: also density (the move shifted area between zones)"] += 1
        else:
            result.problems.append(
                f"parcel {pid}: pushed 0.5 m towards {front['road_name']} (gap {gap:.3f} m) failed {sorted(failed)}, "
                f"expected {sorted(expected)}"
            )


def sweep(conn: psycopg.Connection[Any], parcel_ids: list[int], *, push: bool = True) -> Sweep:
    """Run the oracle over these parcels (see the module docstring)."""
    result = Sweep()
    for pid in parcel_ids:
        env = envelope_of(fetch_site(conn, parcel_id=pid))
        body = max_proposal(env)
        if body is None:
            result.counts[f"envelope {env.status}: nothing to build ({'; '.join(env.notes_en)[:60]})"] += 1
            continue
        verdict, _failed_ids, answer = _failed(conn, body)
        result.counts[f"largest proposal: {verdict}"] += 1
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
            if f != {"height"}:
                result.problems.append(f"parcel {pid}: a metre higher failed {sorted(f)}")
            result.counts["a metre higher: fails exactly height" if f == {"height"} else "a metre higher: other"] += 1
        area = cap.get("floor_area_m2")
        if area is not None and area.rule == "far" and area.limit.settled and "total_floor_area_m2" in body:
            _v, f, _a = _failed(conn, {**body, "total_floor_area_m2": round(body["total_floor_area_m2"] * 1.02, 2)})
            if f != {"far"}:
                result.problems.append(f"parcel {pid}: 2 % more floor area failed {sorted(f)}")
            result.counts["2 % more floor area: fails exactly far" if f == {"far"} else "2 % more area: other"] += 1
        _push_fronts(conn, env, body, result, pid)
    return result
