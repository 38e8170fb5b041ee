"""The measured proposal: a footprint placed on its site, what the rules measure of it, and their answers.

Values are rounded to what is shown (m to the mm, % and m² to 0.01) before they are compared, so an answer never
contradicts the figures printed next to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.footprint import Placement, ZonePart
from gis_service.rules.result import RuleResult, Status
from gis_service.rules.roads import MIN_AREA_M2, Road, Roads, solid_parts
from gis_service.rules.site import Site
from gis_service.rules.tables import qcvn_tables

if TYPE_CHECKING:
    from gis_service.permits.model import Proposal

__all__ = [
    "LINE_TOLERANCE_M",
    "OPENING_M",
    "OUTSIDE_LOT_TOLERANCE_M2",
    "PlacedProposal",
    "max_distance",
    "rounded",
]

#: Part of a footprint outside its lot (m²) still taken as digitising noise.
OUTSIDE_LOT_TOLERANCE_M2 = 0.01
#: A footprint may stand on a line; beyond this it crosses it (m).
LINE_TOLERANCE_M = 0.001
#: Features of a footprint's part in a zone thinner than twice this are noise of the zone edge (m).
OPENING_M = 0.0005


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` rounded to ``digits`` decimals as a float (``None`` stays ``None``)."""
    return None if value is None else round(float(value), digits)


def max_distance(part: shapely.Geometry, line: shapely.Geometry) -> float:
    """How far the farthest corner of ``part`` lies from ``line`` (m)."""
    coords = shapely.get_coordinates(part)
    if len(coords) == 0:
        return 0.0
    return float(shapely.distance(shapely.points(coords), line).max())


def _zone_ref(part: ZonePart, fp_area: float) -> dict[str, Any]:
    z = part.zone
    return {
        "id": z.id,
        "zone_code": z.zone_code,
        "land_use_code": z.land_use_code,
        "share_of_footprint_pct": round(100 * part.fp_m2 / fp_area, 2) if fp_area else None,
        "plan_code": z.plan.code,
        "plan_version": z.plan.version,
    }


class PlacedProposal:
    """A proposal placed on its site, with the answers the rules have given about it so far.

    Parameters
    ----------
    proposal
        The validated request.
    site, roads
        What the rules look at around the lot, and the roads it faces.
    placed
        The footprint and its part in each zone.
    """

    def __init__(self, proposal: Proposal, site: Site, roads: Roads, placed: Placement) -> None:
        self.p = proposal
        self.req = proposal.request
        self.site = site
        self.roads = roads
        self.placed = placed
        self.tables = qcvn_tables()
        self.cat = self.tables.categories.get(proposal.category or "")
        self.net_area = float(shapely.area(roads.net_lot))
        self.out: list[RuleResult] = []

    def add(
        self,
        rid: str,
        status: Status,
        value: Any,
        limit: Any,
        unit: str | None,
        source: str,
        vi: str,
        en: str,
        *,
        part: ZonePart | None = None,
        road: Road | None = None,
        basis: str | None = None,
        confidence: float | None = None,
    ) -> None:
        """Record one rule's answer (about a zone's part or a road when given)."""
        zone = None if part is None else _zone_ref(part, self.placed.area_m2)
        ref = None if road is None else road.ref()
        self.out.append(RuleResult(rid, status, value, limit, unit, source, vi, en, zone, ref, basis, confidence))

    def parts(self) -> tuple[ZonePart | None, ...]:
        """The footprint's parts in zones, or ``(None,)`` when it stands in none (the plan has no data there)."""
        return self.placed.parts or (None,)

    def in_road(self, road: Road) -> float:
        """How far the footprint reaches past the road's red line into road land (m; 0 when it does not)."""
        inside = shapely.intersection(self.placed.geom, road.road_side)
        if shapely.area(inside) < MIN_AREA_M2:
            return 0.0
        return max_distance(inside, road.red)

    def in_zone(self, part: ZonePart | None) -> BaseGeometry:
        """The footprint's area in a zone, without the edges and hair-thin tails it only shares with the next zone."""
        if part is None or len(self.placed.parts) == 1:
            return self.placed.geom
        inside = solid_parts(shapely.intersection(self.placed.geom, part.area))
        opened = shapely.buffer(shapely.buffer(inside, -OPENING_M, join_style="mitre"), OPENING_M, join_style="mitre")
        return opened if not opened.is_empty else inside
