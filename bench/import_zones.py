"""Import of 1,000,000 zone polygons from a GeoPackage: ``planning import`` against ``ogr2ogr -f PostgreSQL`` (COPY).

Both read the same file into the same database in the same run. ogr2ogr only copies the rows into a new table (with
its spatial index); our importer also validates and repairs geometry (GEOS, once: the server does not check the
same shapes again, migration 0005), maps fields and land-use codes (legacy codes included), converts legacy text,
computes the lon/lat and Web Mercator serving copies, and loads the plan version's zones as their partition of
``planning.zones`` with its other checks, keys and indexes, in one transaction (the foreign keys, which the
importer made sure of, added NOT VALID: migration 0007).
Peak memory is the importer process's maximum resident set size (the import runs in a child process). CPU seconds
are the client process's and, when the database runs on this machine, all PostgreSQL processes' (server).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _server_cpu() -> float | None:
    """CPU seconds used so far by this machine's PostgreSQL processes (backends that ended count in their parent)."""
    total, seen = 0.0, False
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
        seen = True
    return total if seen else None


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float, float | None]:
    """Wall time, peak resident memory (bytes, sampled every 50 ms), the child's CPU seconds and the server's."""
    server0 = _server_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak, cpu = 0, 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
            t = ps.cpu_times()
            cpu = t.user + t.system
        except psutil.Error:
            break
        time.sleep(0.05)
    rc = proc.wait()
    wall = time.perf_counter() - t0
    server1 = _server_cpu()
    if rc:
        raise subprocess.CalledProcessError(rc, cmd)
    server = server1 - server0 if server0 is not None and server1 is not None else None
    return wall, peak, cpu, server


def _settle(url: str, loaded: str | None = None) -> None:
    """Each side starts alike: the server's dirty buffers written (CHECKPOINT, where this role may) and the
    machine's dirty pages on disk, so that neither run pays for the writes the other left behind (ogr2ogr's
    gigabyte of heap and WAL was still being written out during our run). ``loaded``, the table the other side
    has just filled, is vacuumed and analysed first: left to autovacuum (which takes a freshly loaded table within
    its next minute), that work on the other side's million rows fell in the middle of about one run in three."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as c:
            if loaded is not None:
                c.execute(f"VACUUM (ANALYZE) {loaded}")
            c.execute("CHECKPOINT")
    except psycopg.Error:
        pass
    os.sync()
    time.sleep(1)


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
        _settle(url)
        base = _run(
            [ogr2ogr, "-f", "PostgreSQL", pg, str(gpkg), "-nln", "public.ogr_zones", "-nlt", "PROMOTE_TO_MULTI",
             "-lco", "GEOMETRY_NAME=geom", "-gt", "65536", "--config", "PG_USE_COPY", "YES"],
            env,
        )  # fmt: skip
        _settle(url, loaded="public.ogr_zones")
        report_path = Path(tmp) / "report.json"
        env = {**os.environ, "GIS_DATABASE_URL": url}
        ours = _run(
            [str(Path(sys.executable).parent / "planning"), "-q", "import", str(gpkg), "--plan", "46QPK0000001",
             "--user", "bench", "--reason", "benchmark", "--report", str(report_path)],
            env,
        )  # fmt: skip
        report = json.loads(report_path.read_text())
        import psycopg

        with psycopg.connect(url) as c:
            got = c.execute("SELECT count(*) FROM planning.zones").fetchone()
            hist = c.execute("SELECT count(*) FROM planning.change_history WHERE table_name = 'zones'").fetchone()
            loads = c.execute("SELECT count(*), sum(row_count) FROM planning.bulk_loads").fetchone()
            copy_ok = c.execute(
                "SELECT count(*) FROM planning.zones WHERE NOT ST_Equals(geom_4326, ST_Transform(geom, 4326)) "
                "AND ST_HausdorffDistance(geom_4326, ST_Transform(geom, 4326)) > 1e-9"
            ).fetchone()
            base_n = c.execute("SELECT count(*) FROM public.ogr_zones").fetchone()
            assert got and base_n and hist and loads and got[0] == n == base_n[0], (got, base_n)
            assert copy_ok and copy_ok[0] == 0, f"{copy_ok} serving copies differ from ST_Transform"

        def cpu(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1f}s"

        ours_wall, peak, ours_cpu, ours_server = ours
        base_wall, _, base_cpu, base_server = base
        print(f"\nimport ({n:,} zone polygons from one GeoPackage, same database)")
        print(f"  {'case':<40} {'wall':>9} {'rows/s':>10} {'client CPU':>11} {'server CPU':>11}")
        print(
            f"  {'planning import (ours)':<40} {ours_wall:>8.1f}s {n / ours_wall:>10,.0f} {cpu(ours_cpu):>11} "
            f"{cpu(ours_server):>11}"
        )
        print(
            f"  {'ogr2ogr -f PostgreSQL, COPY (baseline)':<40} {base_wall:>8.1f}s {n / base_wall:>10,.0f} "
            f"{cpu(base_cpu):>11} {cpu(base_server):>11}"
        )
        print(f"  ratio ours/ogr2ogr wall time: {ours_wall / base_wall:.2f} (target <= 1.0)")
        print(f"  peak memory of our import: {peak / 2**20:,.0f} MB (target < 2048 MB)")
        steps = report.get("timings", {})
        start = ours_wall - float(report.get("seconds", 0.0))
        print(
            f"  our import's steps: read, convert and COPY {steps.get('layers', 0):.1f}s (COPY statements "
            f"{steps.get('copy', 0):.1f}s, waiting for the next prepared batch "
            f"{steps.get('waiting_for_reader', 0):.1f}s); "
            f"indexes and keys built at ATTACH {steps.get('attach_zones', 0):.1f}s; checks outside it (the overlap "
            f"check runs beside it) {steps.get('quality_checks', 0):.1f}s; start-up {start:.1f}s"
        )
        print(
            f"  history: {loads[0]} bulk load of {int(loads[1] or 0):,} zones; {hist[0]:,} zone entries written "
            "(each zone's insert entry is written when first needed)"
        )
        print("  serving copies (EPSG:4326) equal to ST_Transform for every zone: yes")
