"""Each format imports from real files (written by GDAL, ezdxf, rasterio) and lands at the control point.

Control point (domain facts): WGS84 lon 107.5790, lat 16.4698 = EPSG:9214 E 561625.296, N 1821650.262. A zone has a
vertex there; after the import, that vertex must be within 1 cm of it, whatever CRS the file was written in.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import zipfile
from pathlib import Path

import ezdxf
import geopandas as gpd
import pytest
import sqlalchemy as sa
from pyproj import Transformer
from shapely.geometry import LineString, Polygon
from sqlalchemy.engine import Engine

from converters import ImportOptions, import_path

ROOT = Path(__file__).resolve().parents[1]
CONTROL_9214 = (561625.296, 1821650.262)
CONTROL_4326 = (107.5790, 16.4698)
# TM-3 107 on the WGS84 ellipsoid, no TOWGS84: how many programs write VN-2000 (225 m off if read as written).
PRJ_NO_TOWGS84 = (
    'PROJCS["VN_2000_TM3_Hue",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",107.0],'
    'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
_codes = itertools.count(1)


def next_plan() -> str:
    return f"46QPK{9000000 + next(_codes):07d}"


def zones_9214() -> gpd.GeoDataFrame:
    """Two zones; the first has a vertex on the control point."""
    e, n = CONTROL_9214
    a = Polygon([(e - 40, n - 30), (e, n - 30), (e, n), (e - 40, n)])
    b = Polygon([(e, n - 30), (e + 35, n - 30), (e + 35, n), (e, n)])
    return gpd.GeoDataFrame(
        {
            "kyHieuO": ["ÔQH-01", "ÔQH-02"],
            "maSDD": ["ODT", "TMD"],
            "matDoXayDung": [60.0, 70.0],
            "tangCaoToiDa": [3, 5],
            "tenDoiTuong": ["Ô quy hoạch ÔQH-01", "Ô quy hoạch ÔQH-02"],
        },
        geometry=[a, b],
        crs="EPSG:9214",
    )


def control_offset(engine: Engine, plan: str) -> float:
    """Distance (m) from the control point to the nearest stored zone vertex of the plan."""
    with engine.connect() as c:
        d = c.execute(
            sa.text(
                "SELECT min(ST_Distance((dp).geom, ST_SetSRID(ST_MakePoint(:e, :n), 9214))) FROM ("
                "SELECT ST_DumpPoints(z.geom) dp FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id "
                "WHERE p.code = :c) x"
            ),
            {"e": CONTROL_9214[0], "n": CONTROL_9214[1], "c": plan},
        ).scalar_one()
    assert d is not None, f"no zones imported for {plan}"
    return float(d)


def zone_rows(engine: Engine, plan: str) -> list[tuple[object, ...]]:
    with engine.connect() as c:
        return [
            tuple(r)
            for r in c.execute(
                sa.text(
                    "SELECT z.zone_code, z.land_use_code, z.max_density_pct::float, z.max_floors FROM planning.zones z "
                    "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = :c ORDER BY zone_code"
                ),
                {"c": plan},
            )
        ]


EXPECTED = [("ÔQH-01", "ODT", 60.0, 3), ("ÔQH-02", "TMD", 70.0, 5)]


def run_import(engine: Engine, path: Path, **kw: object) -> tuple[str, object]:
    plan = next_plan()
    report = import_path(path, engine, ImportOptions(plan=plan, kind="zones", user="test", **kw))  # type: ignore[arg-type]
    return plan, report


@pytest.mark.parametrize(
    ("driver", "name"),
    [
        ("GPKG", "zones.gpkg"),
        ("ESRI Shapefile", "zones.shp"),
        ("GeoJSON", "zones.geojson"),
        ("MapInfo File", "zones.mif"),
        ("OpenFileGDB", "zones.gdb"),
        ("FlatGeobuf", "zones.fgb"),
    ],
)
def test_gis_formats_in_epsg_9214(engine: Engine, tmp_path: Path, driver: str, name: str) -> None:
    path = tmp_path / name
    zones_9214().to_file(path, driver=driver, engine="pyogrio")
    plan, _ = run_import(engine, path)
    assert zone_rows(engine, plan) == EXPECTED
    assert control_offset(engine, plan) < 0.01


def test_zipped_shapefile(engine: Engine, tmp_path: Path) -> None:
    zones_9214().to_file(tmp_path / "zones.shp", engine="pyogrio")
    z = tmp_path / "zones.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in tmp_path.glob("zones.*"):
            if p != z:
                zf.write(p, f"HoSo/{p.name}")
    plan, _ = run_import(engine, z)
    assert zone_rows(engine, plan) == EXPECTED
    assert control_offset(engine, plan) < 0.01


def test_vn2000_prj_without_towgs84_gets_the_official_shift(engine: Engine, tmp_path: Path) -> None:
    zones_9214().to_file(tmp_path / "zones.shp", engine="pyogrio")
    (tmp_path / "zones.prj").write_text(PRJ_NO_TOWGS84)
    plan, report = run_import(engine, tmp_path / "zones.shp")
    assert control_offset(engine, plan) < 0.01  # read as written it would be ~225 m off
    assert any("read as VN-2000 TM-3" in w and "EPSG:6960" in w for w in report.warnings)  # type: ignore[attr-defined]


def test_mapinfo_tab_written_as_9214_loses_the_shift_and_gets_it_back(engine: Engine, tmp_path: Path) -> None:
    # TAB stores integer coordinates over the layer's bounds: tight bounds give millimetres (the default, 1.6 cm)
    zones_9214().to_file(
        tmp_path / "zones.tab", driver="MapInfo File", engine="pyogrio", BOUNDS="540000,1800000,580000,1840000"
    )
    plan, report = run_import(engine, tmp_path / "zones.tab")
    assert control_offset(engine, plan) < 0.01
    assert zone_rows(engine, plan) == EXPECTED
    assert any("read as VN-2000 TM-3" in w for w in report.warnings)  # type: ignore[attr-defined]


def test_wgs84_file_goes_through_the_official_shift(engine: Engine, tmp_path: Path) -> None:
    lon, lat = CONTROL_4326
    d = 0.0003
    gdf = gpd.GeoDataFrame(
        {"kyHieuO": ["ÔQH-01"], "maSDD": ["ODT"], "matDoXayDung": [60.0], "tangCaoToiDa": [3]},
        geometry=[Polygon([(lon - d, lat - d), (lon, lat - d), (lon, lat), (lon - d, lat)])],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "zones.geojson", driver="GeoJSON", engine="pyogrio")
    plan, _ = run_import(engine, tmp_path / "zones.geojson")
    assert control_offset(engine, plan) < 0.01


def test_src_crs_names_a_provincial_meridian(engine: Engine, tmp_path: Path) -> None:
    """A bare shapefile in VN-2000 TM-3 107°45' (vn2000:107.75) lands where the same point is in EPSG:9214."""
    to_10775 = Transformer.from_crs(
        "EPSG:9214", "+proj=tmerc +lon_0=107.75 +k=0.9999 +x_0=500000 +ellps=WGS84", always_xy=True
    )
    gdf = zones_9214()
    gdf["geometry"] = gdf.geometry.apply(lambda g: Polygon([to_10775.transform(x, y) for x, y in g.exterior.coords]))
    gdf = gdf.set_crs(None, allow_override=True)
    gdf.to_file(tmp_path / "zones.shp", engine="pyogrio")
    assert not (tmp_path / "zones.prj").exists()
    plan, _ = run_import(engine, tmp_path / "zones.shp", src_crs="vn2000:107.75")
    assert control_offset(engine, plan) < 0.01


