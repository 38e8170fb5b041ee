"""Scanned plan maps: classify pixels by the official land-use colours, polygonize, store as draft zones.

A georeferenced GeoTIFF (or an image with a world file) of a colour-coded plan: each pixel takes the nearest colour
of the official palette when it is close enough (black linework, lettering and white roads match nothing); the
unmatched pixels inside a zone (lines, letters) are filled from their neighbours, speckles are sieved, the classes
polygonized (``rasterio.features.shapes``), simplified and slivers dropped. Each zone is marked as digitised from a
scan, with a confidence: the share of its pixels whose colour matched directly, scaled by how close they matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import shapely
from rasterio.crs import CRS as RasterioCRS  # noqa: N811
from shapely.geometry import shape

from converters.crs import parse_crs
from converters.errors import CorruptFile, EmptyLayer, MissingCRS
from converters.mapping import CodeBook, Profile
from converters.report import ImportReport
from converters.sources import Batch, SourceLayer

__all__ = ["classify", "read_scan"]

COLOUR_TOLERANCE = 18.0  # RGB distance to a palette colour for a pixel to count as that colour
MIN_ZONE_AREA_M2 = 200.0
FILL_ITERATIONS = 6
PAPER_WHITE = 245
INK_MAX = 110  # a pixel whose brightest channel is below this is linework or lettering


def palette(codes: CodeBook, rgb: dict[str, str], profile: Profile) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """Distinct palette colours, the code each stands for, and every code sharing it."""
    by_colour: dict[str, list[str]] = {}
    for code, colour in sorted(rgb.items()):
        by_colour.setdefault(colour, []).append(code)
    colours, chosen, shared = [], [], []
    for colour, cs in by_colour.items():
        if min(int(v) for v in colour.split()) >= PAPER_WHITE:
            continue  # near-white colours (BCS, LMU) cannot be told from the paper: not classified
        pick = profile.scan_colours.get(colour, cs[0])
        colours.append([int(v) for v in colour.split()])
        chosen.append(pick if pick in cs or pick in codes.current else cs[0])
        shared.append(cs)
    return np.array(colours, dtype=np.float32), chosen, shared


def classify(
    img: np.ndarray, colours: np.ndarray, tolerance: float = COLOUR_TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: the index of the nearest palette colour + 1 (0: none within tolerance), and its distance."""
    h, w = img.shape[1:]
    px = img.reshape(3, -1).T.astype(np.float32)
    best = np.zeros(px.shape[0], dtype=np.int32)
    dist = np.full(px.shape[0], np.inf, dtype=np.float32)
    for k, c in enumerate(colours):
        d = np.sqrt(((px - c) ** 2).sum(axis=1))
        better = d < dist
        dist[better] = d[better]
        best[better] = k + 1
    best[dist > tolerance] = 0
    return best.reshape(h, w), dist.reshape(h, w)


def _colour_groups(colours: np.ndarray, within: float = 15.0) -> np.ndarray:
    """Group index of each palette colour: colours closer than ``within`` share a group (transitively)."""
    group = np.arange(len(colours))
    for a in range(len(colours)):
        for b in range(a + 1, len(colours)):
            if np.sqrt(((colours[a] - colours[b]) ** 2).sum()) < within:
                ga, gb = group[a], group[b]
                group[group == gb] = ga
    _, dense = np.unique(group, return_inverse=True)
    return np.asarray(dense, dtype=np.int64)


def _fill(classes: np.ndarray, iterations: int, ink: np.ndarray) -> np.ndarray:
    """Give dark unclassified pixels (linework, lettering) the class of a classified neighbour, a few pixels deep.

    White paper (roads, margins) stays unclassified: filling it would join the blocks on both sides of a street.
    """
    out = classes.copy()
    for _ in range(iterations):
        empty = (out == 0) & ink
        if not empty.any():
            break
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            shifted = np.roll(out, (dy, dx), axis=(0, 1))
            take = empty & (shifted > 0) & (out == 0)
            out[take] = shifted[take]
    return out


