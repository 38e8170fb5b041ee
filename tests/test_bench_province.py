"""The province-scale benchmark (``python -m bench province``) at a tiny scale: the synthetic province's files are
Huế-like and sound, and its run loads, publishes and tiles every feature through the project's own paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from conftest import DatabaseServer

from bench.province import run
from bench.province_data import PLANS, expected_counts, make_province, plan_code
from gis_service.reference_data import land_use_codes
from gis_service.service_area import E_RANGE, N_RANGE


def _read(path: Path, layer: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    _meta, _fids, geoms, fields = pyogrio.raw.read(str(path), layer=layer)
    names = pyogrio.read_info(str(path), layer=layer)["fields"]
    return shapely.from_wkb(geoms), dict(zip(names, fields, strict=True))


def test_the_province_files_are_sound_and_lie_over_hue(tmp_path: Path) -> None:
    files = make_province(tmp_path, scale=0.004)  # 10 zones a plan
    want = expected_counts(0.004)
    assert want == {"plans": 20, "zones": 200, "red_lines": 400, "parcels": 4000, "buildings": 1200}
    assert list(files.plans) == [plan_code(k) for k in range(PLANS)]
    zones, codes = [], set()
    for path in files.plans.values():
        geoms, fields = _read(path, "ChucNangSuDungDat_A")
        zones.append(geoms)
        codes |= set(fields["maSDD"])
        assert len(_read(path, "ChiGioiDuongDo_L")[0]) == 2 * len(geoms)
    all_zones = np.concatenate(zones)
    assert len(all_zones) == want["zones"]
    assert codes <= {c.code for c in land_use_codes()}, codes
    assert files.cadastre is not None
    parcels, pf = _read(files.cadastre, "ThuaDat_A")
    buildings, _ = _read(files.cadastre, "CongTrinh_A")
    assert (len(parcels), len(buildings)) == (want["parcels"], want["buildings"])
    for geoms in (all_zones, parcels, buildings):
        assert shapely.is_valid(geoms).all()
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        assert E_RANGE[0] < x0 < x1 < E_RANGE[1] and N_RANGE[0] < y0 < y1 < N_RANGE[1]
    # plans do not overlap one another, parcels lie in zones, buildings in parcels
    tree = shapely.STRtree(all_zones)
    hits = tree.query(all_zones, predicate="intersects")
    assert (hits[0] == hits[1]).all(), "two zones touch or overlap"
    in_zone = shapely.STRtree(shapely.buffer(all_zones, 0.01)).query(parcels, predicate="within")
    assert len(set(in_zone[0])) == len(parcels)
    in_parcel = shapely.STRtree(shapely.buffer(parcels, 0.01)).query(buildings, predicate="within")
    assert len(set(in_parcel[0])) == len(buildings)
    # irregular: lots of many sizes, and few right angles
    area = shapely.area(parcels)
    assert area.max() / area.min() > 5
    assert len(set(zip(pf["phuongXa"], pf["soHieuToBanDo"], pf["soThuTuThua"], strict=True))) == len(parcels)


@pytest.mark.timeout(600)
def test_the_province_run_loads_publishes_and_tiles_every_feature(
    db_server: DatabaseServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIS_BENCH_DATABASE_URL", db_server.admin_url)
    # the browser is left out (bench viewer's test covers it); published vector tiles up to z8 keep it short
    sets = run(0.001, viewer=False, vector_max_zoom=8)
    province, sample = sets["province"], sets["sample"]
    want = expected_counts(0.001)
    assert {k: province.counts[k] for k in want} == want
    assert province.counts["prepared_lookups"] == want["parcels"]
    assert sample.counts["parcels"] == 1362 and sample.counts["prepared_lookups"] == 1362
    kinds = [j["kind"] for j in province.jobs]
    # the jobs the 20 publications queued: one run of each kind did the work of all of them
    assert kinds.count("tiles.rebuild") == kinds.count("lookup.prepare") == 1
    for kind in ("tiles.rebuild", "lookup.prepare"):
        assert len(province.jobs[kinds.index(kind)]["result"]["jobs"]) == PLANS
    full = province.jobs[kinds.index("tiles.rebuild")]["result"]["layers"]
    assert {r["layer"]: r["features"] for r in full} == {
        "zones": want["zones"],
        "buildings": want["buildings"],
        "parcels": want["parcels"],
    }
    assert province.steps["  tiles.rebuild, first: vector tiles"].bytes
    assert province.steps["  tiles.rebuild, first: 3D tiles"].bytes
    assert province.steps["  lookup.prepare, first"].count == want["parcels"]
    out = capsys.readouterr().out
    steps = ["generate files", "import cadastre", "import plans", "publish plans", "jobs: all", "lookup.prepare, first",
             "tiles.rebuild, first: vector tiles", "tiles.rebuild, first: 3D tiles", "20 job(s)"]  # fmt: skip
    for step in steps:
        assert step in out, out
    assert f"{want['parcels']:,} parcels" in out
