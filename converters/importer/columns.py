"""What the importer knows of the model's columns, per kind of layer: the facts the rest of the package reads.

Kept together, and alone here, so that they can be derived from one catalogue of the plan layers later.
"""

from __future__ import annotations

COLUMNS: dict[str, list[str]] = {
    "zones": [
        "zone_code", "name", "land_use_code", "max_density_pct", "max_floors", "min_floors", "max_height_m",
        "max_far", "min_setback_m", "min_ground_elev_m", "heritage_zone", "notes",
    ],
    "parcels": ["ward", "ward_code", "sheet_no", "parcel_no", "area_m2", "land_use_code", "address"],
    "buildings": ["name", "floors", "basement_floors", "height_m", "land_use_code"],
    "red-lines": ["road_name", "red_line_width_m", "notes"],
    "building-lines": ["road_name", "red_line_width_m", "setback_m", "notes"],
    "plan-boundary": [],
}  # fmt: skip
REQUIRED = {"zones": ["land_use_code"], "parcels": ["ward", "sheet_no", "parcel_no"]}
RANGES = {
    "max_density_pct": (0, 100),
    "max_floors": (0, 200),
    "min_floors": (0, 200),
    "floors": (0, 200),
    "basement_floors": (0, 20),
    "max_height_m": (0, 1000),
    "height_m": (0, 1000),
    "max_far": (0, 100),
    "min_setback_m": (0, 1000),
    "setback_m": (0, 1000),
    "red_line_width_m": (0.01, 1000),
    "area_m2": (0, 1e9),
    "sheet_no": (1, 1e9),
    "parcel_no": (1, 1e9),
}
PLAN_KINDS = ("zones", "red-lines", "building-lines", "plan-boundary")
POLYGONAL_KINDS = ("zones", "parcels", "buildings")
#: Columns the plan's table of bulk zones has as defaults during the load, so they are not sent with every row.
BULK_DEFAULTS = ("plan_id", "created_by", "updated_by")
ORDER = ("plan-boundary", "zones", "red-lines", "building-lines", "parcels", "buildings", "map-features")
LEVEL_OF = {"QHC": "general", "QPK": "zoning", "QCT": "detailed", "QSD": "land_use"}
SCALE_OF = {"general": 10000, "zoning": 2000, "detailed": 500, "land_use": 10000}
