"""What a permit check takes (:class:`Proposal`) and gives (:class:`RuleResult`), and the checks of its input.

Geometry arrives as GeoJSON in CRS84 (lon, lat) unless ``crs`` says EPSG:9214; it is checked here (type, finite
coordinates in range, validity with the place of the problem) and handed to PostGIS as WKB, which transforms it
with the database's SRID 9214 row (the official VN-2000 shift).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, NoReturn

import shapely
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from shapely.geometry.base import BaseGeometry

from gis_service.errors import ValidationError
from gis_service.geojson import GeoJSONError, parse_geometry
from gis_service.rules.result import RuleResult
from gis_service.rules.uses import resolve_use
from gis_service.service_area import E_RANGE, LAT_RANGE, LON_RANGE, N_RANGE

__all__ = [
    "CRS84",
    "EPSG_9214",
    "EXAMPLE",
    "CheckRequest",
    "Proposal",
    "RuleResult",
    "parse_request",
]

CRS84 = "CRS84"
EPSG_9214 = "EPSG:9214"
_CRS_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "epsg:4326": CRS84,
    "epsg:9214": EPSG_9214,
    "http://www.opengis.net/def/crs/epsg/0/9214": EPSG_9214,
}
#: The largest footprint a check takes (1 km²: far beyond any building, small enough to bound the work).
MAX_FOOTPRINT_M2 = 1_000_000.0
#: The largest lot a check takes (10 km²).
MAX_LOT_M2 = 10_000_000.0
#: The most vertices of a footprint or lot (a drawn or surveyed building has tens to hundreds).
MAX_VERTICES = 10_000
_MAX_AREA = {"footprint": MAX_FOOTPRINT_M2, "lot": MAX_LOT_M2}
#: Largest values of the database's integer columns (bigint ids, integer sheet and parcel numbers).
_BIGINT = 2**63
_INTEGER = 2**31


#: A request the API documents show: a house on a parcel of the sample plans (Phú Xuân, tờ 13 thửa 4).
EXAMPLE: dict[str, Any] = {
    "sheet_no": 13,
    "parcel_no": 4,
    "ward": "Phú Xuân",
    "footprint": {
        "type": "Polygon",
        "coordinates": [
            [
                [107.5837405, 16.467339],
                [107.5836683, 16.46741],
                [107.5837347, 16.4674737],
                [107.583723, 16.467485],
                [107.5837963, 16.4675555],
                [107.5838785, 16.4674714],
                [107.5837405, 16.467339],
            ]
        ],
    },
    "floors": 2,
    "basements": 0,
    "height_m": 8,
    "total_floor_area_m2": 300,
    "ground_floor_elev_m": 3.8,
    "use": "detached_house",
}


class CheckRequest(BaseModel):
    """A permit check as sent to ``POST /permits/check`` and the ``permit-check`` process."""

    model_config = ConfigDict(extra="forbid")

    parcel_id: int | None = Field(default=None, gt=0, lt=_BIGINT, description="Id of the parcel (parcels collection)")
    sheet_no: int | None = Field(default=None, gt=0, lt=_INTEGER, description="Số tờ (with parcel_no)")
    parcel_no: int | None = Field(default=None, gt=0, lt=_INTEGER, description="Số thửa (with sheet_no)")
    ward: str | None = Field(default=None, max_length=200, description="Ward, when the numbers exist in several")
    lot: dict[str, Any] | None = Field(default=None, description="The lot as a GeoJSON polygon (instead of a parcel)")
    footprint: dict[str, Any] = Field(description="Building footprint, GeoJSON Polygon or MultiPolygon")
    crs: str = Field(default=CRS84, description="CRS of lot and footprint: CRS84 (default) or EPSG:9214")
    floors: int | None = Field(default=None, ge=0, le=200, description="Floors above ground")
    basements: int | None = Field(default=None, ge=0, le=20, description="Basement floors")
    height_m: float | None = Field(default=None, ge=0, le=1000, description="Building height in metres")
    total_floor_area_m2: float | None = Field(
        default=None, ge=0, description="Total floor area above ground (m²), for the FAR"
    )
    use: str = Field(
        min_length=1, max_length=40, description="A land-use code (ODT, TMD, ...) or a building-use category"
    )
    road_width_m: float | None = Field(
        default=None, gt=0, le=500, description="Red-line width of the road the lot faces (else from the red lines)"
    )
    red_line_id: int | None = Field(
        default=None, gt=0, lt=_BIGINT, description="The red line the lot faces (else the nearest)"
    )
    ground_floor_elev_m: float | None = Field(
        default=None, ge=-50, le=500, description="Level of the ground floor (m, national height datum), for flooding"
    )


@dataclass(frozen=True)
class Proposal:
    """A checked request: lot and footprint as WKB with their SRID, the use resolved to codes and a category."""

    request: CheckRequest
    footprint_wkb: bytes
    footprint_srid: int
    lot_wkb: bytes | None
    lot_srid: int
    use_codes: tuple[str, ...]
    category: str | None


def parse_request(data: dict[str, Any] | CheckRequest) -> Proposal:
    """Check a request and turn it into a :class:`Proposal`.

    Raises
    ------
    ValidationError
        Naming the field and the problem (e.g. ``footprint: Self-intersection at lon 107.57901 lat 16.46981``).
    """
    if isinstance(data, CheckRequest):
        req = data
    else:
        try:
            req = CheckRequest.model_validate(data)
        except PydanticValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "input"
                problems.append(f"{where}: {err['msg']}")
            raise ValidationError("; ".join(problems)) from None
    crs = _CRS_ALIASES.get(req.crs.strip().lower())
    if crs is None:
        raise ValidationError(f"crs: unknown CRS {req.crs!r}; give CRS84 (lon/lat, the default) or EPSG:9214")
    srid = 4326 if crs == CRS84 else 9214
    given = [
        name
        for name, present in (
            ("parcel_id", req.parcel_id is not None),
            ("sheet_no and parcel_no", req.sheet_no is not None or req.parcel_no is not None),
            ("lot", req.lot is not None),
        )
        if present
    ]
    if len(given) != 1:
        raise ValidationError(
            "give the lot in one way: parcel_id, or sheet_no and parcel_no (optionally ward), or lot (a GeoJSON "
            f"polygon); got {', '.join(given) or 'none'}"
        )
    if (req.sheet_no is None) != (req.parcel_no is None):
        raise ValidationError("sheet_no and parcel_no go together (số tờ and số thửa)")
    footprint = _polygon("footprint", req.footprint, crs)
    lot = _polygon("lot", req.lot, crs) if req.lot is not None else None
    codes, category = resolve_use(req.use)
    return Proposal(
        request=req,
        footprint_wkb=shapely.to_wkb(footprint),
        footprint_srid=srid,
        lot_wkb=None if lot is None else shapely.to_wkb(lot),
        lot_srid=srid,
        use_codes=codes,
        category=category,
    )


def _polygon(name: str, geojson: dict[str, Any] | None, crs: str) -> BaseGeometry:
    geom = _read_polygon(name, geojson)
    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > MAX_VERTICES:
        raise ValidationError(f"{name}: the polygon has {vertices} vertices; at most {MAX_VERTICES} are accepted")
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) for v in coords.ravel()):
        raise ValidationError(f"{name}: coordinates must be finite numbers")
    xs, ys = coords[:, 0], coords[:, 1]
    if crs == CRS84:
        _check_lonlat(name, xs, ys)
    else:
        _check_vn2000(name, xs, ys)
    if not geom.is_valid:
        _invalid(name, geom, crs)
    if geom.area == 0:
        raise ValidationError(f"{name}: the polygon has no area")
    area = _area_m2(geom, crs)
    if area > _MAX_AREA[name]:
        raise ValidationError(
            f"{name}: the polygon covers about {area / 1e6:,.1f} km²; at most {_MAX_AREA[name] / 1e6:g} km² is accepted"
        )
    return geom


def _area_m2(geom: BaseGeometry, crs: str) -> float:
    """The area in square metres; for lon/lat, on the sphere's local scale at the polygon's latitude (a bound, not
    a survey: the rules measure in VN-2000)."""
    if crs != CRS84:
        return float(geom.area)
    lat = math.radians(geom.centroid.y)
    m_per_deg_lat = 111_132.92 - 559.82 * math.cos(2 * lat)
    m_per_deg_lon = 111_412.84 * math.cos(lat)
    return float(geom.area) * m_per_deg_lat * m_per_deg_lon


def _read_polygon(name: str, geojson: dict[str, Any] | None) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (or a Feature of one) as a 2D shape, not empty."""
    value: Any = geojson
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry") or {}
    try:
        return parse_geometry(value, ("Polygon", "MultiPolygon"))
    except GeoJSONError as exc:
        raise ValidationError(_unreadable(name, value, exc)) from None


