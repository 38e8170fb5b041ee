"""Quality checks of a plan's zones on the shapes just imported: overlaps, gaps, and the boundary's part no zone
covers. They are reported, not refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.report import ImportReport

#: Beyond this many zones the gap check is skipped: the union of the zones behind it grows slow.
GAP_CHECK_MAX_ZONES = 20_000
#: Per batch of zones written: their shapes, source feature ids and zone codes.
ZoneShapes = list[tuple[np.ndarray, list[Any], list[Any]]]


def overlapping_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i, j), i < j, of shapes that share area (not only an edge) above 1 dm², largest first, and that
    area; found with GEOS's STRtree in one pass. The import's and the validation's overlap check."""
    # Candidates by bounding box only, each unordered pair once: a query with a predicate would also test every
    # zone against itself (a million needless GEOS predicates on a large plan). The interiors-meet test ("2********":
    # the shared part has an area) then runs on the few real neighbours, vectorized.
    a, b = shapely.STRtree(geoms).query(geoms)
    keep = a < b
    a, b = a[keep], b[keep]
    meet = shapely.relate_pattern(geoms[a], geoms[b], "2********")
    pair = np.stack([a[meet], b[meet]], axis=1)
    if not len(pair):
        return pair, np.zeros(0)
    area = shapely.area(shapely.intersection(geoms[pair[:, 0]], geoms[pair[:, 1]]))
    order = np.argsort(-area, kind="stable")
    pair, area = pair[order], area[order]
    big = area > 0.01
    return pair[big], area[big]


def overlaps(zone_shapes: ZoneShapes, report: ImportReport) -> None:
    """Zones of the plan that overlap (share area, not only an edge)."""
    if not zone_shapes:
        return
    geoms = np.concatenate([z[0] for z in zone_shapes])
    fids = [f for z in zone_shapes for f in z[1]]
    codes = [c for z in zone_shapes for c in z[2]]
    pair, area = overlapping_pairs(geoms)
    found = [
        {"features": [fids[i], fids[j]], "zone_codes": [codes[i], codes[j]], "area_m2": round(ar, 2)}
        for (i, j), ar in zip(pair.tolist(), area.tolist(), strict=True)
    ]
    report.quality["overlaps"] = found[:200]
    report.quality["overlaps_total"] = len(found)
    report.quality["overlap_area_m2"] = float(sum(f["area_m2"] for f in found))


def overlaps_then_free(zone_shapes: ZoneShapes, report: ImportReport) -> None:
    """:func:`overlaps`, then the zones' shapes let go: a million GEOS shapes are freed in this thread while the
    server builds the indexes, not when the import returns or the process ends."""
    try:
        overlaps(zone_shapes, report)
    finally:
        zone_shapes.clear()


def gaps_in(union: Any) -> list[dict[str, Any]]:
    """The uncovered part of each hole in the union of the zones (a zone inside a hole covers its part), largest
    first, with a point inside it."""
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors]
    gaps = []
    for hole in holes:
        gap = shapely.difference(hole, union)
        if gap.area > 0.01:
            p = shapely.point_on_surface(gap)
            width = 2 * gap.area / gap.length if gap.length else 0.0  # mean width: a road is wide, a slip is not
            gaps.append(
                {"area_m2": round(gap.area, 2), "width_m": round(width, 2), "at_9214": [round(p.x, 2), round(p.y, 2)]}
            )
    gaps.sort(key=lambda g: -float(g["area_m2"]))
    return gaps


def quality(
    conn: Connection,
    plan_id: int,
    zone_shapes: ZoneShapes,
    report: ImportReport,
    max_zones: int = GAP_CHECK_MAX_ZONES,
) -> None:
    """Gaps (holes in the union of the plan's zones, less what zones inside them cover) and the part of the plan's
    boundary no zone covers. The union runs in GEOS on the shapes just imported (faster than PostGIS's ST_Union of
    the same zones)."""
    if not zone_shapes:
        return
    geoms = np.concatenate([z[0] for z in zone_shapes])
    if len(geoms) > max_zones:
        report.warn(f"gap check skipped: {len(geoms):,} zones (the union behind it is slow beyond {max_zones:,})")
        return
    union = shapely.union_all(geoms)
    gaps = gaps_in(union)
    report.quality["gaps"] = gaps[:200]
    report.quality["gap_area_m2"] = float(sum(float(g["area_m2"]) for g in gaps))
    boundary = conn.execute(
        sa.text("SELECT ST_AsBinary(geom) FROM planning.plans WHERE id = :p AND geom IS NOT NULL"), {"p": plan_id}
    ).scalar_one_or_none()
    if boundary is not None:  # roads, water and gaps inside the plan's boundary
        outline = shapely.from_wkb(bytes(boundary))
        report.quality["uncovered_in_boundary_m2"] = round(float(shapely.difference(outline, union).area), 1)