def test_dgn_v7_with_text_labels(engine: Engine, tmp_path: Path, gdal_bin: str) -> None:
    """A DGN v7 made by GDAL (ogr2ogr from a DXF: its TEXT become DGN text elements); labels give the attributes."""
    ogr2ogr = os.path.join(gdal_bin, "ogr2ogr")
    e, n = CONTROL_9214
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    msp.add_lwpolyline([(e - 40, n - 30), (e, n - 30), (e, n), (e - 40, n)], close=True, dxfattribs={"layer": "QH"})
    for k, text in enumerate(["ODT", "ÔQH-01", "M§XD 60%", "TC 3"]):
        msp.add_text(text, height=1.5, dxfattribs={"layer": "KY_HIEU", "insert": (e - 30, n - 10 - 3 * k)})
    doc.saveas(tmp_path / "zones.dxf")
    subprocess.run([ogr2ogr, "-f", "DGN", str(tmp_path / "zones.dgn"), str(tmp_path / "zones.dxf")], check=True,
                   capture_output=True)  # fmt: skip
    plan = next_plan()
    import_path(tmp_path / "zones.dgn", engine, ImportOptions(plan=plan, src_crs="EPSG:9214", user="test"))
    assert zone_rows(engine, plan) == [("ÔQH-01", "ODT", 60.0, 3)]
    assert control_offset(engine, plan) < 0.02  # GDAL's DGN seed file stores coordinates on a 1 cm grid


