"""The road rules: the building line, and the setback from the red line (the plan's, the zone's or QCVN's).

A drawn building line governs its road: the footprint stays behind it. QCVN Table 2.7 is checked beside it only where
it asks more of a tall building; without a building line the zone's setback applies, else Table 2.7. Road rules
answer once per road the lot faces, and for a road it does not face when the footprint crosses into it.
"""

from __future__ import annotations

import shapely

from gis_service.rules.compare import basis_note_en, basis_note_vi
from gis_service.rules.footprint import ZonePart
from gis_service.rules.limits import QCVN, Limit, qcvn_setback, setback_requirement
from gis_service.rules.measured import LINE_TOLERANCE_M, PlacedProposal, max_distance, rounded
from gis_service.rules.result import Status
from gis_service.rules.roads import MIN_AREA_M2, Road
from gis_service.rules.site import Site

__all__ = ["building_line", "building_lines", "red_line_setback", "red_line_setbacks"]

_MISSING_VI = {"height_m": "chiều cao công trình", "road_width_m": "lộ giới đường"}
_MISSING_EN = {"height_m": "the building height", "road_width_m": "the road width"}


def _line_source(site: Site, road: Road, what_vi: str) -> str:
    plan = site.plans.get(road.red_line.plan_id)
    name = f" đường {road.name}" if road.name else ""
    if plan is None:
        return f"{what_vi}{name}"
    decision = f"QĐ {plan.decision_no}, " if plan.decision_no else ""
    return f"{what_vi}{name}, {decision}{plan.code} v{plan.version}"


def building_lines(c: PlacedProposal) -> None:
    """``building_line`` for every road the lot faces that has one."""
    for road in c.roads.fronts:
        if road.bl is not None:
            building_line(c, road)


def red_line_setbacks(c: PlacedProposal) -> None:
    """``red_line_setback`` for every road the lot faces, and every other road the footprint crosses into."""
    for road in c.roads.fronts:
        red_line_setback(c, road)
    for road in c.roads.roads:  # a road the lot does not face may still be crossed
        if not road.faces and c.in_road(road) > LINE_TOLERANCE_M:
            red_line_setback(c, road)


def building_line(c: PlacedProposal, road: Road) -> None:
    """``building_line``: the footprint on the lot stays behind the road's building line."""
    assert road.bl is not None and road.bl_road_side is not None
    src = _line_source(c.site, road, "Chỉ giới xây dựng")
    name = road.name or "đường"
    # the part already in road land is the red line's rule: here, what crosses the building line on the lot
    on_lot = shapely.difference(c.placed.geom, road.road_side)
    ahead = shapely.intersection(on_lot, road.bl_road_side)
    protrudes = rounded(max_distance(ahead, road.bl), 3) if shapely.area(ahead) >= MIN_AREA_M2 else 0.0
    assert protrudes is not None
    if protrudes > LINE_TOLERANCE_M:
        c.add(
            "building_line",
            "fail",
            -protrudes,
            0,
            "m",
            src,
            f"Công trình vượt quá chỉ giới xây dựng đường {name} {protrudes} m.",
            f"The footprint crosses the building line of {name} by {protrudes} m.",
            road=road,
            basis="plan",
        )
        return
    behind = rounded(shapely.distance(on_lot, road.bl), 3) if not on_lot.is_empty else None
    c.add(
        "building_line",
        "pass",
        behind,
        0,
        "m",
        src,
        f"Công trình nằm sau chỉ giới xây dựng đường {name} ({behind} m; khoảng lùi {road.bl_setback_m:g} m).",
        f"The footprint stands behind the building line of {name} ({behind} m; setback {road.bl_setback_m:g} m).",
        road=road,
        basis="plan",
    )


