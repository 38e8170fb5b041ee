"""Where a footprint stands: the governing zones of a site, and the footprint's part in each.

Where plans of several levels cover a place, the most detailed one governs there (a detailed plan 1/500 over a
zoning plan 1/2000): each zone's governing area is its shape less the shapes of more detailed plans' zones.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.roads import MIN_AREA_M2, Roads
from gis_service.rules.site import Site, Zone

__all__ = ["SLIVER_M2", "SLIVER_SHARE", "Placement", "ZonePart", "governing_zones", "place"]

#: A footprint stands in a zone when it covers at least the smaller of these there: 1 m² or 2 % of the footprint
#: (a 1:2000 plan's lines are good to a few decimetres on the ground; a sliver along a zone edge is that noise).
SLIVER_M2 = 1.0
SLIVER_SHARE = 0.02


@dataclass(frozen=True)
class ZonePart:
    """A zone with the part of the net lot it governs and the footprint's area there."""

    zone: Zone
    area: BaseGeometry  # the zone's governing area near the lot
    lot_m2: float  # the net lot (less road land) in it
    fp_m2: float = 0.0


@dataclass(frozen=True)
class Placement:
    """A footprint on its lot: its area, what lies outside the lot and the zones, and the zones it stands in."""

    geom: BaseGeometry
    area_m2: float
    outside_lot_m2: float
    outside_zones_m2: float
    parts: tuple[ZonePart, ...]  # the zones it stands in, largest part first
    grazed: tuple[ZonePart, ...]  # zones it only touches (digitising noise)

    def share(self, part: ZonePart) -> float:
        """The part's share of the footprint (1 for a footprint of no area)."""
        return part.fp_m2 / self.area_m2 if self.area_m2 else 1.0


def governing_zones(site: Site) -> list[tuple[Zone, BaseGeometry]]:
    """Each zone with the area where it governs (less the zones of more detailed plans)."""
    zones = sorted(site.zones, key=lambda z: (-z.plan.rank, z.id))
    out: list[tuple[Zone, BaseGeometry]] = []
    covered: list[BaseGeometry] = []
    rank = None
    higher = shapely.GeometryCollection()
    for z in zones:
        if z.plan.rank != rank:
            if covered:
                higher = shapely.union_all([higher, *covered])
                covered = []
            rank = z.plan.rank
        geom = z.geom if higher.is_empty else shapely.difference(z.geom, higher)
        covered.append(z.geom)
        if not geom.is_empty:
            out.append((z, geom))
    return out


def lot_parts(site: Site, roads: Roads) -> list[ZonePart]:
    """The governing zones over the net lot, with the net lot's area in each (those holding some of it)."""
    net = roads.net_lot
    parts = []
    for zone, geom in governing_zones(site):
        area = shapely.area(shapely.intersection(geom, net))
        parts.append(ZonePart(zone, geom, float(area)))
    return parts


def place(site: Site, roads: Roads, footprint: BaseGeometry, lot: list[ZonePart] | None = None) -> Placement:
    """Measure a footprint (EPSG:9214) on the site's lot (``lot``: its :func:`lot_parts`, when already known)."""
    fp_area = float(shapely.area(footprint))
    parts: list[ZonePart] = []
    for p in lot_parts(site, roads) if lot is None else lot:
        fp_m2 = float(shapely.area(shapely.intersection(p.area, footprint)))
        if fp_m2 >= MIN_AREA_M2:
            parts.append(ZonePart(p.zone, p.area, p.lot_m2, fp_m2))
    parts.sort(key=lambda p: (-p.fp_m2, p.zone.id))
    threshold = max(MIN_AREA_M2, min(SLIVER_M2, SLIVER_SHARE * fp_area))
    stood = tuple(p for p in parts if p.fp_m2 >= threshold)
    grazed = tuple(p for p in parts if p.fp_m2 < threshold)
    return Placement(
        geom=footprint,
        area_m2=fp_area,
        outside_lot_m2=float(shapely.area(shapely.difference(footprint, site.lot))),
        outside_zones_m2=max(0.0, fp_area - sum(p.fp_m2 for p in parts)),
        parts=stood,
        grazed=grazed,
    )
