"""Import of 1,000,000 zone polygons from a GeoPackage: ``planning import`` against ``ogr2ogr -f PostgreSQL`` (COPY).

Both read the same file into the same database in the same run. ogr2ogr only copies the rows into a new table (with
its spatial index); our importer also validates and repairs geometry, maps fields and land-use codes (legacy codes
included), converts legacy text, and writes into ``planning.zones`` with its checks, generated serving columns
(EPSG:4326, EPSG:3857, area), three spatial indexes and the change history, in one transaction.
Peak memory is the importer process's maximum resident set size (the import runs in a child process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import shapely
from pyogrio import raw
from sqlalchemy.engine import make_url

from bench.common import throwaway_database

CODES = np.array(["ODT", "TMD", "DGD", "DKV", "ODT", "ODT", "BHK", "CLN"], dtype=object)


def make_gpkg(path: Path, n: int) -> None:
    """n zones: 8-vertex polygons on a grid around the Kinh thành, in EPSG:9214, TT 16/2025 fields."""
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = 540_000 + (i % side) * 25.0
    y = 1_800_000 + (i // side) * 25.0
    ang = np.linspace(0, 2 * np.pi, 9)[:-1]
    ring = np.stack([np.cos(ang), np.sin(ang)], axis=1) * 10.0
    coords = np.concatenate([ring, ring[:1]])[None, :, :] + np.stack([x, y], axis=1)[:, None, :]
    geoms = shapely.polygons(coords)
    fields = {
        "kyHieuO": np.array([f"ÔQH-{k}" for k in range(n)], dtype=object),
        "maSDD": CODES[i % len(CODES)],
        "matDoXayDung": (40 + i % 40).astype(np.float64),
        "tangCaoToiDa": (1 + i % 9).astype(np.int32),
        "heSoSDD": np.round(0.5 + (i % 30) / 10, 1),
        "maHoSoQH": np.full(n, "46QPK0000001", dtype=object),
        "tenDoiTuong": np.array([f"Ô quy hoạch số {k}" for k in range(n)], dtype=object),
        "phanLoai": np.full(n, "Đất ở tại đô thị", dtype=object),
    }
    raw.write(
        str(path),
        shapely.to_wkb(geoms),
        field_data=list(fields.values()),
        fields=list(fields),
        layer="ChucNangSuDungDat_A",
        driver="GPKG",
        geometry_type="Polygon",
        crs="EPSG:9214",
    )


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak resident memory (bytes, sampled every 50 ms) of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.05)
    rc = proc.wait()
    wall = time.perf_counter() - t0
    if rc:
        raise subprocess.CalledProcessError(rc, cmd)
    return wall, peak


FLOOR_PARTS = [
    ("without the change-history trigger", ["ALTER TABLE planning.zones DISABLE TRIGGER zones_history_insert"]),
    ("without the bookkeeping trigger", ["ALTER TABLE planning.zones DISABLE TRIGGER zones_bookkeeping"]),
    (
        "without the foreign keys (plan, land-use code)",
        [
            "ALTER TABLE planning.zones DROP CONSTRAINT zones_plan_id_fkey",
            "ALTER TABLE planning.zones DROP CONSTRAINT zones_land_use_code_fkey",
        ],
    ),
    (
        "without the 3 spatial indexes",
        [f"DROP INDEX planning.zones_{c}_idx" for c in ("geom", "geom_4326", "geom_3857")],
    ),
    ("without the ST_IsValid check", ["ALTER TABLE planning.zones DROP CONSTRAINT zones_geom_valid"]),
    (
        "without the generated EPSG:4326/3857 columns",
        ["ALTER TABLE planning.zones DROP COLUMN geom_4326", "ALTER TABLE planning.zones DROP COLUMN geom_3857"],
    ),
]


def _floor_breakdown(c: Any, plan_id: int, rows: int) -> list[tuple[str, float]]:
    """The in-server floor on the first ``rows`` rows, whole and then without each part of the model in turn (each
    in a transaction rolled back): what each part of planning.zones costs a bulk insert. The first run warms the
    caches and is left out; the next is the whole model ("all")."""
    insert = (
        "INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, max_far, "
        "attributes, geom) SELECT %s, kyhieuo, tendoituong, CASE masdd WHEN 'BHK' THEN 'HNK' ELSE masdd END, "
        "matdoxaydung, tangcaotoida, hesosdd, jsonb_build_object('maHoSoQH', mahosoqh), ST_SetSRID(geom, 9214) "
        "FROM public.ogr_zones LIMIT %s"
    )
    out: list[tuple[str, float]] = []
    for label, ddl in [("warm-up", []), ("all", []), *FLOOR_PARTS]:
        for sql in ddl:
            c.execute(sql)
        t0 = time.perf_counter()
        c.execute(insert, (plan_id, rows))
        wall = time.perf_counter() - t0
        c.rollback()
        out.append((label, wall))
    return out[1:]


def run(scale: float = 1.0) -> None:
    n = max(1000, int(1_000_000 * scale))
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        print("import: ogr2ogr not found (Debian gdal-bin; ./run.sh setup installs it)", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as url:
        gpkg = Path(tmp) / "zones.gpkg"
        t0 = time.perf_counter()
        make_gpkg(gpkg, n)
        print(f"import: wrote {n:,} zones to a GeoPackage in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        u = make_url(url)
        pg = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username} password={u.password}"
        env = {**os.environ, "PG_USE_COPY": "YES"}
        base_wall, _ = _run(
            [ogr2ogr, "-f", "PostgreSQL", pg, str(gpkg), "-nln", "public.ogr_zones", "-nlt", "PROMOTE_TO_MULTI",
             "-lco", "GEOMETRY_NAME=geom", "-gt", "65536", "--config", "PG_USE_COPY", "YES"],
            env,
        )  # fmt: skip
        env = {**os.environ, "GIS_DATABASE_URL": url}
        ours_wall, peak = _run(
            [str(Path(sys.executable).parent / "planning"), "-q", "import", str(gpkg), "--plan", "46QPK0000001",
             "--user", "bench", "--reason", "benchmark"],
            env,
        )  # fmt: skip
        import psycopg

        with psycopg.connect(url) as c:
            got = c.execute("SELECT count(*) FROM planning.zones").fetchone()
            hist = c.execute("SELECT count(*) FROM planning.change_history").fetchone()
            base = c.execute("SELECT count(*) FROM public.ogr_zones").fetchone()
            assert got and base and hist and got[0] == n == base[0], (got, base)
            # The data model's own cost, no client at all: the same rows moved inside the server into planning.zones
            # (checks, generated EPSG:4326/3857 columns, 3 spatial indexes, bookkeeping and history triggers).
            plan = c.execute("SELECT id FROM planning.plans LIMIT 1").fetchone()
            assert plan is not None
            t0 = time.perf_counter()
            c.execute(
                "INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, "
                "max_far, attributes, geom) SELECT %s, kyhieuo, tendoituong, CASE masdd WHEN 'BHK' THEN 'HNK' "
                "ELSE masdd END, matdoxaydung, tangcaotoida, hesosdd, jsonb_build_object('maHoSoQH', mahosoqh), "
                "ST_SetSRID(geom, 9214) FROM public.ogr_zones",
                (plan[0],),
            )
            floor_wall = time.perf_counter() - t0
            c.rollback()
            part = max(1000, n // 5)
            breakdown = _floor_breakdown(c, plan[0], part)
        print(f"\nimport ({n:,} zone polygons from one GeoPackage, same database)")
        print(f"  {'case':<40} {'wall':>9} {'rows/s':>10}")
        print(f"  {'planning import (ours)':<40} {ours_wall:>8.1f}s {n / ours_wall:>10,.0f}")
        print(f"  {'ogr2ogr -f PostgreSQL, COPY (baseline)':<40} {base_wall:>8.1f}s {n / base_wall:>10,.0f}")
        print(f"  {'data model floor: INSERT..SELECT in-server':<40} {floor_wall:>8.1f}s {n / floor_wall:>10,.0f}")
        print(f"  ratio ours/ogr2ogr wall time: {ours_wall / base_wall:.2f} (target <= 1.0)")
        print(
            f"  ratio data-model floor/ogr2ogr: {floor_wall / base_wall:.2f} (any importer into planning.zones pays it)"
        )
        print(f"  ratio ours/data-model floor: {ours_wall / floor_wall:.2f} (our own overhead on top of the model)")
        print(f"  peak memory of our import: {peak / 2**20:,.0f} MB (target < 2048 MB)")
        print(f"  history entries written: {hist[0]:,}")
        full = breakdown[0][1]
        print(f"\n  where the data-model floor goes ({part:,} of the rows, in-server, each without one part):")
        for label, wall in breakdown[1:]:
            print(f"    {label:<52} {wall:>6.2f}s  saves {100 * (full - wall) / full:>3.0f}%")
        print(f"    {'all parts (as above)':<52} {full:>6.2f}s")