def _unreadable(name: str, value: Any, exc: GeoJSONError) -> str:
    """What is wrong with a footprint or lot that is no polygon, in the words of the check's other errors."""
    if exc.problem == "object":
        return f"{name}: expected a GeoJSON Polygon or MultiPolygon object"
    if exc.problem == "type":
        return f"{name}: a GeoJSON Polygon or MultiPolygon is needed, not {value.get('type')!r}"
    if exc.problem == "unreadable":
        return f"{name}: not a readable GeoJSON {value['type']}: {exc.detail}"
    return f"{name}: the polygon is empty"


def _check_lonlat(name: str, xs: Any, ys: Any) -> None:
    in_lon = LON_RANGE[0] <= xs.min() and xs.max() <= LON_RANGE[1]
    if not (in_lon and LAT_RANGE[0] <= ys.min() and ys.max() <= LAT_RANGE[1]):
        swapped = LON_RANGE[0] <= ys.min() and ys.max() <= LON_RANGE[1]
        hint = "; lon and lat look swapped" if swapped else ""
        if xs.min() > 1000:
            hint = "; these look like VN-2000 metres: add crs EPSG:9214"
        raise ValidationError(
            f"{name}: coordinates are not lon/lat (CRS84) in Việt Nam: lon {xs.min():.6f}..{xs.max():.6f}, "
            f"lat {ys.min():.6f}..{ys.max():.6f}{hint}"
        )


