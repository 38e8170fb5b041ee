"""The whole sample, built in the frame: blocks, streets, zones, lots, kiệt, buildings, base map."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Polygon
from shapely.ops import unary_union

from sample.blocks import Block, StreetLine, building_lines, make_blocks, red_lines
from sample.cadastre import Building, Parcel, buildings, heritage_buildings, prepare
from sample.geography import citadel_outline, moat
from sample.lots import Kiet
from sample.network import Area, areas, road_areas
from sample.zoning import Zone, version_2019, zones


@dataclass
class Sample:
    """Everything the sample's files are written from, in the frame of :mod:`sample.frame`."""

    areas: list[Area]
    blocks: list[Block]
    red: list[StreetLine]
    building_lines: list[StreetLine]
    zones: list[Zone]
    zones_2019: list[Zone]
    parcels: list[Parcel]
    kiet: list[Kiet]
    buildings: list[Building]
    boundary: Polygon


def plan_boundary(all_areas: list[Area], zone_list: list[Zone]) -> Polygon:
    """The zoning plan's boundary: its areas, the walls and moat, and the streets between them."""
    shape = unary_union([a.region for a in all_areas] + [citadel_outline(), moat()] + [z.geom for z in zone_list])
    roads_inside = road_areas().intersection(shape.buffer(40.0).buffer(-40.0))
    merged: Polygon = (
        unary_union([shape, roads_inside]).buffer(0.5, join_style="mitre").buffer(-0.5, join_style="mitre")
    )
    return merged


def build() -> Sample:
    """Build the whole sample, the same on every run (every random draw is seeded)."""
    all_areas = areas()
    blocks = make_blocks(all_areas)
    red = red_lines(blocks)
    zone_list = zones(blocks)
    parcels, kiet = prepare(blocks, red, zone_list)
    houses = buildings(parcels, zone_list) + heritage_buildings(parcels)
    new_area = next(a for a in all_areas if a.key == "new").region
    return Sample(
        all_areas,
        blocks,
        red,
        building_lines(blocks),
        zone_list,
        version_2019(zone_list, new_area),
        parcels,
        kiet,
        houses,
        plan_boundary(all_areas, zone_list),
    )