def test_dxf_sample_labels_give_code_density_floors(engine: Engine) -> None:
    path = ROOT / "sample_data" / "46QCT0000001" / "HoSoBASIC" / "KimLong_QHCT_1-500.dxf"
    plan = next_plan().replace("QPK", "QCT")
    report = import_path(path, engine, ImportOptions(plan=plan, src_crs="EPSG:9214", user="test"))
    with engine.connect() as c:
        rows = {
            r[0]: r[1:]
            for r in c.execute(
                sa.text(
                    "SELECT coalesce(z.zone_code, z.attributes->>'cad_handle'), z.land_use_code, "
                    "z.max_density_pct::float, z.max_floors, z.max_far::float, z.name, z.attributes->>'cad_layer' "
                    "FROM planning.zones z "
                    "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = :c"
                ),
                {"c": plan},
            )
        }
    assert rows["ÔQH-01"][:4] == ("ODT", 60.0, 3, 1.8)  # MTEXT
    assert rows["ÔQH-02"][:4] == ("ODT", 70.0, 4, 2.8)  # TEXT, floors as "4T"
    assert rows["ÔQH-03"][:4] == ("TMD", 60.0, 5, 3.0)
    assert rows["ÔQH-04"][:3] == ("ODT", 60.0, 3) and rows["ÔQH-04"][4] == "Đất ở tại đô thị"  # TCVN3 labels
    assert rows["ÔQH-07"][4] == "Thửa đất"  # TCVN3
    assert rows["ÔQH-09"][:3] == ("DKV", 5.0, 1)  # a HATCH, labelled "¤QH-09", "M§XD 5%" in TCVN3
    unlabelled = [k for k, v in rows.items() if not k.startswith("ÔQH")]
    assert len(unlabelled) == 1 and rows[unlabelled[0]][0] == "DKV"  # code from the layer QH_CAY_XANH
    assert len(rows) == 10
    warnings = " ".join(report.warnings)
    assert "1 label(s) lie in no closed shape" in warnings and "1 closed shape(s) without labels" in warnings
    assert "tcvn3" in warnings


def test_dxf_arcs_are_followed_within_5_cm(engine: Engine, tmp_path: Path) -> None:
    """A lot bounded by a 60 m radius arc (a polyline bulge): every stored vertex and chord stays within 5 cm."""
    e, n = CONTROL_9214
    doc = ezdxf.new("R2010")
    r, half = 60.0, 40.0
    sagitta = r - (r**2 - half**2) ** 0.5
    bulge = 2 * sagitta / (2 * half)
    pts = [(e, n, 0, 0, 0), (e + 2 * half, n, 0, 0, bulge), (e + 2 * half, n + 0.001, 0, 0, 0)]
    msp = doc.modelspace()
    msp.add_lwpolyline([(e, n - 50), (e + 2 * half, n - 50), (e + 2 * half, n), (e, n)], close=True,
                       dxfattribs={"layer": "QH_DAT_O"})  # fmt: skip
    del pts
    # the top edge from (e + 80, n) back to (e, n) as an arc bulging outwards (north)
    lw = msp.add_lwpolyline(
        [(e, n - 50, 0, 0, 0), (e + 2 * half, n - 50, 0, 0, 0), (e + 2 * half, n, 0, 0, bulge), (e, n, 0, 0, 0)],
        format="xyseb",
        close=True,
        dxfattribs={"layer": "QH_THUONG_MAI"},
    )
    msp.delete_entity(msp.query("LWPOLYLINE[layer=='QH_DAT_O']").first)
    assert lw.closed
    doc.saveas(tmp_path / "arc.dxf")
    plan = next_plan()
    import_path(tmp_path / "arc.dxf", engine, ImportOptions(plan=plan, src_crs="EPSG:9214", user="test"))
    centre = (e + half, n - (r - sagitta))
    with engine.connect() as c:
        worst = c.execute(
            sa.text(
                "WITH ring AS (SELECT ST_ExteriorRing((ST_Dump(z.geom)).geom) g FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = :c), "
                "seg AS (SELECT ST_PointN(g, i) a, ST_PointN(g, i + 1) b FROM ring, "
                "generate_series(1, ST_NPoints(g) - 1) i) "
                "SELECT max(greatest(abs(ST_Distance(a, ctr) - :r), abs(ST_Distance(ST_LineInterpolatePoint("
                "ST_MakeLine(a, b), 0.5), ctr) - :r))) FROM seg, (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 9214) ctr) k "
                "WHERE ST_Y(a) > :n + 0.001 OR ST_Y(b) > :n + 0.001"
            ),
            {"c": plan, "r": r, "x": centre[0], "y": centre[1], "n": n},
        ).scalar_one()
    assert worst is not None and worst < 0.05


