"""Broken dossiers: copies of the sample zoning plan (and of the CAD drawing) with one fault each, and the one
finding the validation must give for it (rule, layer, feature).

Each GIS dossier is ``<name>/HoSoGIS/QuyHoach.gpkg``, the sample's plan layers with one change; the CAD cases are
the Kim Long drawing with one entity added. Made from the written sample (``sample_data``) in a second or two, so
the tests make them in a temporary folder rather than keep them in the repository.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ezdxf
import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box

ZONING = "46QPK0000001"
DETAILED = "46QCT0000001"
ZONES = "ChucNangSuDungDat_A"
ZONES_LABEL = f"HoSoGIS/QuyHoach.gpkg:{ZONES}"
DXF = "KimLong_QHCT_1-500.dxf"


@dataclass(frozen=True)
class Broken:
    """A broken dossier (or drawing) and the finding expected of it; ``src_crs`` for drawings, which have none."""

    name: str
    path: Path
    rule: str
    layer: str
    feature: Any
    src_crs: str | None = None


Layers = dict[str, gpd.GeoDataFrame]


def _chosen(zones: gpd.GeoDataFrame) -> int:
    """The zone the faults are made in: the largest of those not touching the plan's edge (a plain city block)."""
    order = zones.geometry.area.sort_values(ascending=False).index
    union = shapely.union_all(zones.geometry.values)
    for i in order:
        if not zones.geometry[i].buffer(1.0).difference(union).area > 1.0:  # surrounded by other zones
            return int(zones.index.get_loc(i))
    return int(zones.index.get_loc(order[0]))


def _inner_square(poly: Any, side: float) -> Polygon:
    """A square of ``side`` metres well inside ``poly``."""
    p = poly.buffer(-2 * side).representative_point() if not poly.buffer(-2 * side).is_empty else poly.centroid
    return box(p.x - side / 2, p.y - side / 2, p.x + side / 2, p.y + side / 2)


def _spiked(poly: Any) -> Polygon:
    """The zone's outline with a spike into its inside and back (a self-intersection): same area, invalid."""
    ring = list(poly.geoms[0].exterior.coords) if poly.geom_type == "MultiPolygon" else list(poly.exterior.coords)
    a = ring[1]
    c = poly.centroid
    tip = (a[0] + 0.5 * (c.x - a[0]), a[1] + 0.5 * (c.y - a[1]))
    return Polygon([*ring[:2], tip, *ring[1:]])


def _appended(zones: gpd.GeoDataFrame, k: int, geom: Any, **values: Any) -> gpd.GeoDataFrame:
    """The zones with a copy of zone ``k``'s attributes appended, with ``geom`` and ``values``."""
    row = zones.iloc[[k]].copy()
    row["geometry"] = [geom]
    for name, v in values.items():
        row[name] = [v]
    return gpd.GeoDataFrame(pd.concat([zones, row], ignore_index=True), crs=zones.crs)


def _set(zones: gpd.GeoDataFrame, k: int, name: str, value: Any) -> gpd.GeoDataFrame:
    out = zones.copy()
    if name != "geometry" and not isinstance(value, type(out[name].iloc[0])):
        out[name] = out[name].astype(object)
    out.loc[out.index[k], name] = value
    return out


def _sliver(zones: gpd.GeoDataFrame, k: int) -> gpd.GeoDataFrame:
    """Zone ``k`` with a strip 0.3 m wide cut off its western edge, as a zone of its own."""
    z = zones.geometry.iloc[k]
    x0, y0, _x1, y1 = z.bounds
    strip = z.intersection(box(x0 - 1, y0 - 1, x0 + 0.3, y1 + 1))
    out = _set(zones, k, "geometry", MultiPolygon(list(shapely.get_parts(z.difference(strip)))))
    return _appended(out, k, MultiPolygon(list(shapely.get_parts(strip))), kyHieuO="SLIVER")


def _zone_faults(zones: gpd.GeoDataFrame, k: int) -> dict[str, tuple[str, Callable[[], gpd.GeoDataFrame], Any]]:
    """Per fault in the zones layer: the rule expected, the broken layer, and the feature id expected (GeoPackage
    ids count from 1 in the order written; an appended zone is the last)."""
    fid, new = k + 1, len(zones) + 1
    z = zones.geometry.iloc[k]
    max_floors = int(zones["tangCaoToiDa"].iloc[k])
    return {
        "wrong-type": ("field-type", lambda: _set(zones, k, "matDoXayDung", "sáu mươi"), fid),
        "unknown-code": ("code-unknown", lambda: _set(zones, k, "maSDD", "XYZ"), fid),
        "legacy-code": ("code-legacy", lambda: _set(zones, k, "maSDD", "BHK"), fid),
        "missing-code": ("code-missing", lambda: _set(zones, k, "maSDD", None), fid),
        "out-of-range": ("value-range", lambda: _set(zones, k, "matDoXayDung", 140.0), fid),
        "floors-order": ("floors-order", lambda: _set(zones, k, "tangCaoToiThieu", max_floors + 2), fid),
        "too-long": ("field-length", lambda: _set(zones, k, "maThongTinQH", "46QPK00000010001X"), fid),
        "legacy-encoding": ("text-legacy-encoding", lambda: _set(zones, k, "tenDoiTuong", "§Êt ë t¹i ®« thÞ"), fid),
        "invalid-geometry": ("geom-invalid", lambda: _set(zones, k, "geometry", _spiked(z)), fid),
        "duplicate": ("geom-duplicate", lambda: _appended(zones, k, z), new),
        "overlap": ("geom-overlap", lambda: _appended(zones, k, _inner_square(z, 10.0), kyHieuO="CHONG"), new),
        "gap": ("geom-gap", lambda: _set(zones, k, "geometry", z.difference(_inner_square(z, 5.0))), None),
        "sliver": ("geom-sliver", lambda: _sliver(zones, k), new),
        "outside-province": ("outside-province", lambda: _appended(zones, k, translate(z, 200_000.0)), new),
        "wrong-crs": ("crs-wrong", lambda: zones.set_crs("EPSG:4326", allow_override=True), None),
        "missing-field": ("field-missing", lambda: zones.drop(columns=["maHoSoQH"]), None),
    }


