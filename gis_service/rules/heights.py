"""The vertical zone rules: floors (with a zone's least number), height and the ground floor's level."""

from __future__ import annotations

from gis_service.rules.compare import Measure, compare, no_zone_data
from gis_service.rules.footprint import ZonePart
from gis_service.rules.limits import Limit, zone_limit
from gis_service.rules.measured import PlacedProposal, rounded
from gis_service.rules.result import Status

__all__ = ["floors", "ground_elevation", "height"]

_FLOORS = Measure("floors", "floors", "số tầng", "number of floors", "floors")
_HEIGHT = Measure("height", "m", "chiều cao", "height", "height_m")


def _per_zone(c: PlacedProposal, m: Measure, column: str, value: float | None) -> None:
    """Compare ``value`` with each zone's ``column``, once per zone the footprint stands in."""
    for part in c.parts():
        if part is None:
            no_zone_data(
                c,
                m.rid,
                value,
                m.unit,
                f"Quy hoạch không có số liệu {m.what_vi} tại đây: cán bộ cần kiểm tra.",
                f"The plan has no data on {m.what_en} here: an officer must check.",
            )
            continue
        minimum = None
        if column == "max_floors" and part.zone.min_floors is not None and not part.zone.scanned:
            minimum = float(part.zone.min_floors)
        compare(c, m, part, value, zone_limit(part.zone, column), minimum)


def floors(c: PlacedProposal) -> None:
    """``floors``: the number of floors within each zone's least and most."""
    value = c.req.floors
    _per_zone(c, _FLOORS, "max_floors", None if value is None else float(value))


def height(c: PlacedProposal) -> None:
    """``height``: the building's height within each zone's limit."""
    _per_zone(c, _HEIGHT, "max_height_m", rounded(c.req.height_m, 2))


def ground_elevation(c: PlacedProposal) -> None:
    """``ground_elevation``: the ground floor at or above each zone's least level (flooding), where one is set."""
    elev = c.req.ground_floor_elev_m
    for part in c.placed.parts:
        limit = zone_limit(part.zone, "min_ground_elev_m")
        if limit.basis == "no_limit" or (limit.value is None and elev is None):
            continue  # nothing to compare: the plan sets no ground level here
        if elev is None:
            _no_elevation(c, part, limit)
        elif limit.value is None:
            c.add(
                "ground_elevation",
                "needs_review",
                elev,
                None,
                "m",
                limit.source,
                "Quy hoạch không có số liệu cao độ nền tại đây: cán bộ cần kiểm tra.",
                "The plan has no data on the ground level here: an officer must check.",
                part=part,
                basis=limit.basis,
                confidence=limit.confidence,
            )
        else:
            _elevation_against(c, part, limit, limit.value, elev)


def _no_elevation(c: PlacedProposal, part: ZonePart, limit: Limit) -> None:
    c.add(
        "ground_elevation",
        "needs_review",
        None,
        limit.value,
        "m",
        limit.source + " (cao độ nền tối thiểu)",
        f"Ô {part.zone.label} quy định cao độ nền tối thiểu {limit.value:g} m; hồ sơ chưa ghi cao độ "
        "nền tầng trệt (ground_floor_elev_m): cán bộ cần kiểm tra.",
        f"Zone {part.zone.label} sets a minimum ground level of {limit.value:g} m; the proposal gives no "
        "ground floor level (ground_floor_elev_m): an officer must check.",
        part=part,
        basis=limit.basis,
        confidence=limit.confidence,
    )


def _elevation_against(c: PlacedProposal, part: ZonePart, limit: Limit, least: float, elev: float) -> None:
    ok = round(elev, 2) >= least
    status: Status = ("pass" if ok else "fail") if limit.settled else "needs_review"
    sign = "≥" if ok else "<"
    c.add(
        "ground_elevation",
        status,
        round(elev, 2),
        least,
        "m",
        limit.source + " (cao độ nền tối thiểu)",
        f"Cao độ nền tầng trệt {elev:g} m {sign} {least:g} m tối thiểu (chống ngập).",
        f"Ground floor level {elev:g} m {sign} the minimum {least:g} m (flooding).",
        part=part,
        basis=limit.basis,
        confidence=limit.confidence,
    )
