"""Source coordinate systems: honour the file's CRS, recognise VN-2000 TM-3 by its parameters, store in EPSG:9214.

Files in the wild carry VN-2000 as a custom Transverse Mercator on the WGS84 ellipsoid, with or without TOWGS84 and
under any datum name. Read as written, such a file lands about 225 m off (no datum shift). We recognise the
definition by its parameters (Transverse Mercator, scale 0.9999, false easting 500000, false northing 0, a VN-2000
provincial central meridian, WGS84 ellipsoid) and use the official VN-2000 datum (EPSG:4756 with the Ministry's
shift EPSG:6960), with a warning that says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.exceptions import CRSError

from converters.errors import MissingCRS

__all__ = ["STORAGE_CRS", "SourceCRS", "parse_crs", "recognise_crs", "serving_coordinates", "to_storage"]

STORAGE_EPSG = 9214
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)
VN2000_GEOGRAPHIC = CRS.from_epsg(4756)
# EPSG codes of the VN-2000 TM-3 provincial zones, by central meridian.
TM3_EPSG = {
    103.0: 9205,
    104.0: 9206,
    104.5: 9207,
    104.75: 9208,
    105.5: 9209,
    105.75: 9210,
    106.0: 9211,
    106.25: 9212,
    106.5: 9213,
    107.0: 9214,
    107.25: 9215,
    107.5: 9216,
    108.25: 9217,
    108.5: 9218,
}
WGS84_A, WGS84_RF = 6378137.0, 298.257223563
# Plausible storage coordinates for Vietnam in EPSG:9214 (generous: the country spans 102°E-110°E).
VIETNAM_BOUNDS_9214 = (-250_000.0, 800_000.0, 1_300_000.0, 2_700_000.0)
#: A box around the province of Huế (lon 107.0°-108.2°E, lat 15.98°-16.75°N) with about 10 km to spare: a plan of
#: the province has nothing beyond it (the validation's rule ``outside-province``).
HUE_PROVINCE_BOUNDS_9214 = (490_000.0, 1_755_000.0, 640_000.0, 1_865_000.0)


@dataclass(frozen=True)
class SourceCRS:
    """The CRS features are read in, how it was decided, and a warning for the report when there is one."""

    crs: CRS
    how: str
    warning: str | None = None

    @property
    def is_storage(self) -> bool:
        """Whether the features are already in the storage CRS (EPSG:9214): no transform needed."""
        return self.crs.to_epsg(min_confidence=100) == STORAGE_EPSG or self.crs == STORAGE_CRS


def vn2000_tm3(meridian: float) -> CRS:
    """VN-2000 / TM-3 at a provincial central meridian: the EPSG definition when there is one.

    >>> vn2000_tm3(107).to_epsg()
    9214
    """
    if meridian in TM3_EPSG:
        return CRS.from_epsg(TM3_EPSG[meridian])
    if not (102.0 <= meridian <= 110.0) or (meridian * 4) % 1:
        raise MissingCRS(
            f"{meridian:g} is not a VN-2000 TM-3 central meridian (102°E to 110°E in steps of 0°15'), e.g. vn2000:107"
        )
    conversion = TransverseMercatorConversion(
        latitude_natural_origin=0,
        longitude_natural_origin=meridian,
        false_easting=500000,
        scale_factor_natural_origin=0.9999,
    )
    return ProjectedCRS(conversion=conversion, geodetic_crs=VN2000_GEOGRAPHIC, name=f"VN-2000 / TM-3 {meridian:g}")


def parse_crs(text: str) -> CRS:
    """A CRS given by the user: ``EPSG:9214``, ``9214``, ``vn2000:107``, ``vn2000:107.75``, WKT or PROJ.

    >>> parse_crs("vn2000:107").to_epsg()
    9214
    >>> parse_crs("4326").to_epsg()
    4326
    """
    s = text.strip()
    m = re.fullmatch(r"(?i)vn-?2000(?::|/tm-?3:?\s*)(\d{3}(?:\.\d+)?)", s)
    if m:
        return vn2000_tm3(float(m.group(1)))
    if s.isdigit():
        s = f"EPSG:{s}"
    try:
        return CRS.from_user_input(s)
    except CRSError as exc:
        raise MissingCRS(
            f"unknown coordinate reference system {text!r}: give an EPSG code (EPSG:9214) or vn2000:<meridian> "
            f"(vn2000:107, vn2000:107.75) ({exc})"
        ) from None


def _tm_parameters(crs: CRS) -> dict[str, float] | None:
    """Transverse Mercator parameters of a projected CRS (by EPSG parameter code), or None."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    params: dict[str, float] = {}
    for p in op.params:
        key = {8801: "lat_0", 8802: "lon_0", 8805: "k", 8806: "x_0", 8807: "y_0"}.get(int(p.code or 0) if p.code else 0)
        if key is None:
            key = {
                "latitude of natural origin": "lat_0",
                "longitude of natural origin": "lon_0",
                "scale factor at natural origin": "k",
                "false easting": "x_0",
                "false northing": "y_0",
            }.get(p.name.lower())
        if key:
            params[key] = float(p.value)
    return params


