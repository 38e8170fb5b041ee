"""The lot rules: the footprint inside its lot, the lot's access, and QCVN's smallest lots in new areas."""

from __future__ import annotations

import shapely

from gis_service.rules.limits import QCVN
from gis_service.rules.measured import OUTSIDE_LOT_TOLERANCE_M2, PlacedProposal, rounded
from gis_service.rules.roads import Road

__all__ = ["access", "frontage", "inside_lot", "lot_area"]


def inside_lot(c: PlacedProposal) -> None:
    """``inside_lot``: no more of the footprint outside the lot than digitising noise."""
    outside = rounded(c.placed.outside_lot_m2, 2) or 0.0
    src = f"{QCVN} §2.6 (công trình trong ranh giới lô đất)"
    if outside > OUTSIDE_LOT_TOLERANCE_M2:
        c.add(
            "inside_lot",
            "fail",
            outside,
            0,
            "m²",
            src,
            f"{outside} m² của công trình nằm ngoài ranh giới lô đất.",
            f"{outside} m² of the footprint lies outside the lot.",
        )
    else:
        c.add(
            "inside_lot",
            "pass",
            outside,
            0,
            "m²",
            src,
            "Công trình nằm trong ranh giới lô đất.",
            "The footprint lies inside the lot.",
        )


def access(c: PlacedProposal) -> None:
    """``access``: the lot faces a planned road, or (a back lot) an alley of the base map runs beside it."""
    src = f"{QCVN} §2.6 (tiếp cận giao thông)"
    fronts = c.roads.fronts
    if fronts:
        names = ", ".join(r.name or f"#{r.red_line.id}" for r in fronts)
        c.add(
            "access",
            "pass",
            names,
            None,
            None,
            src,
            f"Lô đất tiếp giáp đường quy hoạch: {names}.",
            f"The lot faces a planned road: {names}.",
            road=fronts[0],
            basis="plan",
        )
        return
    alleys = sorted(c.site.alleys, key=lambda a: (shapely.distance(a.geom, c.site.lot), a.id))
    if alleys:
        a = alleys[0]
        width = "" if a.width_m is None else f" ({a.width_m:g} m)"
        name = a.name or f"kiệt #{a.id}"
        c.add(
            "access",
            "pass",
            a.width_m,
            None,
            "m",
            src,
            f"Lô đất phía sau, tiếp cận qua {name}{width}; không xét bề rộng mặt tiền theo đường quy hoạch.",
            f"A back lot reached by the alley {name}{width}; the road-frontage rule does not apply.",
            basis="plan",
        )
        return
    c.add(
        "access",
        "needs_review",
        None,
        None,
        None,
        src,
        "Lô đất không tiếp giáp đường quy hoạch nào và không có kiệt trong dữ liệu: cán bộ cần kiểm tra lối tiếp cận.",
        "The lot faces no planned road and no alley is recorded beside it: an officer must check its access.",
        basis="no_data",
    )


def _lot_size_applies(c: PlacedProposal, rid: str) -> bool:
    """Whether QCVN's smallest lots apply (a housing lot in a new area); else answer ``not_applicable``."""
    unit = "m" if rid == "frontage" else "m²"
    if c.cat is None or not c.cat.housing_lot:
        c.add(
            rid,
            "not_applicable",
            None,
            None,
            unit,
            f"{QCVN} §2.6",
            "Quy định kích thước lô đất chỉ áp dụng cho lô đất ở (nhà ở riêng lẻ).",
            "The lot-size rule applies to housing lots (detached and row houses) only.",
        )
        return False
    if not any(p.zone.new_area for p in c.placed.parts):
        c.add(
            rid,
            "not_applicable",
            None,
            None,
            unit,
            f"{QCVN} §2.6",
            "Kích thước lô đất tối thiểu của QCVN áp dụng cho khu vực phát triển mới; lô đất hiện hữu trong khu "
            "dân cư cũ không xét theo quy định này.",
            "QCVN's smallest lot sizes apply to new development areas; an existing lot in an established "
            "neighbourhood is not judged by them.",
        )
        return False
    return True


def frontage(c: PlacedProposal) -> None:
    """``frontage``: the lot's frontage on its main road at least QCVN's least for that road's width."""
    if not _lot_size_applies(c, "frontage"):
        return
    road = c.roads.main_front
    if road is None:
        c.add(
            "frontage",
            "not_applicable",
            None,
            None,
            "m",
            f"{QCVN} §2.6",
            "Lô đất phía sau, không có mặt tiền đường quy hoạch: xem quy định tiếp cận (access).",
            "A back lot without frontage on a planned road: see the access rule.",
        )
        return
    width = c.req.road_width_m or road.width_m
    if width is None:
        name = road.name or "đường"
        c.add(
            "frontage",
            "needs_review",
            rounded(road.frontage_m, 3),
            None,
            "m",
            f"{QCVN} §2.6",
            f"Không có số liệu lộ giới đường {name}: cán bộ cần kiểm tra bề rộng mặt tiền.",
            f"The width of {name} is not recorded: an officer must check the lot's frontage.",
            road=road,
            basis="no_data",
        )
        return
    _frontage_against(c, road, width)


def _frontage_against(c: PlacedProposal, road: Road, width: float) -> None:
    name = road.name or "đường"
    minimum, _area = c.tables.lot_size(width)
    value = rounded(road.frontage_m, 3) or 0.0
    ok = value >= minimum
    c.add(
        "frontage",
        "pass" if ok else "fail",
        value,
        minimum,
        "m",
        f"{QCVN} §2.6 (đường {width:g} m)",
        f"Mặt tiền lô đất theo đường {name} {value} m {'≥' if ok else '<'} {minimum:g} m tối thiểu.",
        f"The lot's frontage on {name} is {value} m, {'at least' if ok else 'less than'} the minimum {minimum:g} m.",
        road=road,
        basis="qcvn",
    )


def lot_area(c: PlacedProposal) -> None:
    """``lot_area``: the net lot's area at least QCVN's least for its road's width."""
    if not _lot_size_applies(c, "lot_area"):
        return
    value = rounded(c.net_area, 2)
    assert value is not None
    road = c.roads.main_front
    width = c.req.road_width_m or (road.width_m if road else None)
    if width is None:
        width = 0.0  # a back lot: the smallest row of the table
    _front, minimum = c.tables.lot_size(width)
    ok = value >= minimum
    c.add(
        "lot_area",
        "pass" if ok else "fail",
        value,
        minimum,
        "m²",
        f"{QCVN} §2.6 (đường {width:g} m)",
        f"Diện tích lô đất (trừ phần đất dành cho đường) {value} m² {'≥' if ok else '<'} {minimum:g} m².",
        f"Lot area (less road land) {value} m² is {'at least' if ok else 'less than'} the minimum {minimum:g} m².",
        road=road,
        basis="qcvn",
    )