def red_line_setback(c: PlacedProposal, road: Road) -> None:
    """``red_line_setback``: the footprint keeps out of road land, and as far from the red line as required."""
    in_road = rounded(c.in_road(road), 3) or 0.0
    if in_road > LINE_TOLERANCE_M:
        name = road.name or "đường"
        c.add(
            "red_line_setback",
            "fail",
            -in_road,
            0,
            "m",
            _line_source(c.site, road, "Chỉ giới đường đỏ"),
            f"Công trình lấn qua chỉ giới đường đỏ đường {name} {in_road} m vào phần đất dành cho đường.",
            f"The footprint crosses the red line of {name} by {in_road} m into the road reservation.",
            road=road,
            basis="plan",
        )
        return
    for part, limit, missing in _setback_limits(c, road):
        dist = rounded(shapely.distance(c.in_zone(part), road.red), 3)
        _setback_answer(c, road, part, dist, limit, missing)


def _setback_limits(c: PlacedProposal, road: Road) -> list[tuple[ZonePart | None, Limit, str | None]]:
    """The setbacks from the road's red line to check: per zone part, or QCVN's alone beside a building line."""
    height = c.req.height_m
    if road.bl is not None:
        # the plan's building line governs this road; QCVN Table 2.7 may still ask more of a tall building
        qcvn, _missing = qcvn_setback(road, height)
        if qcvn is None or qcvn <= (road.bl_setback_m or 0.0):
            return []
        parts: tuple[ZonePart | None, ...] = (None,)
    else:
        parts = c.parts()
    limits: list[tuple[ZonePart | None, Limit, str | None]] = []
    for part in parts:
        if part is None:
            value, _m = qcvn_setback(road, height)
            assert value is not None and height is not None and road.width_m is not None
            limit = Limit(value, "qcvn", f"{QCVN} Bảng 2.7 (đường {road.width_m:g} m, cao {height:g} m)")
            limits.append((None, limit, None))
        else:
            limit, missing = setback_requirement(road, part.zone, height)
            limits.append((part, limit, missing))
    return limits


def _setback_answer(
    c: PlacedProposal, road: Road, part: ZonePart | None, dist: float | None, limit: Limit, missing: str | None
) -> None:
    if limit.value is None:
        _setback_unknown(c, road, part, dist, limit, missing)
        return
    name = road.name or "đường"
    assert dist is not None
    ok = dist >= limit.value
    status: Status = "pass" if ok else "fail"
    if not limit.settled:
        status = "needs_review"
    sign = "≥" if ok else "<"
    c.add(
        "red_line_setback",
        status,
        dist,
        limit.value,
        "m",
        limit.source,
        f"Khoảng lùi so với chỉ giới đường đỏ đường {name} {dist} m {sign} {limit.value:g} m yêu cầu."
        + basis_note_vi(limit),
        f"Setback from the red line of {name} {dist} m {sign} the required {limit.value:g} m." + basis_note_en(limit),
        part=part,
        road=road,
        basis=limit.basis,
        confidence=limit.confidence,
    )


def _setback_unknown(
    c: PlacedProposal, road: Road, part: ZonePart | None, dist: float | None, limit: Limit, missing: str | None
) -> None:
    """A setback without a required distance: none set by the plan (pass), or unknown (an officer must look)."""
    name = road.name or "đường"
    if limit.basis == "no_limit":
        c.add(
            "red_line_setback",
            "pass",
            dist,
            None,
            "m",
            limit.source,
            f"Quy hoạch không giới hạn khoảng lùi theo đường {name} ({dist} m).",
            f"The plan sets no setback from {name} ({dist} m).",
            part=part,
            road=road,
            basis="no_limit",
        )
        return
    need_vi = _MISSING_VI.get(missing or "", "")
    need_en = _MISSING_EN.get(missing or "", "")
    c.add(
        "red_line_setback",
        "needs_review",
        dist,
        None,
        "m",
        f"{QCVN} Bảng 2.7",
        f"Quy hoạch không có số liệu khoảng lùi theo đường {name} và thiếu {need_vi} để tra Bảng 2.7: cán bộ "
        "cần kiểm tra.",
        f"The plan has no setback from {name} and {need_en} is missing for Table 2.7: an officer must check.",
        part=part,
        road=road,
        basis="no_data",
    )