def recognise_crs(crs: CRS) -> SourceCRS:
    """The CRS to read a file's coordinates in, recognising VN-2000 TM-3 written as a custom definition."""
    base = crs.source_crs if crs.is_bound and crs.source_crs is not None else crs
    epsg = base.to_epsg(min_confidence=100)
    if epsg is not None and not crs.is_bound:
        return SourceCRS(CRS.from_epsg(epsg), f"EPSG:{epsg} from the file")
    tm = _tm_parameters(base) if base.is_projected else None
    ell = base.ellipsoid
    if (
        tm is not None
        and ell is not None
        and math.isclose(ell.semi_major_metre, WGS84_A, abs_tol=0.01)
        and math.isclose(ell.inverse_flattening, WGS84_RF, abs_tol=1e-6)
        and math.isclose(tm.get("k", 0), 0.9999, abs_tol=1e-9)
        and math.isclose(tm.get("x_0", 0), 500000, abs_tol=1e-6)
        and math.isclose(tm.get("y_0", 0), 0, abs_tol=1e-6)
        and math.isclose(tm.get("lat_0", 0), 0, abs_tol=1e-9)
        and 102 <= tm.get("lon_0", 0) <= 110
        and (tm["lon_0"] * 4) % 1 == 0
    ):
        meridian = tm["lon_0"]
        official = vn2000_tm3(meridian)
        where = f"EPSG:{official.to_epsg()}" if official.to_epsg() else f"VN-2000 TM-3 {meridian:g}"
        datum = base.datum.name if base.datum else "unnamed"
        if base.datum is not None and base.datum.name == "Vietnam 2000" and not crs.is_bound:
            return SourceCRS(official, f"{where} (VN-2000 datum named in the file)")
        shift = "with its own TOWGS84" if crs.is_bound else "without TOWGS84"
        return SourceCRS(
            official,
            f"{where} recognised by its parameters",
            f"the file's CRS {crs.name!r} (datum {datum!r}, {shift}) is Transverse Mercator, scale 0.9999, "
            f"false easting 500000, central meridian {meridian:g} on the WGS84 ellipsoid: read as VN-2000 TM-3 "
            f"({where}) with the official shift to WGS84 (EPSG:6960); use --src-crs to override",
        )
    if crs.is_bound or epsg is None:
        found = crs.to_epsg(min_confidence=70)
        return SourceCRS(crs, f"{crs.name!r} as written in the file" + (f" (close to EPSG:{found})" if found else ""))
    return SourceCRS(CRS.from_epsg(epsg), f"EPSG:{epsg} from the file")


_TRANSFORMERS: dict[str, Transformer] = {}


def _transformer(src: CRS) -> Transformer:
    key = src.to_wkt()
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(src, STORAGE_CRS, always_xy=True)
    return _TRANSFORMERS[key]


def to_storage(geoms: np.ndarray, source: SourceCRS) -> np.ndarray:
    """Geometries (shapely array) from the source CRS to EPSG:9214, vectorised over all coordinates."""
    if source.is_storage:
        return geoms
    tr = _transformer(source.crs)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    out: np.ndarray = shapely.transform(geoms, fn)
    return out


def outside_vietnam(geoms: np.ndarray, total: np.ndarray | None = None) -> tuple[float, float, float, float] | None:
    """The shapes' bounds when they land outside Vietnam once in EPSG:9214 (a wrong or missing CRS), else None.
    ``total``: their ``shapely.total_bounds`` when the caller has it."""
    x0, y0, x1, y1 = shapely.total_bounds(geoms) if total is None else total  # empty and missing shapes left out
    if np.isnan([x0, y0, x1, y1]).all():  # nothing but empty and missing shapes
        return None
    bx0, by0, bx1, by1 = VIETNAM_BOUNDS_9214
    if not (bx0 <= x0 and x1 <= bx1 and by0 <= y0 and y1 <= by1) or not np.isfinite([x0, y0, x1, y1]).all():
        return float(x0), float(y0), float(x1), float(y1)
    return None


def check_in_vietnam(geoms: np.ndarray, where: str, source: SourceCRS, total: np.ndarray | None = None) -> None:
    """Refuse coordinates that land outside Vietnam once in EPSG:9214 (a wrong or missing CRS)."""
    bounds = outside_vietnam(geoms, total)
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        raise MissingCRS(
            f"{where}: read in {source.how}, the features land outside Vietnam (EPSG:9214 bounds "
            f"{x0:.0f} {y0:.0f} {x1:.0f} {y1:.0f}): the coordinate system is wrong or missing; give the right one "
            "with --src-crs (e.g. EPSG:9214, vn2000:107, EPSG:4326)"
        )


