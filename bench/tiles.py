"""3D tiles: 100,000 synthetic Huế-like buildings from PostGIS to 3D Tiles 1.1, against py3dtiles' ``export``.

Figures: buildings per second of a full ``build_tilesets`` (query, extrusion, glb, tilesets; one process), bytes per
building (raw, and gzip as served), and an incremental rebuild after one building changed. Baselines:

- ``py3dtiles export`` (12.1.1) on the same buildings in the same run, given the best chance: its input table holds
  the buildings already extruded and in ECEF (it neither extrudes nor reprojects), prepared by PostGIS/SFCGAL outside
  its timing. If it fails, the failure is reported. (Its ``from_db`` writes the tileset twice, with and without ids:
  the report also gives the rate of one pass.)
- pg2b3dm's published rate: 9.7 M buildings of the 3D BAG in 1 h 54 min, about 1,400 buildings/s (on a larger
  machine); ~2 kB per building raw, ~240 B gzip (published figures, not measured here).
- Our own tiles written plain (``TileOptions(compact=False)``: float32 views, no quantization or meshopt), built in
  the same run: the size before compaction.

Targets: >= 2,000 buildings/s and <= 1.5 kB per building raw.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import shapely
from sqlalchemy.engine import make_url

from bench.common import throwaway_database
from gis_service.db import create_db_engine
from gis_service.editing import update_feature
from tiles import TileOptions, build_tilesets

E, N = 561625.296, 1821650.262  # Kinh thành control point, EPSG:9214
PG2B3DM_RATE = 9_700_000 / (114 * 60)  # buildings/s, published (3D BAG)
PG2B3DM_BYTES = 2000
TARGET_RATE, TARGET_BYTES = 2000, 1500


def synthetic_buildings(n: int, seed: int = 46) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Footprints on a 16 m grid around the citadel: 5-10 m x 8-14 m, turned up to 25°, a quarter L-shaped."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    cx = E - side * 8 + (i % side) * 16.0 + rng.uniform(-1, 1, n)
    cy = N - side * 8 + (i // side) * 16.0 + rng.uniform(-1, 1, n)
    w = rng.uniform(5, 10, n)
    d = rng.uniform(8, 14, n)
    angle = rng.uniform(-25, 25, n)
    floors = rng.integers(1, 7, n)
    height = np.where(rng.random(n) < 0.2, np.nan, floors * 3.3 + 0.4)
    x0, y0, x1, y1 = cx - w / 2, cy - d / 2, cx + w / 2, cy + d / 2
    xm, ym = cx, cy

    def ring(*pts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:  # (n, k, 2)
        return np.stack([np.stack(p, axis=-1) for p in pts], axis=1)

    rect = ring((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    ell = ring((x0, y0), (x1, y0), (x1, ym), (xm, ym), (xm, y1), (x0, y1), (x0, y0))
    a = np.radians(angle)[:, None]
    polys = np.empty(n, dtype=object)
    for shape, mask in ((rect, i % 4 != 0), (ell, i % 4 == 0)):
        pts = shape[mask]
        dx, dy = pts[..., 0] - cx[mask, None], pts[..., 1] - cy[mask, None]
        c, s_ = np.cos(a[mask]), np.sin(a[mask])
        turned = np.stack([cx[mask, None] + dx * c - dy * s_, cy[mask, None] + dx * s_ + dy * c], axis=-1)
        polys[mask] = shapely.polygons(turned)
    hexes = shapely.to_wkb(shapely.multipolygons(polys[:, None].tolist()), hex=True).tolist()
    return hexes, floors, height


def load(url: str, n: int) -> float:
    """Load ``n`` synthetic buildings into the database at ``url`` with COPY; the seconds it took."""
    hexes, floors, height = synthetic_buildings(n)
    buf = io.StringIO()
    for h, f, ht in zip(hexes, floors, height, strict=True):
        buf.write(f"{f}\t{'\\N' if np.isnan(ht) else round(float(ht), 2)}\tSRID=9214;{h}\n")
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY planning.buildings (floors, height_m, geom) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        conn.execute("ANALYZE planning.buildings")
    return time.perf_counter() - t0


def py3dtiles_export(url: str, out: Path, timeout: float) -> tuple[float | None, float | None, str]:
    """Time ``py3dtiles export`` on pre-extruded ECEF buildings; (seconds, CPU seconds, or None; what happened)."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis_sfcgal")
        except psycopg.Error as exc:
            return None, None, f"cannot prepare its input (PostGIS SFCGAL missing: {str(exc).strip().splitlines()[0]})"
        t0 = time.perf_counter()
        conn.execute(
            "CREATE TABLE py3dtiles_input AS SELECT id, ST_Collect(ARRAY(SELECT (ST_Dump(ST_Transform(ST_Extrude("
            "ST_Force3D(ST_GeometryN(geom, 1)), 0, 0, coalesce(height_m, floors * 3.3)), 4978))).geom)) AS geom "
            "FROM planning.buildings"
        )
        prep = time.perf_counter() - t0
    u = make_url(url)
    conninfo = f"host={u.host} port={u.port} dbname={u.database} user={u.username} password={u.password}"
    exe = Path(sys.executable).with_name("py3dtiles")
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        run = subprocess.run(
            [str(exe), "export", "-D", conninfo, "-t", "py3dtiles_input", "-c", "geom", "-i", "id", "-s", str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped it: its CPU time is counted
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        return (
            None,
            None,
            (
                f"did not finish within {timeout:.0f} s, having used {cpu:.1f} s of CPU "
                f"(input prepared by PostGIS in {prep:.1f} s)"
            ),
        )
    took = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, None, f"failed after {took:.1f} s, exit {run.returncode}: {last}"
    return took, cpu, f"ok (input prepared by PostGIS/SFCGAL in {prep:.1f} s, not counted); its CPU time {cpu:.1f} s"


def sizes(out: Path) -> tuple[int, int, int]:
    """The bytes of a tileset folder's tiles and tilesets (raw, gzip as served) and the number of files."""
    raw = gz = files = 0
    for p in out.rglob("*"):
        if p.is_file() and p.suffix in (".glb", ".json", ".b3dm") and p.name != "manifest.json":
            data = p.read_bytes()
            raw += len(data)
            gz += len(gzip.compress(data, 6))
            files += 1
    return raw, gz, files


def run(scale: float = 1.0) -> None:
    """Time a full and an incremental 3D Tiles build against py3dtiles and pg2b3dm; print the report.

    Parameters
    ----------
    scale
        Multiplies the number of buildings.
    """
    n = max(1000, int(100_000 * scale))
    print(f"\ntiles: {n:,} synthetic buildings around the Kinh thành, PostGIS -> 3D Tiles 1.1", flush=True)
    with throwaway_database() as url, tempfile.TemporaryDirectory(prefix="bench-tiles-") as tmp:
        loaded = load(url, n)
        print(f"  loaded with COPY (history, derived columns, indexes) in {loaded:.1f} s", flush=True)
        engine = create_db_engine(url, pool_size=1, statement_timeout_ms=0)
        out = Path(tmp) / "ours"
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            [report] = build_tilesets(engine, out, layers=["buildings"], options=TileOptions())
            ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
            raw, gz, files = sizes(out)
            # The same tiles without quantization and meshopt (float32 views): the size before compaction.
            plain_out = Path(tmp) / "plain"
            build_tilesets(engine, plain_out, layers=["buildings"], options=TileOptions(compact=False))
            plain_raw, plain_gz, _ = sizes(plain_out)
            shutil.rmtree(plain_out, ignore_errors=True)
            with engine.begin() as conn:
                bid = conn.exec_driver_sql("SELECT min(id) FROM planning.buildings").scalar_one()
                update_feature(conn, "buildings", bid, {"floors": 9}, user="bench", reason="bench")
            t0 = time.perf_counter()
            [inc] = build_tilesets(engine, out, layers=["buildings"], options=TileOptions())
            incremental = time.perf_counter() - t0
        finally:
            engine.dispose()
        rate = n / ours
        theirs_dir = Path(tmp) / "py3dtiles"
        limit = 300.0
        theirs, theirs_cpu, status = py3dtiles_export(url, theirs_dir, timeout=limit)

        print(
            f"  ours: {report.tiles} tiles, {files} files; {ours:.1f} s wall, {ours_cpu:.1f} s CPU in this process "
            f"({n / ours_cpu:,.0f} buildings per CPU-second; the machine's load average: {os.getloadavg()[0]:.1f})"
        )
        print(f"  {'case':<52} {'ours':>12} {'baseline':>12} {'ratio':>8}")

        def line(case: str, value: float, base: float | None, unit: str, higher_is_better: bool = True) -> None:
            if base is None:
                print(f"  {case:<52} {value:>10,.0f}{unit} {'-':>12} {'-':>8}")
                return
            ratio = value / base if higher_is_better else base / value
            print(f"  {case:<52} {value:>10,.0f}{unit} {base:>10,.0f}{unit} {ratio:>7.2f}x")

        if theirs or "did not finish" not in status:
            line("full build, buildings/s vs py3dtiles export", rate, n / theirs if theirs else None, "/s")
        else:  # it ran out of time: its rate is at most n / limit
            print(
                f"  {'full build, buildings/s vs py3dtiles export (timed out)':<52} {rate:>10,.0f}/s "
                f"{'<' + format(n / limit, ',.0f'):>10}/s {'>' + format(rate / (n / limit), '.1f'):>7}x"
            )
        if theirs_cpu:  # independent of what else the machine runs: CPU of the client process only
            line("buildings per CPU-second (client) vs py3dtiles export", n / ours_cpu, n / theirs_cpu, "/s")
        line("full build, buildings/s vs pg2b3dm published", rate, PG2B3DM_RATE, "/s")
        line("full build, buildings/s vs target", rate, TARGET_RATE, "/s")
        line("bytes/building raw vs pg2b3dm published", raw / n, PG2B3DM_BYTES, " B", higher_is_better=False)
        line("bytes/building raw vs target", raw / n, TARGET_BYTES, " B", higher_is_better=False)
        line("bytes/building gzip vs pg2b3dm published (~240)", gz / n, 240, " B", higher_is_better=False)
        line("bytes/building gzip, compact vs plain float32 glb", gz / n, plain_gz / n, " B", higher_is_better=False)
        line("bytes/building raw, compact vs plain float32 glb", raw / n, plain_raw / n, " B", higher_is_better=False)
        line("bytes/building gzip vs target (200)", gz / n, 200, " B", higher_is_better=False)
        if theirs:
            t_raw, t_gz, _ = sizes(theirs_dir)
            line("bytes/building raw vs py3dtiles export", raw / n, t_raw / n, " B", higher_is_better=False)
            line("bytes/building gzip vs py3dtiles export", gz / n, t_gz / n, " B", higher_is_better=False)
        print(
            f"  incremental rebuild after 1 building changed: {incremental:.2f} s, {len(inc.written)} tile(s) "
            f"rewritten of {inc.tiles}; full build {ours:.1f} s ({ours / incremental:.0f}x)"
        )
        print(f"  py3dtiles export: {status}" + (f", {theirs:.1f} s" if theirs else ""))
        if theirs:
            print(
                f"    (its from_db writes the whole tileset twice, with and then without ids: one pass would be about "
                f"{2 * n / theirs:,.0f} buildings/s, {rate / (2 * n / theirs):.1f}x slower than ours; its b3dm carry "
                "positions and normals only, no colours and, after the second pass, no ids)"
            )
        shutil.rmtree(out, ignore_errors=True)
