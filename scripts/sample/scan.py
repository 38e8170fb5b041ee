"""Part of the zoning plan as a scanned colour map (``HoSoScan``): official land-use colours, black linework and
lettering, scanner noise; georeferenced in EPSG:9214."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import rasterio.transform
from rasterio.transform import from_origin
from shapely.geometry import box

from sample.frame import CRS, world_xy

# The colours of the official palette (TT 27/2018) the scan is painted in.
RGB = {
    "ODT": (255, 160, 255),
    "TMD": (250, 170, 160),
    "DDT": (255, 170, 160),
    "DGD": (255, 170, 160),
    "DVH": (255, 170, 160),
    "DKV": (255, 170, 160),
    "MNC": (180, 255, 255),
    "TSC": (255, 170, 160),
    "CQP": (255, 100, 80),
    "DCH": (255, 170, 160),
    "TON": (255, 170, 160),
}
RES = 1.5  # metres per pixel
SIZE = 800  # pixels a side: 1.2 km
CENTRE = (1000.0, 1340.0)  # in the frame: the middle of the citadel north of the Imperial City


def scan_geotiff(path: Path, zones: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Paint the zones around :data:`CENTRE` as a scanned colour map; returns the polygons it was painted from."""
    cx, cy = world_xy(*CENTRE)
    half = SIZE * RES / 2
    x0, y0 = round(cx - half), round(cy + half)
    window = box(x0, y0 - SIZE * RES, x0 + SIZE * RES, y0)
    src = zones[zones.intersects(window)].copy()
    src["geometry"] = src.geometry.intersection(window)
    src = src[src.geometry.area > 500]
    transform = from_origin(x0, y0, RES, RES)
    img = np.full((3, SIZE, SIZE), 255, dtype=np.uint8)
    for code, rgb in RGB.items():
        sel = src[src["maSDD"] == code]
        if sel.empty:
            continue
        mask = rasterio.features.rasterize(
            ((geom, 1) for geom in sel.geometry), out_shape=(SIZE, SIZE), transform=transform, dtype="uint8"
        ).astype(bool)
        for band in range(3):
            img[band][mask] = rgb[band]
    # Black linework: zone outlines, ~2 px wide; lettering as small black blocks.
    outlines = [g.boundary.buffer(1.2) for g in src.geometry]
    ink = rasterio.features.rasterize(
        ((o, 1) for o in outlines), out_shape=(SIZE, SIZE), transform=transform, dtype="uint8"
    )
    for geom in src.geometry:
        if geom.area < 8000 or geom.minimum_rotated_rectangle.buffer(-20).is_empty:
            continue  # lettering goes where it fits: none in small zones and narrow strips
        c = geom.representative_point()
        for k in range(3):
            r0, c0 = rasterio.transform.rowcol(transform, c.x - 12, c.y + 6 - k * 6)
            ink[max(r0, 0) : max(r0, 0) + 3, max(c0, 0) : max(c0, 0) + int(rng.integers(8, 16))] = 1
    for band in range(3):
        img[band][ink.astype(bool)] = 20
    noise = rng.normal(0, 3.0, size=img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=3,
        dtype="uint8",
        crs=CRS,
        transform=transform,
        compress="deflate",
        predictor=2,
        photometric="RGB",
    ) as dst:
        dst.write(img)
        dst.update_tags(TIFFTAG_DOCUMENTNAME="Bản đồ quy hoạch phân khu Kinh thành Huế (bản quét)")
    out: gpd.GeoDataFrame = src[["kyHieuO", "maSDD", "geometry"]]
    return out