# The serving copies of planning.zones (geom_4326, geom_3857), computed here for the rows an import loads in bulk.
# The 7-parameter shift is the one of the database's SRID 9214 row (EPSG:6960); a test compares with ST_Transform.
_TO_LONLAT: list[Transformer] = []
WEB_MERCATOR_RADIUS = 6378137.0  # EPSG:3857 is the spherical Mercator on the WGS84 semi-major axis
#: How close a fitted transformation must come to PROJ at every check point: about 1 µm on the ground.
FIT_TOLERANCE_DEG = 1e-11
FIT_TOLERANCE_M = 1e-6
#: Fits are made for squares of EPSG:9214 of this side, on multiples of it: a point's copy depends on it alone.
FIT_CELL_M = 50_000.0
_FIT_DEGREES = (3, 4, 5, 6, 7)
_FIT_NODES = 14  # Chebyshev nodes per axis the fit is made on (then checked at other points)
_FIT_CHECKS = 41  # check points per axis, evenly spaced, edges and corners included
_CELL_FITS: dict[tuple[int, int], _ServingFit | None] = {}


def _proj_serving(xy: np.ndarray) -> np.ndarray:
    """EPSG:9214 points as (lon, lat, Web Mercator y) through PROJ's pipeline of the official shift."""
    if not _TO_LONLAT:
        _TO_LONLAT.append(Transformer.from_crs(STORAGE_CRS, CRS.from_epsg(4326), always_xy=True))
    lon, lat = _TO_LONLAT[0].transform(xy[:, 0], xy[:, 1])
    merc_y = WEB_MERCATOR_RADIUS * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return np.column_stack([lon, lat, merc_y])


