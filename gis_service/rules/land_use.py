"""The zone rules on what the footprint is and how much of the lot it takes: land use, density, floor area ratio."""

from __future__ import annotations

from dataclasses import replace

from gis_service.rules.compare import Measure, compare, no_zone_data
from gis_service.rules.footprint import ZonePart
from gis_service.rules.limits import density_limit, plan_source, zone_limit
from gis_service.rules.measured import OUTSIDE_LOT_TOLERANCE_M2, PlacedProposal, rounded

__all__ = ["density", "far", "land_use"]

_DENSITY = Measure("density", "%", "mật độ xây dựng", "building density", None)
_FAR = Measure("far", "ratio", "hệ số sử dụng đất", "floor area ratio", "total_floor_area_m2")


def land_use(c: PlacedProposal) -> None:
    """``land_use``: the proposal's uses against each zone's use, once per zone the footprint stands in."""
    use = " ".join(c.p.use_codes)
    if not c.placed.parts:
        no_zone_data(
            c,
            "land_use",
            use,
            None,
            "Quy hoạch không có số liệu tại vị trí công trình (không có ô quy hoạch đã phê duyệt): cán bộ cần "
            "kiểm tra.",
            "The plan has no data at the footprint (no zone of an approved plan): an officer must check.",
        )
        return
    for part in c.placed.parts:
        _land_use_in(c, part, use)
    _outside_zones(c)


def _land_use_in(c: PlacedProposal, part: ZonePart, use: str) -> None:
    z = part.zone
    allowed = {z.land_use_code, *z.allowed_uses}
    allowed |= c.tables.group_members.get(z.land_use_code, frozenset())
    ok = bool(allowed & set(c.p.use_codes))
    limit = " ".join(sorted(allowed))
    if z.scanned:
        lim = zone_limit(z, "max_floors")  # only its source and confidence are used here
        c.add(
            "land_use",
            "needs_review",
            use,
            limit,
            None,
            lim.source,
            f"Ô {z.label} đọc từ bản đồ quét (độ tin cậy {lim.confidence}): chức năng {z.land_use_code} "
            f"{'phù hợp' if ok else 'không phù hợp'} với {use}; cán bộ cần đối chiếu bản đồ gốc.",
            f"Zone {z.label} is read from a scanned map (confidence {lim.confidence}): its use "
            f"{z.land_use_code} {'fits' if ok else 'does not fit'} {use}; an officer must check the original.",
            part=part,
            basis="scanned_draft",
            confidence=lim.confidence,
        )
    elif ok:
        c.add(
            "land_use",
            "pass",
            use,
            limit,
            None,
            plan_source(z),
            f"Mục đích sử dụng {use} phù hợp ô {z.label} ({z.land_use_code}).",
            f"Use {use} is allowed in zone {z.label} ({z.land_use_code}).",
            part=part,
            basis="plan",
        )
    else:
        c.add(
            "land_use",
            "fail",
            use,
            limit,
            None,
            plan_source(z),
            f"Mục đích sử dụng {use} không phù hợp ô {z.label}, nơi quy hoạch cho phép {limit}.",
            f"Use {use} is not allowed in zone {z.label}, planned for {limit}.",
            part=part,
            basis="plan",
        )


def _outside_zones(c: PlacedProposal) -> None:
    outside = rounded(c.placed.outside_zones_m2, 2) or 0.0
    if outside > OUTSIDE_LOT_TOLERANCE_M2:
        c.add(
            "land_use",
            "needs_review",
            outside,
            0,
            "m²",
            "quy hoạch đã phê duyệt",
            f"{outside} m² của công trình nằm ngoài mọi ô quy hoạch đã phê duyệt (không có số liệu).",
            f"{outside} m² of the footprint lies outside every zone of an approved plan (no data).",
            basis="no_data",
        )


def density(c: PlacedProposal) -> None:
    """``density``: the footprint's share of the net lot in each zone against the zone's (or QCVN's) limit."""
    for part in c.parts():
        if part is None:
            value = rounded(100 * c.placed.area_m2 / c.net_area, 2) if c.net_area else None
            no_zone_data(
                c,
                "density",
                value,
                "%",
                f"Mật độ xây dựng {value}%: quy hoạch không có số liệu tại đây, cán bộ cần kiểm tra.",
                f"Building density {value}%: the plan has no data here; an officer must check.",
            )
            continue
        value = rounded(100 * part.fp_m2 / part.lot_m2, 2) if part.lot_m2 else None
        limit, missing = density_limit(
            part.zone,
            category=c.cat,
            lot_area_m2=c.net_area,
            height_m=c.req.height_m,
            floors=c.req.floors,
        )
        compare(c, replace(_DENSITY, missing_input=missing), part, value, limit)


def _far_value(c: PlacedProposal, part: ZonePart | None) -> float | None:
    """The floor area ratio on the net lot, or on a zone's part of it (its share of the floor area)."""
    total = c.req.total_floor_area_m2
    if total is None:
        return None
    if part is None:
        return rounded(total / c.net_area, 3) if c.net_area else None
    return rounded(total * c.placed.share(part) / part.lot_m2, 3) if part.lot_m2 else None


def far(c: PlacedProposal) -> None:
    """``far``: the floor area ratio in each zone against the zone's limit."""
    for part in c.parts():
        value = _far_value(c, part)
        if part is None:
            no_zone_data(
                c,
                "far",
                value,
                "ratio",
                "Quy hoạch không có số liệu hệ số sử dụng đất tại đây: cán bộ cần kiểm tra.",
                "The plan has no data on the floor area ratio here: an officer must check.",
            )
            continue
        compare(c, _FAR, part, value, zone_limit(part.zone, "max_far"))
