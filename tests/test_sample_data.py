"""The sample plans of ``sample_data/`` as a user gets them (no database): what the generator promises holds in the
written files (scripts/make_sample_data.py checks the same before writing; this catches files left stale)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sample_data"
GIS = DATA / "46QPK0000001" / "HoSoGIS"
MANDATORY = ["maThongTinQH", "maHoSoQH", "maDoiTuong", "tenDoiTuong", "phanLoai", "ghiChu"]
CONTROL = (561625.296, 1821650.262)  # EPSG:9214 of lon 107.5790, lat 16.4698: in the Imperial City


def layer(name: str, file: str = "QuyHoach.gpkg", folder: Path = GIS) -> gpd.GeoDataFrame:
    return gpd.read_file(folder / file, layer=name, engine="pyogrio")


def overlaps(shapes: list[shapely.Geometry]) -> list[tuple[int, int, float]]:
    tree = shapely.STRtree(shapes)
    out = []
    for i, j in zip(*tree.query(shapes, predicate="intersects"), strict=True):
        if i < j and (a := shapes[i].intersection(shapes[j]).area) > 0.01:
            out.append((int(i), int(j), a))
    return out


@pytest.fixture(scope="module")
def parcels() -> gpd.GeoDataFrame:
    return layer("ThuaDat_A", "HienTrang.gpkg")


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return layer("ChucNangSuDungDat_A")


def test_every_layer_has_valid_shapes_in_epsg_9214_and_the_mandatory_fields() -> None:
    files = [*GIS.glob("*.gpkg"), DATA / "46QPK0000001_2019" / "HoSoGIS" / "QuyHoach.gpkg"]
    assert {f.name for f in files} == {"QuyHoach.gpkg", "HienTrang.gpkg", "NenDiaHinh.gpkg"}
    for f in files:
        for name, _ in pyogrio.list_layers(f):
            gdf = gpd.read_file(f, layer=name, engine="pyogrio")
            assert gdf.crs.to_epsg() == 9214, (f.name, name)
            assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any(), (f.name, name)
            assert set(MANDATORY) <= set(gdf.columns), (f.name, name)
            assert gdf["maDoiTuong"].is_unique, (f.name, name)
            assert (gdf["maHoSoQH"] == "46QPK0000001").all() and (gdf["maThongTinQH"].str.len() == 15).all()
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 6e6, f"sample_data holds {size / 1e6:.1f} MB"


def test_the_imperial_city_holds_the_control_point_and_allows_nothing_new(zones: gpd.GeoDataFrame) -> None:
    here = zones[zones.contains(Point(*CONTROL))]
    assert len(here) == 1
    z = here.iloc[0]
    assert (z["maSDD"], z["tangCaoToiDa"], z["chieuCaoToiDa"]) == ("DDT", 0, 0.0)
    assert z["khuVucBaoTon"].startswith("Khu vực bảo vệ I")
    inside = zones[zones["khuVucBaoTon"].fillna("").str.startswith("Khu vực bảo vệ II - Kinh thành")]
    limits = inside[inside["maSDD"].isin(["ODT", "TMD"])]
    assert set(limits["tangCaoToiDa"]) == {2, 3} and set(limits["chieuCaoToiDa"]) == {11.0, 12.0}


def test_zones_do_not_overlap_and_carry_varied_rules(zones: gpd.GeoDataFrame) -> None:
    assert not overlaps(list(zones.geometry))
    assert zones["kyHieuO"].is_unique
    built = zones[zones["matDoXayDung"] >= 40]
    assert built["matDoXayDung"].min() == 40 and built["matDoXayDung"].max() == 90
    assert zones["tangCaoToiDa"].max() == 7 and set(zones["khoangLuiToiThieu"].dropna()) == {0.0, 3.0, 6.0}
    assert zones["caoDoNenToiThieu"].between(3.0, 4.5).all() and zones["caoDoNenToiThieu"].nunique() > 5
    assert set(zones["khuVucMoi"]) == {0, 1}
    unlimited = zones[zones["khongGioiHan"].notna()]
    assert len(unlimited) >= 3 and all(
        row[{"max_far": "heSoSDD", "min_setback_m": "khoangLuiToiThieu"}[row["khongGioiHan"]]]
        != row[
            {"max_far": "heSoSDD", "min_setback_m": "khoangLuiToiThieu"}[row["khongGioiHan"]]
        ]  # NaN: the value the plan leaves unlimited is empty
        for _, row in unlimited.iterrows()
    )
    no_data = zones[
        zones["khongGioiHan"].isna() & zones[["heSoSDD", "chieuCaoToiDa", "khoangLuiToiThieu"]].isna().any(axis=1)
    ]
    assert len(no_data[no_data["tangCaoToiDa"] > 0]) >= 3  # buildable zones the plan says nothing about on one value


def test_lots_do_not_overlap_and_reach_their_street_or_kiet(parcels: gpd.GeoDataFrame) -> None:
    assert (parcels.geom_type == "Polygon").all()
    assert not overlaps(list(parcels.geometry))
    keys = Counter(zip(parcels["phuongXa"], parcels["soHieuToBanDo"], parcels["soThuTuThua"], strict=True))
    assert max(keys.values()) == 1
    red = layer("ChiGioiDuongDo_L")
    streets = layer("TimDuong_L", "NenDiaHinh.gpkg")
    kiet = streets[streets["loai"] == "kiet"]
    assert kiet["loGioi"].between(2.0, 3.5).all()
    front = parcels[parcels["tenDuong"] != ""]
    back = parcels[parcels["tenKiet"] != ""]
    assert len(front) + len(back) == len(parcels) and (back["tenDuong"] == "").all()
    for road, group in front.groupby("tenDuong"):
        lines = shapely.union_all(red[red["tenDuong"] == road].geometry)
        far = group[group.distance(lines) > 0.01]
        assert far.empty, f"{len(far)} lots on {road} off its red line"
    for name, group in back.groupby("tenKiet"):
        line = kiet[kiet["tenDuong"] == name].geometry
        assert len(line) == 1 and (group.distance(line.iloc[0]) <= 0.5).all(), name
        assert all(a.startswith(tuple(f"{n} kiệt " for n in range(1, 200))) for a in group["diaChi"])
    assert 800 <= len(parcels) <= 1500 and len(back) >= 300
    assert (parcels["maMucDichSDD"] == "BHK").sum() > 0  # the legacy code some records keep


def test_buildings_stand_inside_their_lots(parcels: gpd.GeoDataFrame) -> None:
    buildings = layer("CongTrinh_A", "HienTrang.gpkg")
    tree = shapely.STRtree(list(parcels.geometry))
    for b in buildings.geometry:
        hits = tree.query(b.representative_point(), predicate="within")
        assert len(hits) == 1 and b.within(parcels.geometry.iloc[int(hits[0])].buffer(1e-6))
    assert buildings["maDoiTuong"].is_unique and buildings["soTang"].max() >= 5


def test_red_lines_lie_on_block_edges_and_building_lines_carry_their_streets_setback(zones: gpd.GeoDataFrame) -> None:
    red, bld = layer("ChiGioiDuongDo_L"), layer("ChiGioiXayDung_L")
    edges = shapely.union_all(zones.geometry.boundary).buffer(0.01)  # zones tile the blocks: their edges are blocks'
    assert red.geometry.within(edges).all()
    assert set(red["loGioi"]) >= {11.5, 13.0, 16.5, 19.5, 24.0, 26.0}
    assert set(bld["khoangLui"]) == {0.0, 3.0, 6.0}
    for road, group in bld.groupby("tenDuong"):
        assert group["khoangLui"].nunique() == 1 and group["loGioi"].iloc[0] in set(
            red[red["tenDuong"] == road]["loGioi"]
        )
    zero = bld[bld["khoangLui"] == 0]  # on the shop-house streets the building line is the red line itself
    assert zero.geometry.within(shapely.union_all(red.geometry).buffer(0.01)).all()


def test_the_new_area_keeps_the_qcvn_lot_sizes(parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> None:
    new = shapely.union_all(zones[zones["khuVucMoi"] == 1].geometry)
    red = layer("ChiGioiDuongDo_L")
    lots = parcels[parcels.within(new.buffer(0.01))]
    assert len(lots) >= 100
    for _, lot in lots.iterrows():
        lines = red[red["tenDuong"] == lot["tenDuong"]]
        frontage = shapely.union_all(lines.geometry).intersection(lot.geometry.buffer(0.01)).length
        wide = lines["loGioi"].iloc[0] >= 19
        assert frontage >= (5.0 if wide else 4.0) - 0.02 and lot.geometry.area >= (45 if wide else 36), lot["diaChi"]


def test_the_listed_parcels_straddle_zones_or_lie_partly_in_a_street(parcels: gpd.GeoDataFrame) -> None:
    rows = list(csv.DictReader((DATA / "straddling_parcels.csv").open(encoding="utf-8")))
    assert len(rows) >= 100 and (rows[0]["ward"], rows[0]["sheet_no"], rows[0]["parcel_no"]) == ("Phú Xuân", "13", "4")
    cut = list(csv.DictReader((DATA / "lots_cut_by_red_lines.csv").open(encoding="utf-8")))
    assert len(cut) >= 15
    red = layer("ChiGioiDuongDo_L")
    for row in cut:
        lot = parcels[(parcels["phuongXa"] == row["ward"]) & (parcels["soHieuToBanDo"] == int(row["sheet_no"]))
                      & (parcels["soThuTuThua"] == int(row["parcel_no"]))].geometry.iloc[0]  # fmt: skip
        line = shapely.union_all(red[red["tenDuong"] == row["road"]].geometry)
        assert lot.crosses(line) or lot.intersection(line).length > 1.0
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme and "tờ 13, thửa 4" in readme and "khongGioiHan" in readme and "tenKiet" in readme


def test_the_2019_version_allows_more_in_zone_ii_and_has_no_new_area(zones: gpd.GeoDataFrame) -> None:
    old = layer("ChucNangSuDungDat_A", folder=DATA / "46QPK0000001_2019" / "HoSoGIS")
    both = zones.merge(old, on="kyHieuO", suffixes=("", "_2019"))
    zone_ii = both[(both["khuVucBaoTon"] == "Khu vực bảo vệ II - Kinh thành Huế") & (both["tangCaoToiDa"] > 0)]
    assert (zone_ii["tangCaoToiDa_2019"] == zone_ii["tangCaoToiDa"] + 1).all()
    assert old["khuVucMoi"].eq(0).all() and "HNK" in set(old["maSDD"])