def _chebyshev_basis(u: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    """T_i(u)·T_j(v) for i + j <= degree, one row each (u, v in [-1, 1])."""
    tu, tv = [np.ones_like(u), u], [np.ones_like(v), v]
    for _ in range(2, degree + 1):
        tu.append(2 * u * tu[-1] - tu[-2])
        tv.append(2 * v * tv[-1] - tv[-2])
    out = np.empty(((degree + 1) * (degree + 2) // 2, len(u)))  # a row per term: each product written in one run
    k = 0
    for i in range(degree + 1):
        for j in range(degree + 1 - i):
            np.multiply(tu[i], tv[j], out=out[k])
            k += 1
    return out


@dataclass(frozen=True)
class _ServingFit:
    """PROJ's (lon, lat, Web Mercator y) over a rectangle of EPSG:9214, as Chebyshev polynomials in x and y."""

    centre: tuple[float, float]
    half: tuple[float, float]
    degree: int
    coef: np.ndarray  # terms × 3

    def __call__(self, xy: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """(lon, lat, Web Mercator y) of each point. The terms are summed element by element in a fixed order (not
        by BLAS, whose sums depend on the array's length): a point's result does not depend on the others."""
        out = np.empty((len(xy), 3))
        tmp = np.empty(min(chunk, len(xy)))
        for s in range(0, len(xy), chunk):
            part = xy[s : s + chunk]
            u = (part[:, 0] - self.centre[0]) / self.half[0]
            v = (part[:, 1] - self.centre[1]) / self.half[1]
            basis = _chebyshev_basis(u, v, self.degree)
            t = tmp[: len(part)]
            for k in range(3):
                acc = basis[0] * self.coef[0, k]
                for term in range(1, len(basis)):
                    np.multiply(basis[term], self.coef[term, k], out=t)
                    acc += t
                out[s : s + chunk, k] = acc
        return out

    @classmethod
    def fit(cls, x0: float, y0: float, x1: float, y1: float) -> _ServingFit | None:
        """The lowest degree that comes within the tolerances of PROJ at every check point of the rectangle, or
        None. Fitted on a grid of Chebyshev nodes, checked against PROJ on an even grid that takes in the edges and
        corners (where a polynomial strays most)."""
        centre, half = ((x0 + x1) / 2, (y0 + y1) / 2), ((x1 - x0) / 2, (y1 - y0) / 2)
        nodes = np.cos(np.pi * (np.arange(_FIT_NODES) + 0.5) / _FIT_NODES)
        checks = np.linspace(-1.0, 1.0, _FIT_CHECKS)
        gu, gv = (a.ravel() for a in np.meshgrid(nodes, nodes))
        cu, cv = (a.ravel() for a in np.meshgrid(checks, checks))

        def ground(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            return np.column_stack([centre[0] + u * half[0], centre[1] + v * half[1]])

        exact_fit, exact_check = _proj_serving(ground(gu, gv)), _proj_serving(ground(cu, cv))
        if not (np.isfinite(exact_fit).all() and np.isfinite(exact_check).all()):
            return None
        tolerance = np.array([FIT_TOLERANCE_DEG, FIT_TOLERANCE_DEG, FIT_TOLERANCE_M])
        for degree in _FIT_DEGREES:
            coef = np.linalg.lstsq(_chebyshev_basis(gu, gv, degree).T, exact_fit, rcond=None)[0]
            fit = cls(centre, half, degree, coef)
            error = np.abs(fit(ground(cu, cv)) - exact_check).max(axis=0)  # checked as it will be used
            if (error <= tolerance).all():
                return fit
        return None


def _cell_fit(cx: int, cy: int) -> _ServingFit | None:
    """The fit for the square (cx, cy) of side FIT_CELL_M, made once per process."""
    if (cx, cy) not in _CELL_FITS:
        x0, y0 = cx * FIT_CELL_M, cy * FIT_CELL_M
        _CELL_FITS[(cx, cy)] = _ServingFit.fit(x0, y0, x0 + FIT_CELL_M, y0 + FIT_CELL_M)
    return _CELL_FITS[(cx, cy)]


def _fitted_serving(xy: np.ndarray, chunk: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_proj_serving` through the fit of each point's square (PROJ where a square has none), as the lon/lat
    and Web Mercator arrays of :func:`serving_coordinates`.

    Run by runs of ``chunk`` points in their own order: a run's points mostly lie in one or two squares (a plan's
    features come grouped), each square's points are picked out of the run by a mask. A sort of all the points by
    square, then putting the results back in order, cost more than evaluating the fits. Each run's (lon, lat,
    Web Mercator y) go straight into the two arrays, whose points binary COPY then takes as they are: made from one
    (n, 3) array, they would cost two copies of every point (a column stack, and the lon/lat columns made
    contiguous)."""
    lonlat, merc = np.empty((len(xy), 2)), np.empty((len(xy), 2))
    for s in range(0, len(xy), chunk):
        part = xy[s : s + chunk]
        cells = np.floor(part / FIT_CELL_M).astype(np.int64)
        cx, cy = cells[:, 0], cells[:, 1]
        if (cx == cx[0]).all() and (cy == cy[0]).all():
            fit = _cell_fit(int(cx[0]), int(cy[0]))
            res = fit(part) if fit is not None else _proj_serving(part)
        else:
            res = np.empty((len(part), 3))
            ny = int(cy.max() - cy.min()) + 1
            key = (cx - cx.min()) * ny + (cy - cy.min())
            for k in np.flatnonzero(np.bincount(key)):
                mask = key == k
                points = np.compress(mask, part, axis=0)  # boolean selection: several times faster than by indices
                fit = _cell_fit(int(cx.min()) + int(k) // ny, int(cy.min()) + int(k) % ny)
                res[mask] = fit(points) if fit is not None else _proj_serving(points)
        _split_serving(res, lonlat[s : s + chunk], merc[s : s + chunk])
    return lonlat, merc


def _split_serving(res: np.ndarray, lonlat: np.ndarray, merc: np.ndarray) -> None:
    """(lon, lat, Web Mercator y) rows into lon/lat and Web Mercator (x, y) rows: x is lon in radians times the
    radius (PROJ's ``webmerc``)."""
    lonlat[:] = res[:, :2]
    np.radians(res[:, 0], out=merc[:, 0])
    merc[:, 0] *= WEB_MERCATOR_RADIUS
    merc[:, 1] = res[:, 2]


def serving_coordinates(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:9214 points (n, 2) as lon/lat (EPSG:4326, x = lon) and as Web Mercator (EPSG:3857), each an (n, 2)
    C-contiguous array.

    PROJ's pipeline of the official shift is slow point by point for a bulk import (``docs/decisions.md``). The
    transformation is smooth, so over each 50 km square of EPSG:9214 it is fitted by polynomials in x and y (degree
    3 to 7, the lowest that does it), checked against PROJ on a grid that takes in the square's edges, and used only
    if it comes within 1e-11° and 1 µm of PROJ at every check point; a square whose fit does not is transformed by
    PROJ point by point. The copies differ from PROJ's in the last digits (1e-13° at most in tests), not more, and a
    point's copy depends on the point alone: a vertex two zones share is the same in both, whichever batches they
    came in. Web Mercator x is lon in radians times the radius; y is fitted with lon and lat (what PROJ's ``webmerc``
    computes from them)."""
    if len(xy):
        return _fitted_serving(xy)
    lonlat, merc = np.empty((0, 2)), np.empty((0, 2))
    _split_serving(_proj_serving(xy), lonlat, merc)
    return lonlat, merc
