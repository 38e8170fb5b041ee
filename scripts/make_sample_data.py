"""Make the sample plans of Huế in ``sample_data/`` (reproducible: the same bytes on every run).

Synthetic, but shaped like Huế around the Kinh thành, Kim Long and a new area north of the citadel, in EPSG:9214
(VN-2000 / TM-3 107-00); the ``sample`` package beside this script builds it (its docstring says how):

- ``46QPK0000001/HoSoGIS/QuyHoach.gpkg``: the zoning plan 1/2000 as a TT 16/2025 dossier (zones, red lines, building
  lines, boundary); ``HienTrang.gpkg``: parcels and buildings; ``NenDiaHinh.gpkg``: the base map (water, walls,
  street and kiệt centre lines, landmarks); ``HoSoScan``: part of the plan as a scanned map;
- ``46QPK0000001_2019/HoSoGIS/QuyHoach.gpkg``: the superseded 2019 version of the zoning plan;
- ``46QCT0000001/HoSoBASIC/KimLong_QHCT_1-500.dxf``: a detailed plan 1/500 of a Kim Long block drawn in CAD;
- ``straddling_parcels.csv``, ``lots_cut_by_red_lines.csv`` and ``README.md``.

Run: ``python scripts/make_sample_data.py [OUT_DIR]`` (default ``sample_data``). Written with GDAL (pyogrio), ezdxf
and rasterio, as the files planners hold are. Before writing, :func:`sample.checks.check` verifies the sample (valid
non-overlapping lots and zones, lots touching their street's red line or their kiệt, buildings inside their lots).

``python scripts/make_sample_data.py --broken OUT_DIR`` writes the broken dossiers of :mod:`sample.broken` (one
fault each, for the validation's tests) from the sample in ``sample_data``.
"""

from __future__ import annotations

import csv
import shutil
import sys
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import Polygon

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sample.build import Sample, build
from sample.cad import detailed_plan_dxf, grid, lot_outlines
from sample.checks import check
from sample.frame import DETAILED_CODE, ZONING_CODE, rng
from sample.layers import base_map, buildings_layer, parcels_layer, plan_layers
from sample.readme import Examples, examples, readme
from sample.scan import scan_geotiff


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write each GeoDataFrame of ``layers`` as a layer of the GeoPackage at ``path``."""
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def write_csvs(out: Path, s: Sample, ex: Examples) -> None:
    """``straddling_parcels.csv`` and ``lots_cut_by_red_lines.csv``: the lots the README and the tests use."""
    parcels = sorted(s.parcels, key=lambda p: (p.ward, p.sheet, p.number))
    with (out / "straddling_parcels.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ward", "sheet_no", "parcel_no", "area_m2", "zones"])
        # the parcel the tests use comes first
        for p in sorted((p for p in parcels if len(p.zones) > 1), key=lambda p: p is not ex.straddling):
            w.writerow(
                [
                    p.ward,
                    p.sheet,
                    p.number,
                    f"{p.lot.poly.area:.2f}",
                    ";".join(f"{c}:{share:.3f}" for c, share in p.zones),
                ]
            )
    with (out / "lots_cut_by_red_lines.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ward", "sheet_no", "parcel_no", "area_m2", "road", "red_line_width_m", "area_in_road_m2"])
        for p in parcels:
            if p.lot.cut_by_red_line > 0.5 and p.lot.road is not None:
                w.writerow(
                    [
                        p.ward,
                        p.sheet,
                        p.number,
                        f"{p.lot.poly.area:.2f}",
                        p.lot.road.name,
                        f"{p.lot.road.width:g}",
                        f"{p.lot.cut_by_red_line:.2f}",
                    ]
                )


def main(argv: list[str]) -> int:
    """Build, check and write the sample to ``argv[1]`` (default ``sample_data``); 0 on success. With
    ``--broken OUT_DIR``: the broken dossiers from the sample already written."""
    if len(argv) > 2 and argv[1] == "--broken":
        from sample.broken import broken_dossiers

        for case in broken_dossiers(Path("sample_data"), Path(argv[2])):
            print(f"{case.path}: {case.rule} in {case.layer} feature {case.feature}", file=sys.stderr)
        return 0
    out = Path(argv[1] if len(argv) > 1 else "sample_data")
    t0 = time.perf_counter()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2025-07-16T00:00:00Z"})  # same bytes on every run
    s = build()
    counts = check(s)
    for sub in (ZONING_CODE, f"{ZONING_CODE}_2019", DETAILED_CODE):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    gis = out / ZONING_CODE / "HoSoGIS"
    gis.mkdir(parents=True)
    plan = plan_layers(s, s.zones)
    write_layers(gis / "QuyHoach.gpkg", plan)
    cadastre = {"ThuaDat_A": parcels_layer(s), "CongTrinh_A": buildings_layer(s)}
    write_layers(gis / "HienTrang.gpkg", cadastre)
    base = base_map(s)
    write_layers(gis / "NenDiaHinh.gpkg", base)
    old = out / f"{ZONING_CODE}_2019" / "HoSoGIS"
    old.mkdir(parents=True)
    plan_2019 = plan_layers(s, s.zones_2019, version_2019=True)
    write_layers(old / "QuyHoach.gpkg", plan_2019)
    scan_dir = out / ZONING_CODE / "HoSoScan"
    scan_dir.mkdir(parents=True)
    src = scan_geotiff(scan_dir / "KinhThanh_QHPK_scan.tif", plan["ChucNangSuDungDat_A"], rng(9))
    src.to_file(scan_dir / "KinhThanh_QHPK_scan_source.gpkg", driver="GPKG", engine="pyogrio")
    basic = out / DETAILED_CODE / "HoSoBASIC"
    basic.mkdir(parents=True)
    g = grid(s.blocks)
    detailed_plan_dxf(basic / "KimLong_QHCT_1-500.dxf", g)
    ex = examples(s, [Polygon(r) for r in lot_outlines(g)])
    write_csvs(out, s, ex)
    files = {
        "zones": len(plan["ChucNangSuDungDat_A"]),
        "red": len(plan["ChiGioiDuongDo_L"]),
        "bld": len(plan["ChiGioiXayDung_L"]),
        "parcels": len(cadastre["ThuaDat_A"]),
        "buildings": len(cadastre["CongTrinh_A"]),
        "water": len(base["ThuyHe_A"]),
        "walls": len(base["TuongThanh_A"]),
        "streets": int((base["TimDuong_L"]["loai"] == "duong").sum()),
        "kiet": int((base["TimDuong_L"]["loai"] == "kiet").sum()),
        "landmarks": len(base["DiaDanh_P"]),
        "zones_2019": len(plan_2019["ChucNangSuDungDat_A"]),
    }
    (out / "README.md").write_text(readme(s, ex, counts, files), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"sample data written to {out} in {time.perf_counter() - t0:.0f} s ({size / 1e6:.1f} MB): "
        + ", ".join(f"{v} {k}" for k, v in counts.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
