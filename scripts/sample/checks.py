"""What must hold of the sample before it is written (the generator stops on the first broken rule)."""

from __future__ import annotations

from collections import Counter

import shapely
from shapely.geometry import LineString, Polygon
from shapely.ops import unary_union

from sample.build import Sample
from sample.cadastre import straight_frontage

OVERLAP_M2 = 0.01  # shapes that share less than this are neighbours, not overlapping
TOUCH_RED_M = 0.01
TOUCH_KIET_M = 0.5


def _overlaps(shapes: list[Polygon]) -> list[tuple[int, int, float]]:
    tree = shapely.STRtree(shapes)
    out = []
    for i, j in zip(*tree.query(shapes, predicate="intersects"), strict=True):
        if i < j:
            a = shapes[i].intersection(shapes[j]).area
            if a > OVERLAP_M2:
                out.append((int(i), int(j), a))
    return out


def check(s: Sample) -> dict[str, int]:
    """Raise ``AssertionError`` naming what is wrong; return counts of what was checked."""
    lots = [p.lot.poly for p in s.parcels]
    assert all(p.is_valid and isinstance(p, Polygon) for p in lots), "a lot is not a valid polygon"
    bad = _overlaps(lots)
    assert not bad, f"lots overlap: {bad[:5]}"
    zones = [z.geom for z in s.zones]
    assert all(z.is_valid for z in zones), "a zone is not valid"
    bad = _overlaps([shapely.make_valid(z) for z in zones])
    assert not bad, f"zones overlap: {[(s.zones[i].code, s.zones[j].code, a) for i, j, a in bad[:5]]}"
    for b in s.blocks:
        inside = unary_union([z for z in zones if z.intersects(b.poly)]).intersection(b.poly)
        assert abs(inside.area - b.poly.area) < 1.0, f"zones do not cover block {b.key}"
    outside = unary_union(zones).difference(s.boundary).area
    assert outside < 1.0, f"{outside:.1f} m² of zones lie outside the plan boundary"

    reds: dict[str, list[LineString]] = {}
    for r in s.red:
        reds.setdefault(r.road.name, []).append(r.geom)
    far = []
    for p in s.parcels:
        if p.lot.road is not None:
            d = min(p.lot.poly.distance(g) for g in reds[p.lot.road.name])
            if d > TOUCH_RED_M:
                far.append((p.ward, p.sheet, p.number, round(d, 3)))
    assert not far, f"front lots off their street's red line: {far[:5]}"
    off = [
        (p.ward, p.sheet, p.number)
        for p in s.parcels
        if p.lot.kiet is not None and p.lot.poly.distance(p.lot.kiet.line) > TOUCH_KIET_M
    ]
    assert not off, f"back lots off their kiệt: {off[:5]}"
    assert all(p.lot.kiet is not None for p in s.parcels if p.lot.kind == "back"), "a back lot without kiệt"
    corners = [p for p in s.parcels if len(p.lot.roads) >= 2 and p.lot.kind != "public"]
    assert len(corners) >= 20, f"only {len(corners)} corner lots"
    outside_lot = [b.key for b in s.buildings if not b.geom.within(b.parcel.lot.poly.buffer(1e-6))]
    assert not outside_lot, f"buildings outside their lots: {outside_lot[:5]}"
    keys = Counter((p.ward, p.sheet, p.number) for p in s.parcels)
    assert max(keys.values()) == 1, f"parcel numbers repeat: {keys.most_common(3)}"
    assert max(Counter(b.key for b in s.buildings).values()) == 1, "building keys repeat"
    cut = [p for p in s.parcels if p.lot.cut_by_red_line > 0.5]
    assert len(cut) >= 15, f"only {len(cut)} lots cut by a red line"
    small = []
    for p in s.parcels:
        if p.lot.row is not None and p.lot.row.kind == "new" and p.lot.road is not None:
            wide = p.lot.road.width >= 19
            if straight_frontage(p) < (5.0 if wide else 4.0) - 0.01 or p.lot.poly.area < (45.0 if wide else 36.0):
                small.append((p.sheet, p.number, round(straight_frontage(p), 2)))
    assert not small, f"new lots below the QCVN minimum: {small[:5]}"
    assert all(2.0 <= k.width <= 3.5 for k in s.kiet), "a kiệt outside 2-3.5 m"
    straddling = [p for p in s.parcels if len(p.zones) > 1]
    assert len(straddling) >= 5, "too few lots straddle two zones"
    return {
        "lots": len(lots),
        "zones": len(zones),
        "corner lots": len(corners),
        "back lots": sum(1 for p in s.parcels if p.lot.kind == "back"),
        "lots cut by a red line": len(cut),
        "straddling lots": len(straddling),
        "buildings": len(s.buildings),
    }