def _open_scan(src: SourceLayer) -> tuple[np.ndarray, Any, Any, float]:
    """The scan's red, green and blue bands, its pixel-to-map transform, its CRS (ground control points are
    turned into a transform) and its georeferencing error in map units; :class:`MissingCRS` when the image is not
    georeferenced."""
    try:
        with rasterio.open(src.path) as ds:
            if ds.count < 3:
                raise CorruptFile(f"{src.label}: a colour scan needs red, green and blue bands; it has {ds.count}")
            img = ds.read([1, 2, 3])
            transform = ds.transform
            crs = ds.crs
            georef = not transform.is_identity or bool(ds.gcps[0])
            error = math.sqrt(abs(transform.a * transform.e - transform.b * transform.d))  # one pixel
            if ds.gcps[0] and transform.is_identity:
                gcps, gcrs = ds.gcps
                transform = rasterio.transform.from_gcps(gcps)
                crs = crs or gcrs
                error = _gcp_rms(gcps, transform)
    except rasterio.errors.RasterioIOError as exc:
        raise CorruptFile(f"{src.label}: not a readable image ({exc}): is it complete?") from None
    if not georef:
        raise MissingCRS(
            f"{src.label} is not georeferenced: give a GeoTIFF, or put a world file (.tfw/.pgw/.jgw) or ground "
            "control points with the image"
        )
    return img, transform, crs, error


def _gcp_rms(gcps: list[Any], transform: Any) -> float:
    """The root mean square of the control points' residuals after the affine fit (map units)."""
    if not gcps:
        return 0.0
    sq = 0.0
    for g in gcps:
        x, y = transform * (g.col, g.row)
        sq += (x - g.x) ** 2 + (y - g.y) ** 2
    return math.sqrt(sq / len(gcps))


def _crs_wkt(src_crs: str | None, crs: Any) -> str | None:
    """The CRS the user gave, else the image's own, as WKT."""
    if src_crs:
        return parse_crs(src_crs).to_wkt()
    if crs is not None:
        return str(RasterioCRS.from_user_input(crs).to_wkt())
    return None


@dataclass
class _Pixels:
    """A scan's pixels classified against the palette (see :func:`classify`), and how the colours group."""

    classes: np.ndarray  # nearest palette colour + 1, 0 for none
    dist: np.ndarray  # distance to it
    direct: np.ndarray  # classes > 0: the pixels whose colour matched directly
    group: np.ndarray  # group of each palette colour
    colours: np.ndarray
    shared: list[list[str]]
    pixel_area: float

    def zone(self, inside: np.ndarray, value: int) -> tuple[int, dict[str, Any]]:
        """The palette colour most of a zone's pixels matched (among its group ``value`` - 1) and the zone's
        attributes: its confidence, the colour, and the codes that share the colour when there are several."""
        n = max(int(inside.sum()), 1)
        direct = self.direct
        members = np.flatnonzero(self.group == value - 1)
        fine = self.classes[inside]
        counts = np.bincount(fine[direct[inside]], minlength=len(self.colours) + 1)
        best = int(members[np.argmax(counts[members + 1])])
        matched = direct[inside] & np.isin(fine, members + 1)
        closeness = 1.0 - float(np.mean(self.dist[inside][matched])) / COLOUR_TOLERANCE if matched.any() else 0.0
        attrs: dict[str, Any] = {
            "digitized_from": "scan",
            "status": "draft",
            "confidence": round(float(matched.sum()) / n * (0.5 + 0.5 * closeness), 3),
            "colour_rgb": " ".join(str(int(v)) for v in self.colours[best]),
            "pixel_area_m2": round(self.pixel_area, 4),
        }
        candidates = sorted({c for m in members for c in self.shared[m]})
        if len(candidates) > 1:
            attrs["candidate_codes"] = candidates
        return best, attrs