def _check_vn2000(name: str, xs: Any, ys: Any) -> None:
    if not (E_RANGE[0] <= xs.min() and xs.max() <= E_RANGE[1] and N_RANGE[0] <= ys.min() and ys.max() <= N_RANGE[1]):
        swapped = E_RANGE[0] <= ys.min() <= E_RANGE[1] and N_RANGE[0] <= xs.min() <= N_RANGE[1]
        raise ValidationError(
            f"{name}: coordinates are not VN-2000 (EPSG:9214, TM-3 107-00) metres in Huế: e {xs.min():.3f}.."
            f"{xs.max():.3f}, n {ys.min():.3f}..{ys.max():.3f}" + ("; e and n look swapped" if swapped else "")
        )


def _invalid(name: str, geom: BaseGeometry, crs: str) -> NoReturn:
    reason = shapely.is_valid_reason(geom)
    where = ""
    if m := re.search(r"\[([-0-9.e+]+) ([-0-9.e+]+)\]", reason):
        x, y = float(m[1]), float(m[2])
        where = f" at lon {x:.7f} lat {y:.7f}" if crs == CRS84 else f" at e {x:.3f} n {y:.3f}"
        reason = reason[: m.start()].strip()
    raise ValidationError(
        f"{name}: the polygon is invalid: {reason}{where}; draw it without crossing edges, "
        "with at least 3 distinct corners and closed rings"
    )
