"""Bad input gives a clear error and leaves the database as it was (compared table by table, row by row)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyogrio import raw
from shapely.geometry import Polygon
from sqlalchemy.engine import Engine

from converters import (
    ConverterError,
    CorruptFile,
    EmptyLayer,
    ImportOptions,
    MissingCRS,
    UnknownCodes,
    UnsupportedFormat,
    import_path,
)

TABLES = ("plans", "zones", "parcels", "buildings", "red_lines", "building_lines", "change_history")
E, N = 561625.296, 1821650.262


def snapshot(engine: Engine) -> dict[str, str]:
    """A digest of every row of every table (and the sequences' positions do not matter)."""
    with engine.connect() as c:
        return {
            t: c.execute(
                sa.text(
                    f"SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x.id)), '') "
                    f"FROM planning.{t} x"
                )
            ).scalar_one()
            for t in TABLES
        }


def zones(codes: list[str] | None = None, density: list[float] | None = None) -> gpd.GeoDataFrame:
    codes = codes or ["ODT", "TMD"]
    polys = [Polygon([(E + 50 * i, N), (E + 50 * i + 40, N), (E + 50 * i + 40, N + 30), (E + 50 * i, N + 30)])
             for i in range(len(codes))]  # fmt: skip
    return gpd.GeoDataFrame(
        {
            "kyHieuO": [f"ÔQH-{i}" for i in range(len(codes))],
            "maSDD": codes,
            "matDoXayDung": density or [60.0] * len(codes),
        },
        geometry=polys,
        crs="EPSG:9214",
    )


@pytest.fixture
def seeded(engine: Engine) -> dict[str, str]:
    """Some data already in the database (so 'unchanged' means something)."""
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM planning.plans WHERE code = '46QPK0000100'")).scalar_one()
    if not n:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "seed.gpkg"
            zones().to_file(p, engine="pyogrio")
            import_path(p, engine, ImportOptions(plan="46QPK0000100", kind="zones", user="seed"))
    return snapshot(engine)


def attempt(engine: Engine, path: Path, error: type[Exception], match: str, **kw: object) -> str:
    before = snapshot(engine)
    opts = ImportOptions(plan="46QPK0000101", kind="zones", user="test")
    for k, v in kw.items():
        setattr(opts, k, v)
    with pytest.raises(error, match=match) as exc:
        import_path(path, engine, opts)
    assert snapshot(engine) == before
    return str(exc.value)


def test_truncated_geopackage(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    p = tmp_path / "zones.gpkg"
    zones().to_file(p, engine="pyogrio")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    msg = attempt(engine, p, CorruptFile, "zones.gpkg")
    assert "corrupt" in msg or "complete" in msg


def test_corrupt_file(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    p = tmp_path / "zones.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polyg')
    attempt(engine, p, CorruptFile, "zones.geojson")


def test_shapefile_without_shx(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones().to_file(tmp_path / "zones.shp", engine="pyogrio")
    (tmp_path / "zones.shx").unlink()
    attempt(engine, tmp_path / "zones.shp", CorruptFile, r"zones\.shx is missing")


def test_no_crs(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones().to_file(tmp_path / "zones.shp", engine="pyogrio")
    (tmp_path / "zones.prj").unlink()
    attempt(engine, tmp_path / "zones.shp", MissingCRS, "--src-crs")
    doc = ezdxf.new()
    doc.modelspace().add_lwpolyline([(E, N), (E + 10, N), (E + 10, N + 10)], close=True)
    doc.saveas(tmp_path / "plan.dxf")
    attempt(engine, tmp_path / "plan.dxf", MissingCRS, "CAD drawings never carry one", kind=None)


def test_wrong_crs_lands_outside_vietnam(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones().to_file(tmp_path / "zones.gpkg", engine="pyogrio")
    attempt(engine, tmp_path / "zones.gpkg", MissingCRS, "outside Vietnam", src_crs="EPSG:3857")


def test_unknown_codes_are_listed(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones(["ODT", "XYZ", "QQQ", "XYZ"]).to_file(tmp_path / "zones.gpkg", engine="pyogrio")
    msg = attempt(engine, tmp_path / "zones.gpkg", UnknownCodes, "unknown land-use codes")
    assert "'XYZ' (2×)" in msg and "'QQQ' (1×)" in msg
    # --allow-unknown-codes imports the rest and lists what was left out
    report = import_path(
        tmp_path / "zones.gpkg",
        engine,
        ImportOptions(plan="46QPK0000102", kind="zones", user="test", allow_unknown_codes=True),
    )
    assert report.layers[0].written == 1 and report.unknown_codes == {"XYZ": 2, "QQQ": 1}
    assert {d["why"] for d in report.layers[0].dropped} == {
        "unknown land-use code 'XYZ'",
        "unknown land-use code 'QQQ'",
    }


def test_out_of_range_value_names_the_feature(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones(["ODT", "TMD"], density=[60.0, 150.0]).to_file(tmp_path / "zones.gpkg", engine="pyogrio")
    attempt(engine, tmp_path / "zones.gpkg", ConverterError, r"feature 2: matDoXayDung = 150.0 is outside 0–100")


def test_dwg_and_dgn_v8_ask_for_dxf_or_dgn_v7(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    dwg = tmp_path / "plan.dwg"
    dwg.write_bytes(b"AC1032\x00\x00\x00\x00\x00\x00" + bytes(200))
    attempt(engine, dwg, UnsupportedFormat, "convert it to DXF", kind=None)
    dgn = tmp_path / "plan.dgn"
    dgn.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # an OLE compound file: DGN v8
    attempt(engine, dgn, UnsupportedFormat, "DGN v8.*DGN v7 or export DXF", kind=None)


def test_empty_layer(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones().iloc[:0].to_file(tmp_path / "empty.gpkg", engine="pyogrio")
    attempt(engine, tmp_path / "empty.gpkg", EmptyLayer, "no features")


def test_truncated_dxf(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    doc = ezdxf.new()
    for i in range(50):
        doc.modelspace().add_lwpolyline([(E + i, N), (E + i + 1, N), (E + i + 1, N + 1)], close=True)
    doc.saveas(tmp_path / "plan.dxf")
    data = (tmp_path / "plan.dxf").read_bytes()
    (tmp_path / "plan.dxf").write_bytes(data[: int(len(data) * 0.8)])
    attempt(engine, tmp_path / "plan.dxf", CorruptFile, "plan.dxf", kind=None, src_crs="EPSG:9214")


def test_import_killed_half_way_leaves_nothing(
    engine: Engine, database_url: str, seeded: dict[str, str], tmp_path: Path
) -> None:
    """A `planning import` killed (SIGKILL) while it writes: the transaction never commits."""
    big = tmp_path / "big.gpkg"
    n = 120_000
    x, y = E + (np.arange(n) % 400) * 25.0, N + (np.arange(n) // 400) * 25.0
    squares = shapely.box(x, y, x + 20, y + 20)
    raw.write(str(big), shapely.to_wkb(squares), field_data=[np.full(n, "ODT", dtype=object)], fields=["maSDD"],
              layer="zones", driver="GPKG", geometry_type="Polygon", crs="EPSG:9214")  # fmt: skip
    before = snapshot(engine)
    planning = Path(sys.executable).parent / "planning"
    proc = subprocess.Popen(
        [str(planning), "-q", "import", str(big), "--plan", "46QPK0000103", "--kind", "zones", "--user", "test"],
        env={**os.environ, "GIS_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        copying = False
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as c:
                copying = bool(
                    c.execute(
                        sa.text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY planning.zones%'")
                    ).scalar_one()
                )
            if copying:
                break
            time.sleep(0.05)
        assert copying and proc.poll() is None, "the import should be writing when it is killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the server notices the dead client and rolls back; wait until its backend is gone
    for _ in range(100):
        with engine.connect() as c:
            busy = c.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE query LIKE 'COPY planning.zones%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        if not busy:
            break
        time.sleep(0.1)
    assert snapshot(engine) == before


def test_a_layer_of_unknown_kind_asks_for_kind(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    zones().to_file(tmp_path / "data.gpkg", layer="lop_1", engine="pyogrio")
    attempt(engine, tmp_path / "data.gpkg", ConverterError, r"found lop_1\): say what it holds with --kind", kind=None)