def _polygons(sieved: np.ndarray, transform: Any) -> list[tuple[Any, int]]:
    """The classes' areas as polygons with their class, those under :data:`MIN_ZONE_AREA_M2` left out."""
    polys = []
    for g, value in rasterio.features.shapes(sieved, mask=sieved > 0, connectivity=4, transform=transform):
        poly = shape(g)
        if poly.area >= MIN_ZONE_AREA_M2:
            polys.append((poly, int(value)))
    return polys


def _simplified(poly: Any, transform: Any, earlier: list[Any]) -> Any:
    """The polygon simplified to about a pixel, minus what ``earlier`` zones already cover: simplified neighbours
    must not overlap."""
    simple = shapely.simplify(poly, tolerance=max(abs(transform.a), 0.5))
    if simple.is_empty or not simple.is_valid:
        simple = poly
    near = [g for g in earlier if g.intersects(simple)]
    if near:
        simple = shapely.make_valid(simple.difference(shapely.union_all(near)))
    return simple


def read_scan(
    src: SourceLayer,
    profile: Profile,
    codes: CodeBook,
    rgb: dict[str, str],
    report: ImportReport,
    *,
    src_crs: str | None,
) -> Batch:
    """Draft zones digitised from a colour-coded plan scan, each with its confidence (see the module's text).

    ``rgb``: each land-use code's official colour (``"R G B"``); ``src_crs``: the CRS to use instead of the
    image's own.
    """
    img, transform, crs, georef_error = _open_scan(src)
    crs_wkt = _crs_wkt(src_crs, crs)
    colours, chosen, shared = palette(codes, rgb, profile)
    classes, dist = classify(img, colours)
    # Colours closer than a scanner can tell apart (TMD 250 170 160 and DCK 255 170 160) form one group: the
    # group is polygonized, and each polygon takes the code most of its pixels matched.
    group = _colour_groups(colours)
    grouped = np.where(classes > 0, group[np.maximum(classes - 1, 0)] + 1, 0).astype(np.int32)
    direct = classes > 0
    ink = img.max(axis=0) < INK_MAX
    filled = _fill(grouped, FILL_ITERATIONS, ink)
    sieved = rasterio.features.sieve(filled, size=40, connectivity=4)
    pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
    pixels = _Pixels(classes, dist, direct, group, colours, shared, pixel_area)
    polys = _polygons(sieved, transform)
    if not polys:
        raise EmptyLayer(f"{src.label}: no area of an official land-use colour found in the scan")
    zone_ids = rasterio.features.rasterize(
        ((p, i + 1) for i, (p, _) in enumerate(polys)), out_shape=sieved.shape, transform=transform, dtype="int32"
    )
    geoms: list[Any] = []
    preset: dict[str, list[Any]] = {"land_use_code": [], "land_use_code_raw": [], "name": [], "attributes": []}
    for i, (poly, value) in enumerate(polys):
        best, attrs = pixels.zone(zone_ids == i + 1, value)
        geoms.append(_simplified(poly, transform, geoms))
        code = chosen[best]
        preset["land_use_code"].append(code)
        preset["land_use_code_raw"].append(code)
        preset["name"].append(None)
        preset["attributes"].append(attrs)
    conf = [a["confidence"] for a in preset["attributes"]]
    report.warn(
        f"{src.label}: {len(geoms)} zones digitised from the scan as drafts (confidence "
        f"{min(conf):.2f}–{max(conf):.2f}); check them against the paper map"
    )
    return Batch(
        fids=np.arange(1, len(geoms) + 1),
        geoms=np.array(geoms, dtype=object),
        fields={"source": np.array(["scan"] * len(geoms), dtype=object)},
        crs_wkt=crs_wkt,
        preset=preset,
        georef_error_m=round(georef_error, 2),
    )