def _write(folder: Path, layers: Layers) -> Path:
    gis = folder / "HoSoGIS"
    gis.mkdir(parents=True)
    for name, gdf in layers.items():
        gdf.to_file(gis / "QuyHoach.gpkg", layer=name, driver="GPKG", engine="pyogrio")
    return folder


def _cad_cases(sample: Path, out: Path) -> list[Broken]:
    """The drawing with an outline left open on a zone layer, and with a label outside every shape."""
    src = sample / DETAILED / "HoSoBASIC" / DXF
    cases = []
    doc = ezdxf.readfile(src)
    x0, y0, x1, y1 = _extent(doc)
    w, h = x1 - x0, y1 - y0
    pts = [(x0 + 0.4 * w, y0 + 0.4 * h), (x0 + 0.4 * w, y0 + 0.45 * h), (x0 + 0.45 * w, y0 + 0.45 * h),
           (x0 + 0.45 * w, y0 + 0.41 * h)]  # fmt: skip
    e = doc.modelspace().add_lwpolyline(pts, close=False, dxfattribs={"layer": "QH_DAT_O"})
    path = out / "cad-unclosed" / DXF
    path.parent.mkdir(parents=True)
    doc.saveas(path)
    cases.append(Broken("cad-unclosed", path, "cad-unclosed", DXF, str(e.dxf.handle), "EPSG:9214"))
    doc = ezdxf.readfile(src)
    doc.modelspace().add_text("ONT", height=1.4, dxfattribs={"layer": "KY_HIEU_O", "insert": (x1 + 50, y1 + 50)})
    path = out / "cad-label-outside" / DXF
    path.parent.mkdir(parents=True)
    doc.saveas(path)
    cases.append(Broken("cad-label-outside", path, "cad-label-outside", DXF, None, "EPSG:9214"))
    return cases


def _extent(doc: Any) -> tuple[float, float, float, float]:
    """The extent of a drawing's polylines."""
    xs, ys = [], []
    for e in doc.modelspace().query("LWPOLYLINE"):
        for x, y, *_ in e.get_points():
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def good_dossiers(sample: Path, out: Path) -> list[Broken]:
    """The originals the broken ones are made from (their findings are the baseline): the plan layers alone, and
    the drawing. ``rule`` is empty: no finding is expected beyond the warnings they have."""
    layers = {name: pyogrio.read_dataframe(sample / ZONING / "HoSoGIS" / "QuyHoach.gpkg", layer=name)
              for name, _ in pyogrio.list_layers(sample / ZONING / "HoSoGIS" / "QuyHoach.gpkg")}  # fmt: skip
    good = _write(out / "good", layers)
    dxf = out / "good-cad" / DXF
    dxf.parent.mkdir(parents=True)
    shutil.copy(sample / DETAILED / "HoSoBASIC" / DXF, dxf)
    return [Broken("good", good, "", ZONES_LABEL, None), Broken("good-cad", dxf, "", DXF, None, "EPSG:9214")]


def broken_dossiers(sample: Path, out: Path) -> list[Broken]:
    """Write the broken dossiers under ``out`` from the sample in ``sample``; returns them with their expected
    findings."""
    gpkg = sample / ZONING / "HoSoGIS" / "QuyHoach.gpkg"
    layers: Layers = {name: pyogrio.read_dataframe(gpkg, layer=name) for name, _ in pyogrio.list_layers(gpkg)}
    zones = layers[ZONES]
    k = _chosen(zones)
    cases = []
    for name, (rule, broken, fid) in _zone_faults(zones, k).items():
        folder = _write(out / name, {**layers, ZONES: broken()})
        cases.append(Broken(name, folder, rule, ZONES_LABEL, fid))
    without = {n: g for n, g in layers.items() if n != "ChiGioiDuongDo_L"}
    cases.append(Broken("missing-layer", _write(out / "missing-layer", without), "layer-missing", "ChiGioiDuongDo_L",
                        None))  # fmt: skip
    return cases + _cad_cases(sample, out)
