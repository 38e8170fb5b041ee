"""Geometry repair and its report, overlaps and gaps, mapping profiles, scans with a world file."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy.engine import Engine

from converters import ConverterError, ImportOptions, import_path

ROOT = Path(__file__).resolve().parents[1]
E, N = 561625.296, 1821650.262


def square(x: float, y: float, s: float = 30.0) -> Polygon:
    return Polygon([(x, y), (x + s, y), (x + s, y + s), (x, y + s)])


def test_repairs_are_reported_with_the_feature_and_what_changed(engine: Engine, tmp_path: Path) -> None:
    bowtie = Polygon([(E, N), (E + 30, N + 30), (E + 30, N), (E, N + 30)])  # self-intersecting
    with_sliver = MultiPolygon([square(E + 50, N), Polygon([(E + 90, N), (E + 90.001, N), (E + 90, N + 0.001)])])
    gdf = gpd.GeoDataFrame(
        {"kyHieuO": ["A", "B", "C"], "maSDD": ["ODT", "ODT", "TMD"]},
        geometry=[bowtie, with_sliver, square(E + 100, N)],
        crs="EPSG:9214",
    )
    gdf.to_file(tmp_path / "z.gpkg", engine="pyogrio")
    report = import_path(tmp_path / "z.gpkg", engine, ImportOptions(plan="46QPK0000200", kind="zones", user="t"))
    lr = report.layers[0]
    assert lr.written == 3 and lr.repairs_total == 2
    by_fid = {r["fid"]: r["what"] for r in lr.repairs}
    assert "Self-intersection" in by_fid[1] and "made valid" in by_fid[1]
    assert "zero-area part" in by_fid[2]
    with engine.connect() as c:
        areas = c.execute(
            sa.text(
                "SELECT z.zone_code, z.geom_area_m2, ST_NumGeometries(z.geom) FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = '46QPK0000200' ORDER BY 1"
            )
        ).all()
    assert [(a[0], round(a[1]), a[2]) for a in areas] == [("A", 450, 2), ("B", 900, 1), ("C", 900, 1)]


def test_collections_whose_polygons_overlap_are_merged_and_stored_valid(engine: Engine, tmp_path: Path) -> None:
    """A collection is valid when each member is; as one MultiPolygon its overlapping or edge-sharing parts are not.
    The importer merges them (reported), so the database, which does not check bulk-loaded zones again, holds only
    valid shapes (it validates the plan's whole partition here)."""
    from shapely.geometry import GeometryCollection

    overlapping = GeometryCollection([square(E, N), square(E + 15, N + 15)])
    sharing_an_edge = GeometryCollection([square(E + 100, N), square(E + 130, N)])
    gdf = gpd.GeoDataFrame(
        {"kyHieuO": ["A", "B", "C"], "maSDD": ["ODT", "ODT", "TMD"]},
        geometry=[overlapping, sharing_an_edge, square(E + 200, N)],
        crs="EPSG:9214",
    )
    gdf.to_file(tmp_path / "z.gpkg", engine="pyogrio", geometry_type="GeometryCollection")
    report = import_path(tmp_path / "z.gpkg", engine, ImportOptions(plan="46QPK0000201", kind="zones", user="t"))
    lr = report.layers[0]
    by_fid = {r["fid"]: r["what"] for r in lr.repairs}
    assert lr.written == 3 and "parts overlap or share an edge: merged" in by_fid[1] and "merged" in by_fid[2]
    with engine.begin() as c:
        rows = c.execute(
            sa.text(
                "SELECT z.zone_code, round(z.geom_area_m2), ST_NumGeometries(z.geom), ST_IsValid(z.geom), z.plan_id "
                "FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = '46QPK0000201' "
                "ORDER BY 1"
            )
        ).all()
        assert [tuple(r[:4]) for r in rows] == [("A", 1575, 1, True), ("B", 1800, 1, True), ("C", 900, 1, True)]
        c.execute(sa.text(f"ALTER TABLE planning.zones_plan_{rows[0][4]} VALIDATE CONSTRAINT zones_geom_valid"))


def test_overlaps_and_gaps_are_reported(engine: Engine, tmp_path: Path) -> None:
    ring = [square(E + i * 30, N + j * 30) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    ring.append(square(E + 35, N + 35, 10))  # inside the hole, leaving a gap around it
    ring.append(square(E + 50, N + 50, 20))  # overlaps its neighbours
    gdf = gpd.GeoDataFrame({"maSDD": ["ODT"] * len(ring)}, geometry=ring, crs="EPSG:9214")
    gdf.to_file(tmp_path / "z.gpkg", engine="pyogrio")
    report = import_path(tmp_path / "z.gpkg", engine, ImportOptions(plan="46QPK0000201", kind="zones", user="t"))
    q = report.quality
    assert len(q["overlaps"]) == 3 and abs(q["overlap_area_m2"] - (100 + 100 + 100)) < 0.01
    # the hole (30 x 30 m) less the small zone inside it and the corner the overlapping zone covers
    assert len(q["gaps"]) == 1 and abs(q["gap_area_m2"] - (900 - 100 - 100)) < 0.01


def test_a_mapping_profile_names_other_fields(engine: Engine, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"LOAI": ["ODT"], "MATDO_PT": [55.0], "SO_TANG": [4], "KY_HIEU": ["A-1"]},
        geometry=[square(E, N)],
        crs="EPSG:9214",
    )
    gdf.to_file(tmp_path / "z.gpkg", layer="QH_SDD", engine="pyogrio")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "name: phong-qlđt\nlayers:\n  QH_SDD: zones\nfields:\n  zones:\n"
        "    land_use_code: [LOAI]\n    max_density_pct: [MATDO_PT]\n"
        "    max_floors: [SO_TANG]\n    zone_code: [KY_HIEU]\n",
        encoding="utf-8",
    )
    import_path(tmp_path / "z.gpkg", engine, ImportOptions(plan="46QPK0000202", mapping=profile, user="t"))
    with engine.connect() as c:
        row = c.execute(
            sa.text(
                "SELECT z.zone_code, z.land_use_code, z.max_density_pct::float, z.max_floors FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = '46QPK0000202'"
            )
        ).one()
    assert tuple(row) == ("A-1", "ODT", 55.0, 4)
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  zonez: {}\n")
    with pytest.raises(ConverterError, match="unknown kind 'zonez'"):
        import_path(tmp_path / "z.gpkg", engine, ImportOptions(plan="46QPK0000202", mapping=bad, user="t"))