def test_scan_zones_match_the_source_polygons_within_5_percent(engine: Engine) -> None:
    scan = ROOT / "sample_data" / "46QPK0000001" / "HoSoScan" / "KinhThanh_QHPK_scan.tif"
    source = gpd.read_file(scan.with_name("KinhThanh_QHPK_scan_source.gpkg"), engine="pyogrio")
    plan = next_plan()
    report = import_path(scan, engine, ImportOptions(plan=plan, user="test"))
    assert any("digitised from the scan as drafts" in w for w in report.warnings)
    with engine.connect() as c:
        got = gpd.read_postgis(
            sa.text(
                "SELECT z.land_use_code, (z.attributes->>'confidence')::float AS confidence, "
                "z.attributes->>'digitized_from' AS origin, z.geom FROM planning.zones z "
                "JOIN planning.plans p ON p.id = z.plan_id WHERE p.code = :c"
            ),
            c,
            params={"c": plan},
            geom_col="geom",
        )
    assert len(got) >= 10 and set(got["origin"]) == {"scan"}
    assert got["confidence"].between(0.5, 1.0).all()
    checked = 0
    for src_code, zone_code, shape in zip(source["maSDD"], source["kyHieuO"], source.geometry, strict=True):
        if shape.area < 5000:
            continue  # corners cut by the scan's edge
        overlap = got.geometry.intersection(shape).area
        best = got.iloc[int(overlap.argmax())]
        assert abs(best["geom"].area - shape.area) / shape.area < 0.05, (zone_code, best["geom"].area, shape.area)
        if src_code in ("ODT", "MNC"):  # colours no other code shares
            assert best["land_use_code"] == src_code
        checked += 1
    assert checked >= 10


def test_dossier_with_a_filegdb(engine: Engine, tmp_path: Path) -> None:
    """A TT 16/2025 dossier whose HoSoGIS holds a FileGDB: layers go to their tables by their standard names."""
    gis = tmp_path / "46QPK9999999" / "HoSoGIS"
    gis.mkdir(parents=True)
    z = zones_9214()
    z.to_file(gis / "QuyHoach.gdb", layer="ChucNangSuDungDat_A", driver="OpenFileGDB", engine="pyogrio")
    e, n = CONTROL_9214
    red = gpd.GeoDataFrame(
        {"tenDuong": ["Đinh Tiên Hoàng"], "loGioi": [19.5]},
        geometry=[LineString([(e - 40, n + 5), (e + 35, n + 5)])],
        crs="EPSG:9214",
    )
    red.to_file(gis / "QuyHoach.gdb", layer="ChiGioiDuongDo_L", driver="OpenFileGDB", engine="pyogrio", mode="a")
    plan = next_plan()
    report = import_path(tmp_path / "46QPK9999999", engine, ImportOptions(plan=plan, user="test"))
    assert sorted((lr.table, lr.written) for lr in report.layers) == [("red_lines", 1), ("zones", 2)]
    assert zone_rows(engine, plan) == EXPECTED
    with engine.connect() as c:
        road = c.execute(
            sa.text(
                "SELECT r.road_name, r.red_line_width_m::float FROM planning.red_lines r "
                "JOIN planning.plans p ON p.id = r.plan_id WHERE p.code = :c"
            ),
            {"c": plan},
        ).one()
    assert tuple(road) == ("Đinh Tiên Hoàng", 19.5)
