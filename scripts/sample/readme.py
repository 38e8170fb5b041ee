"""``sample_data/README.md``: what the sample holds, and lots worth trying."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shapely.geometry import Polygon

from sample.build import Sample
from sample.cadastre import Building, Parcel
from sample.frame import DETAILED_CODE, ZONING_CODE, to_world


@dataclass
class Examples:
    """The parcels the README (and the tests) point at."""

    straddling: Parcel
    town: Parcel
    corner: Parcel
    back: Parcel
    cut: Parcel
    over_height: Building
    out_of_line: Building
    new_lot: Parcel
    under_detailed: Parcel
    ambiguous: tuple[int, int]  # a sheet and parcel number found in two wards


def _ref(p: Parcel) -> str:
    return f"{p.ward}, tờ {p.sheet}, thửa {p.number}"


def examples(s: Sample, detailed: list[Polygon]) -> Examples:
    """The parcels and buildings the README (and the tests) point at: for each case, the first that shows it."""
    by_no = sorted(s.parcels, key=lambda p: (p.ward, p.sheet, p.number))
    pairs = Counter((p.sheet, p.number) for p in s.parcels)
    zone_rule = {z.code: z.rule for z in s.zones}

    def first(pred: object) -> Parcel:
        return next(p for p in by_no if pred(p))  # type: ignore[operator]

    straddling = first(  # a lot big enough to draw a house on by clicking its corners, in two housing zones
        lambda p: (
            p.ward == "Phú Xuân"
            and p.lot.kind == "front"
            and pairs[(p.sheet, p.number)] == 1
            and p.lot.poly.area > 400
            and len(p.zones) == 2
            and min(share for _, share in p.zones) > 0.3
            and all((zone_rule[c].fmax or 0) <= 3 for c, _ in p.zones)
        )
    )
    town = first(
        lambda p: (
            p.lot.row is not None
            and p.lot.row.kind == "town"
            and p.lot.kind == "front"
            and p.ward == "Phú Xuân"
            and len(p.zones) == 1
        )
    )
    corner = first(lambda p: p.lot.kind == "corner" and len(p.lot.roads) == 2 and p.ward == "Phú Xuân")
    back = first(lambda p: p.lot.kind == "back" and p.ward == "Phú Xuân")
    cut = first(lambda p: p.lot.cut_by_red_line > 0.5)
    over = next(b for b in sorted(s.buildings, key=lambda b: b.key) if any("tầng" in x for x in b.breaks))
    out_of_line = next(b for b in sorted(s.buildings, key=lambda b: b.key) if any("lùi" in x for x in b.breaks))
    new_lot = first(
        lambda p: p.ward == "Hương Sơ" and p.lot.kind == "front" and p.lot.road is not None and p.lot.road.width >= 19
    )
    world = [to_world(p.lot.poly) for p in by_no]
    under = next(
        p
        for p, w in zip(by_no, world, strict=True)
        if p.ward == "Kim Long" and any(w.intersection(d).area > 0.5 * w.area for d in detailed)
    )
    ambiguous = next(k for k, n in sorted(pairs.items()) if n > 1)
    return Examples(straddling, town, corner, back, cut, over, out_of_line, new_lot, under, ambiguous)


def readme(s: Sample, ex: Examples, counts: dict[str, int], files: dict[str, int]) -> str:
    """The text of ``sample_data/README.md``."""
    kinds = Counter(p.lot.row.kind if p.lot.row else p.lot.kind for p in s.parcels)
    z = {z.code: z for z in s.zones}
    st = ex.straddling
    share_text = ", ".join(f"{c} ({z[c].rule.code}): {share:.3f}" for c, share in st.zones)
    over = ex.over_height
    lines = [
        "# Sample data: plans of Huế around the Kinh thành, Kim Long and Hương Sơ",
        "",
        "Made by `python scripts/make_sample_data.py` (reproducible: the same bytes on every run; do not edit by",
        "hand). **The data is synthetic**: shaped like Huế (the citadel turned 45° with its south-east face on the",
        "Perfume River, walls 21 m thick, bastions and ten gates, the moat, the Hộ Thành Hà and the Ngự Hà, the",
        "Imperial City on the axis behind the Kỳ Đài, Đông Ba market outside the east corner, Kim Long upstream, real",
        "street names) but not surveyed: streets, lots, owners' buildings and limits are made up. Use it for demos",
        "and tests, never for decisions. All coordinates are in EPSG:9214 (VN-2000 / TM-3 107-00); the DXF has no",
        "CRS (import it with `--src-crs EPSG:9214`).",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{ZONING_CODE}/HoSoGIS/QuyHoach.gpkg` | zoning plan 1/2000 `{ZONING_CODE}` (TT 16/2025 dossier): "
        f"`ChucNangSuDungDat_A` {files['zones']} zones, `ChiGioiDuongDo_L` {files['red']} red lines, "
        f"`ChiGioiXayDung_L` {files['bld']} building lines, `RanhGioiQuyHoach_A` the plan boundary (the citadel, "
        "the riverbank, Đông Ba, Kim Long, the new area of Hương Sơ) |",
        f"| `{ZONING_CODE}/HoSoGIS/HienTrang.gpkg` | the cadastre today: `ThuaDat_A` {files['parcels']} parcels, "
        f"`CongTrinh_A` {files['buildings']} buildings |",
        f"| `{ZONING_CODE}/HoSoGIS/NenDiaHinh.gpkg` | base map: `ThuyHe_A` {files['water']} water areas, "
        f"`TuongThanh_A` {files['walls']} walls, bastions and gates, `TimDuong_L` {files['streets']} street and "
        f"{files['kiet']} kiệt centre lines, `DiaDanh_P` {files['landmarks']} landmarks |",
        f"| `{ZONING_CODE}/HoSoScan/KinhThanh_QHPK_scan.tif` | part of the zoning plan as a scanned colour map "
        "(1.5 m pixels, official colours, black linework and lettering, noise), georeferenced |",
        f"| `{ZONING_CODE}/HoSoScan/KinhThanh_QHPK_scan_source.gpkg` | the zone polygons the scan was painted from |",
        f"| `{ZONING_CODE}_2019/HoSoGIS/QuyHoach.gpkg` | the superseded 2019 version of the zoning plan (plan layers "
        f"only, {files['zones_2019']} zones): one floor and 3.5 m more in protection zone II and Kim Long, Mai Thúc "
        "Loan 13 m wide, the new area still farmland (`HS-01`, HNK) |",
        f"| `{DETAILED_CODE}/HoSoBASIC/KimLong_QHCT_1-500.dxf` | detailed plan 1/500 `{DETAILED_CODE}` of a Kim Long "
        "block in CAD, over part of the zoning plan's Kim Long zones and parcels (north of Kim Long street between "
        "Phú Mộng and Vạn Xuân), with its own limits: closed polylines with arcs, a hatch, TEXT/MTEXT labels "
        "(`ODT`, `MĐXD 60%`, `TC 3`/`4T`, `HSSDĐ 1.8`, `ÔQH-01`), two lots labelled in TCVN3, one lot without "
        "labels (code from its layer), one label outside every lot |",
        f"| `straddling_parcels.csv` | the {counts['straddling lots']} parcels lying in two or more zones: each zone "
        "and its share of the parcel |",
        f"| `lots_cut_by_red_lines.csv` | the {counts['lots cut by a red line']} parcels part of which lies in a "
        "planned street (Mai Thúc Loan widened from 13 m to 16.5 m): the street and the area beyond its red line |",
        "",
        "## Zones (`ChucNangSuDungDat_A`)",
        "",
        "The six mandatory TT 16/2025 fields (`maThongTinQH`, `maHoSoQH`, `maDoiTuong`, `tenDoiTuong`, `phanLoai`,",
        "`ghiChu`; every layer of every file carries them, `maDoiTuong` unique in its layer), then `kyHieuO` zone code",
        "(`KT` Kinh thành, `BS` riverbank, `ĐB` Đông Ba, `KL` Kim Long, `HS` Hương Sơ), `maSDD` land-use code (TT",
        "08/2024), `matDoXayDung` max density %, `tangCaoToiDa`/`tangCaoToiThieu` floors, `chieuCaoToiDa` height m,",
        "`heSoSDD` FAR, `khoangLuiToiThieu` setback m, `caoDoNenToiThieu` minimum ground elevation m (3.0-4.5:",
        "flooding), `khuVucBaoTon` heritage zone, `dienTich` area m², and two fields the rule model reads from the",
        "zone's attributes:",
        "",
        "- `khongGioiHan`: the values the plan leaves unlimited on purpose, comma-separated column names (`max_far` on",
        "  the Đông Ba shop-houses and the mixed-use blocks of Hương Sơ, `min_setback_m` on the Hương Sơ park). An",
        '  empty value without `khongGioiHan` is "no data": the riverbank green west of the Kỳ Đài has no FAR, the',
        "  school on Nhật Lệ no setback, the Kim Long pagoda no height;",
        "- `khuVucMoi`: 1 in the new residential area of Hương Sơ (QCVN 01:2021 lot sizes apply: its lots are 5 m",
        "  wide on the 19.5 m and 26 m roads, 4.5 m on the 13 m roads, villas 10 m), 0 elsewhere.",
        "",
        "Protection zone I (the Imperial City, the walls with their bastions, gates and earth bank, the moat, the Ngự",
        "Hà) allows nothing new: `DDT`/`MNC`, 0 floors, 0 m. Zone II inside the walls allows 2-3 floors and 11-12 m;",
        "Đinh Tiên Hoàng, Mai Thúc Loan and Hàn Thuyên have a commercial strip (TMD) 18-25 m deep, deeper lots reach",
        "into the housing zone behind. Zones tile the blocks (the land between red lines); streets are no zone.",
        "",
        "## Streets, red lines, building lines",
        "",
        "Each red line (`ChiGioiDuongDo_L`: `tenDuong`, `loGioi` red-line width m) is the edge of one block on one",
        "street; each building line (`ChiGioiXayDung_L`) carries the same `tenDuong` and `loGioi` and its own",
        "`khoangLui` setback: 0 m on the shop-house streets (the line drawn on the red line), 3 m or 6 m elsewhere.",
        "Widths: " + ", ".join(f"{w:g} m" for w in sorted({r.road.width for r in s.red})) + ".",
        "",
        "## Parcels (`ThuaDat_A`) and buildings (`CongTrinh_A`)",
        "",
        "`phuongXa`, `maPhuongXa` (illustrative codes), `soHieuToBanDo` sheet, `soThuTuThua` parcel, `dienTich` area",
        "m² as recorded, `maMucDichSDD` land use (a few Kim Long gardens keep the old code `BHK`), `diaChi` address,",
        "`tenDuong` the street the lot is addressed on (empty for back lots), `tenKiet` the kiệt of a back lot.",
        f"Lots: {kinds['town']} town lots (4-8 m frontage, 15-28 m deep, on the commercial streets), "
        f"{kinds['villa']} villa and {kinds['garden']} garden lots (15-30 m frontage), {kinds['new']} regular new "
        f"lots, {counts['back lots']} back lots reached only by one of {len(s.kiet)} kiệt, {kinds['public']} public "
        f"parcels (Đại Nội, Đông Ba and Kim Long markets, a school, a pagoda, Hồ Tịnh Tâm); {counts['corner lots']} "
        "lots touch two streets. Side boundaries wander a metre or so: few corners are right angles.",
        "A kiệt is a base-map line (`TimDuong_L`, `loai` `kiet`, 2-3.5 m), not a planned street: it runs along the",
        "common boundary of the lots it serves. Sheet numbers are per ward, so a sheet and parcel number may be found",
        f"in two wards (sheet {ex.ambiguous[0]}, parcel {ex.ambiguous[1]}): give the ward.",
        "",
        "Buildings: `tenCongTrinh`, `soTang`, `soTangHam`, `chieuCao` m, `maMucDichSDD`, `maDoiTuong` (the key across",
        "re-imports). Most lots hold a house (most new lots are still empty); some break today's plan (built before",
        "it, or without a permit), e.g.:",
        "",
        *[
            f"- {_ref(b.parcel)} ({b.parcel.address}): {'; '.join(b.breaks)}"
            for b in sorted((b for b in s.buildings if b.breaks), key=lambda b: b.key)[:6]
        ],
        "",
        "## Lots to try",
        "",
        f"- **the parcel the tests use**, straddling two zones: {_ref(st)}, {st.lot.poly.area:.2f} m², "
        f"{st.address}: {share_text} (zone: share of the parcel);",
        f"- a town lot: {_ref(ex.town)} ({ex.town.address});",
        f"- a corner lot on {' and '.join(r.name for r in ex.corner.lot.roads)}: {_ref(ex.corner)};",
        f"- a back lot on a kiệt: {_ref(ex.back)} ({ex.back.address});",
        f"- a lot cut by a red line: {_ref(ex.cut)} ({ex.cut.lot.cut_by_red_line:.1f} m² of it in Mai Thúc Loan);",
        f"- a house over today's height: {_ref(over.parcel)} ({over.floors} floors, {over.height:g} m; "
        f"{over.breaks[0]});",
        f"- a house in front of its building line: {_ref(ex.out_of_line.parcel)} ({ex.out_of_line.breaks[-1]});",
        f"- a new lot (QCVN lot sizes): {_ref(ex.new_lot)} ({ex.new_lot.address});",
        f"- a lot under the detailed plan 1/500 as well: {_ref(ex.under_detailed)};",
        "- protection zone I: Phú Xuân, tờ 1, thửa 1 (Đại Nội).",
        "",
        "## Import",
        "",
        "The demo (`./run.sh demo`) imports the 2019 version first and publishes it, then the current dossier as the",
        "next version (the 2019 one becomes `superseded`), then the detailed plan:",
        "",
        "```sh",
        f"planning import sample_data/{ZONING_CODE}_2019 --plan {ZONING_CODE} --name 'Quy hoạch phân khu Kinh thành "
        "Huế' --decision-no DEMO-00/QĐ-UBND --decision-date 2019-12-20",
        f"planning plans publish {ZONING_CODE}",
        f"planning import sample_data/{ZONING_CODE} --plan {ZONING_CODE} --decision-no DEMO-01/QĐ-UBND "
        "--decision-date 2024-06-15",
        f"planning plans publish {ZONING_CODE}",
        f"planning import sample_data/{DETAILED_CODE}/HoSoBASIC/KimLong_QHCT_1-500.dxf --plan {DETAILED_CODE} "
        "--src-crs EPSG:9214",
        "```",
        "",
    ]
    return "\n".join(lines)
