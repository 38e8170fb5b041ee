"""Import of 1,000,000 zone polygons from a GeoPackage: ``planning import`` against ``ogr2ogr -f PostgreSQL`` (COPY).

Both read the same file into the same database in the same run. ogr2ogr only copies the rows into a new table (with
its spatial index); our importer also validates and repairs geometry (GEOS, once: the server does not check the
same shapes again, migration 0005), maps fields and land-use codes (legacy codes included), converts legacy text,
computes the lon/lat and Web Mercator serving copies, and loads the plan version's zones as their partition of
``planning.zones`` with its other checks, keys and indexes, in one transaction (the foreign keys, which the
importer made sure of, added NOT VALID: migration 0007).
The two run in turn, ``pairs`` times (3; ``python -m bench import --pairs N``), each into a table or plan of its
own, each after the server's buffers and the machine's dirty pages are written and what the other side loaded is
vacuumed; the ratio is of the median wall times.
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
    time.sleep(0.5)  # the client's backend, just ended, is counted once the postmaster has reaped it
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


def _ogr2ogr(ogr2ogr: str, pg: str, gpkg: Path, table: str) -> tuple[float, int, float, float | None]:
    return _run(
        [ogr2ogr, "-f", "PostgreSQL", pg, str(gpkg), "-nln", table, "-nlt", "PROMOTE_TO_MULTI",
         "-lco", "GEOMETRY_NAME=geom", "-gt", "65536", "--config", "PG_USE_COPY", "YES"],
        {**os.environ, "PG_USE_COPY": "YES"},
    )  # fmt: skip


def _ours(url: str, gpkg: Path, plan: str, report_path: Path) -> tuple[float, int, float, float | None]:
    return _run(
        [str(Path(sys.executable).parent / "planning"), "-q", "import", str(gpkg), "--plan", plan,
         "--user", "bench", "--reason", "benchmark", "--report", str(report_path)],
        {**os.environ, "GIS_DATABASE_URL": url},
    )  # fmt: skip


def _check(url: str, n: int, plan: str, table: str) -> tuple[int, int]:
    """Both sides loaded every zone; each of ours has its history and its lon/lat copy equal to ST_Transform.
    Returns the bulk load's row count and the zone history entries written."""
    import psycopg

    with psycopg.connect(url) as c:
        pid = c.execute("SELECT id FROM planning.plans WHERE code = %s", (plan,)).fetchone()
        assert pid is not None, plan
        got = c.execute("SELECT count(*) FROM planning.zones WHERE plan_id = %s", pid).fetchone()
        hist = c.execute(
            "SELECT count(*) FROM planning.change_history h JOIN planning.zones z ON z.id = h.feature_id "
            "WHERE h.table_name = 'zones' AND z.plan_id = %s",
            pid,
        ).fetchone()
        loads = c.execute("SELECT sum(row_count) FROM planning.bulk_loads WHERE plan_id = %s", pid).fetchone()
        copy_ok = c.execute(
            "SELECT count(*) FROM planning.zones WHERE plan_id = %s AND NOT ST_Equals(geom_4326, "
            "ST_Transform(geom, 4326)) AND ST_HausdorffDistance(geom_4326, ST_Transform(geom, 4326)) > 1e-9",
            pid,
        ).fetchone()
        base_n = c.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert got and base_n and hist and loads and got[0] == n == base_n[0], (got, base_n)
    assert copy_ok and copy_ok[0] == 0, f"{copy_ok} serving copies differ from ST_Transform"
    return int(loads[0] or 0), int(hist[0])


def run(scale: float = 1.0, pairs: int = 3) -> None:
    """``pairs`` runs of each side, alternating (ogr2ogr, then ours), each into its own table or plan; the figures
    are each pair's and the medians. This machine's speed drifts by tens of per cent within minutes, so one pair
    alone says little; the two sides of a pair run back to back."""
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
        runs = []
        loaded: str | None = None
        for k in range(max(1, pairs)):
            table, plan = f"public.ogr_zones_{k + 1}", f"46QPK{k + 1:07d}"
            _settle(url, loaded)
            base = _ogr2ogr(ogr2ogr, pg, gpkg, table)
            _settle(url, loaded=table)
            report_path = Path(tmp) / f"report_{k + 1}.json"
            ours = _ours(url, gpkg, plan, report_path)
            loaded = "planning.zones"
            load_rows, hist = _check(url, n, plan, table)
            report = json.loads(report_path.read_text())
            runs.append((ours, base, report))
            steps = report.get("timings", {})
            print(
                f"import pair {k + 1}: ours {ours[0]:.1f}s, ogr2ogr {base[0]:.1f}s, ratio {ours[0] / base[0]:.2f}; "
                f"our COPY statements {steps.get('copy', 0):.1f}s, "
                f"indexes and keys {steps.get('attach_zones', 0):.1f}s",
                file=sys.stderr,
            )

        def cpu(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1f}s"

        def median(values: list[float]) -> float:
            return float(np.median(values))

        print(f"\nimport ({n:,} zone polygons from one GeoPackage, same database, {len(runs)} alternating pairs)")
        print(f"  {'case':<40} {'wall':>9} {'rows/s':>10} {'client CPU':>11} {'server CPU':>11}")
        for k, (ours, base, _) in enumerate(runs, 1):
            for name, r in ((f"pair {k}: planning import (ours)", ours), (f"pair {k}: ogr2ogr COPY (baseline)", base)):
                print(f"  {name:<40} {r[0]:>8.1f}s {n / r[0]:>10,.0f} {cpu(r[2]):>11} {cpu(r[3]):>11}")
        ours_med, base_med = median([o[0] for o, _, _ in runs]), median([b[0] for _, b, _ in runs])
        ratios = [o[0] / b[0] for o, b, _ in runs]
        print(f"  median wall: ours {ours_med:.1f}s ({n / ours_med:,.0f} rows/s), ogr2ogr {base_med:.1f}s "
              f"({n / base_med:,.0f} rows/s)")  # fmt: skip
        print(
            f"  ratio ours/ogr2ogr wall time: {ours_med / base_med:.2f} (medians; target <= 1.0); each pair: "
            + ", ".join(f"{r:.2f}" for r in ratios)
        )
        peak = max(o[1] for o, _, _ in runs)
        print(f"  peak memory of our import: {peak / 2**20:,.0f} MB (largest of the runs; target < 2048 MB)")
        steps = {
            key: median([float(r.get("timings", {}).get(key, 0.0)) for _, _, r in runs])
            for key in ("layers", "copy", "waiting_for_reader", "attach_zones", "quality_checks")
        }
        start = median([o[0] - float(r.get("seconds", 0.0)) for o, _, r in runs])
        print(
            f"  our import's steps (medians): read, convert and COPY {steps['layers']:.1f}s (COPY statements "
            f"{steps['copy']:.1f}s, waiting for the next prepared batch {steps['waiting_for_reader']:.1f}s); "
            f"indexes and keys built at ATTACH {steps['attach_zones']:.1f}s; checks outside it (the overlap "
            f"check runs beside it) {steps['quality_checks']:.1f}s; start-up {start:.1f}s"
        )
        print(
            f"  history: each run 1 bulk load of {load_rows:,} zones; {hist:,} zone entries written "
            "(each zone's insert entry is written when first needed)"
        )
        print("  serving copies (EPSG:4326) equal to ST_Transform for every zone of every run: yes")