def test_scan_image_with_a_world_file(engine: Engine, tmp_path: Path) -> None:
    """A plain PNG plus its world file (.pgw), no CRS: --src-crs gives it."""
    tif = ROOT / "sample_data" / "46QPK0000001" / "HoSoScan" / "KinhThanh_QHPK_scan.tif"
    with rasterio.open(tif) as ds:
        img, t = ds.read(window=((0, 300), (0, 300))), ds.transform
    png = tmp_path / "scan.png"
    with rasterio.open(png, "w", driver="PNG", width=300, height=300, count=3, dtype="uint8") as dst:
        dst.write(img)
    (tmp_path / "scan.png.aux.xml").unlink(missing_ok=True)
    png.with_suffix(".pgw").write_text(f"{t.a}\n0\n0\n{t.e}\n{t.c + t.a / 2}\n{t.f + t.e / 2}\n")
    with pytest.raises(ConverterError, match="--src-crs"):
        import_path(png, engine, ImportOptions(plan="46QPK0000203", user="t"))
    report = import_path(png, engine, ImportOptions(plan="46QPK0000203", user="t", src_crs="EPSG:9214"))
    assert report.layers[0].written >= 2
    with engine.connect() as c:
        x0, y1 = c.execute(
            sa.text(
                "SELECT min(ST_XMin(z.geom)), max(ST_YMax(z.geom)) FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = '46QPK0000203'"
            )
        ).one()
    assert t.c - 1 <= x0 and y1 <= t.f + 1 and x0 < t.c + 300 * t.a and np.isfinite(y1)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_scan_georeferenced_by_ground_control_points(engine: Engine, tmp_path: Path) -> None:
    from rasterio.control import GroundControlPoint

    tif = ROOT / "sample_data" / "46QPK0000001" / "HoSoScan" / "KinhThanh_QHPK_scan.tif"
    with rasterio.open(tif) as ds:
        img, t = ds.read(window=((0, 300), (0, 300))), ds.transform
    gcps = [
        GroundControlPoint(row=r, col=c, x=t.c + c * t.a, y=t.f + r * t.e)
        for r, c in ((0, 0), (0, 300), (300, 0), (300, 300))
    ]
    out = tmp_path / "gcp.tif"
    with rasterio.open(out, "w", driver="GTiff", width=300, height=300, count=3, dtype="uint8",
                       gcps=gcps, crs="EPSG:9214") as dst:  # fmt: skip
        dst.write(img)
    report = import_path(out, engine, ImportOptions(plan="46QPK0000204", user="t"))
    assert report.layers[0].written >= 2
    with engine.connect() as c:
        x0, y1 = c.execute(
            sa.text(
                "SELECT min(ST_XMin(z.geom)), max(ST_YMax(z.geom)) FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = '46QPK0000204'"
            )
        ).one()
    assert t.c - 1 <= x0 < t.c + 300 * t.a and t.f + 300 * t.e < y1 <= t.f + 1


def test_legacy_encoded_shapefile_text_becomes_unicode(engine: Engine, tmp_path: Path) -> None:
    """A DBF typed with .VnTime (TCVN3) and VNI-Times fonts, no code page: what GDAL gives back is converted."""
    gdf = gpd.GeoDataFrame(
        {
            "maSDD": ["ODT", "ODT"],
            "kyHieuO": ["A-1", "A-2"],
            "tenO": ["§Êt ë t¹i ®« thÞ", "Thöûa ñaát"],  # TCVN3 and VNI, as Latin-1 characters
        },
        geometry=[square(E, N), square(E + 40, N)],
        crs="EPSG:9214",
    )
    gdf.to_file(tmp_path / "z.shp", engine="pyogrio", encoding="ISO-8859-1")
    (tmp_path / "z.cpg").unlink(missing_ok=True)
    report = import_path(tmp_path / "z.shp", engine, ImportOptions(plan="46QPK0000205", kind="zones", user="t"))
    assert dict(report.layers[0].encodings) == {"tcvn3": 1, "vni": 1}
    with engine.connect() as c:
        names = (
            c.execute(
                sa.text(
                    "SELECT z.name FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id "
                    "WHERE p.code = '46QPK0000205' ORDER BY z.zone_code"
                )
            )
            .scalars()
            .all()
        )
    assert names == ["Đất ở tại đô thị", "Thửa đất"]
