"""Serving 1,000,000 parcels over HTTP: our /ogc and lookup against stock pygeoapi, tipg and the raw SQL.

One run, one throwaway database (generated with ``generate_series``: 1000 x 1000 parcels of 20 x 20 m and
100 x 100 zones of an approved plan around the VN-2000 control point, EPSG:9214 storage), three servers under
uvicorn with the same number of workers, on loopback:

* **ours**: ``gis_service.api.app:create_app`` (pygeoapi at /ogc with ``ogc.provider.PlanningProvider``, lookup, tiles);
* **stock**: pygeoapi 0.24 with its own PostgreSQL provider on the same table (storage CRS EPSG:9214);
* **tipg** (if installed): tipg 1.6 on the same schema;
* **SQL floor**: the statement each of our endpoints runs, timed over one psycopg connection.

Load comes from ``wrk`` (Debian package ``wrk``: C, negligible client overhead), or, without it, from an
asyncio httpx client (says so in the output). Each endpoint: ``--duration`` seconds after a short warm-up, the given
number of connections; throughput (req/s) and latency percentiles. Random points and ids come from a wrk Lua script
(or the Python client), so the caches do not see one request repeated.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml
from sqlalchemy.engine import make_url

from bench.common import throwaway_database
from ogc.config import build_config

E0, N0 = 561625.296, 1821650.262
SIDE = 1000  # parcels per row and column (SIDE**2 parcels)
PARCEL_M = 20.0
ZONE_M = 200.0
X0, Y0 = E0 - SIDE * PARCEL_M / 2, N0 - SIDE * PARCEL_M / 2

GENERATE_SQL = """
SET session_replication_role = replica;  -- throwaway bulk data: no history triggers
INSERT INTO planning.plans (code, name, level, status, decision_no, decision_date, geom)
VALUES ('46QPK0000001', 'Benchmark plan', 'zoning', 'approved', '1/QĐ-UBND', DATE '2024-01-01',
        ST_Multi(ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 9214)));
INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, max_height_m,
                            max_far, min_setback_m, geom)
SELECT 1, 'Z' || i || '-' || j, 'Ô ' || i || '-' || j, (ARRAY['ODT','TMD','DGD','DVH'])[1 + (i + j) % 4],
       40 + (i % 5) * 5, 2 + j % 7, (2 + j % 7) * 3.6, 1.5, 3,
       ST_Multi(ST_MakeEnvelope({x0} + i * {zm}, {y0} + j * {zm}, {x0} + (i + 1) * {zm}, {y0} + (j + 1) * {zm}, 9214))
FROM generate_series(0, {zones} - 1) i, generate_series(0, {zones} - 1) j;
INSERT INTO planning.parcels (ward, sheet_no, parcel_no, area_m2, land_use_code, address, geom)
SELECT 'Phường ' || (n / 10000), 1 + (n % 10000) / 100, 1 + n % 100, {pm} * {pm},
       (ARRAY['ODT','TMD','DGD','DVH'])[1 + n % 4], 'Số ' || (1 + n % 100),
       ST_Multi(ST_MakeEnvelope({x0} + i * {pm}, {y0} + j * {pm}, {x0} + (i + 1) * {pm}, {y0} + (j + 1) * {pm}, 9214))
FROM generate_series(0, {side} - 1) i, generate_series(0, {side} - 1) j, LATERAL (SELECT i * {side} + j AS n) k;
SET session_replication_role = origin;
ANALYZE planning.plans; ANALYZE planning.zones; ANALYZE planning.parcels;
"""


def say(message: str) -> None:
    """Progress on stderr, so that the report on stdout stays clean."""
    print(f"[serve] {message}", file=sys.stderr, flush=True)


def generate(url: str, side: int) -> None:
    """Fill the database at ``url`` with ``side`` x ``side`` parcels and the zones of one approved plan."""
    zones = max(1, int(side * PARCEL_M / ZONE_M))
    x0, y0 = E0 - side * PARCEL_M / 2, N0 - side * PARCEL_M / 2
    sql = GENERATE_SQL.format(
        x0=x0, y0=y0, x1=x0 + side * PARCEL_M, y1=y0 + side * PARCEL_M, zm=ZONE_M, pm=PARCEL_M, zones=zones, side=side
    )
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())
    say(f"generated {side * side:,} parcels and {zones * zones:,} zones in {time.perf_counter() - t0:.0f} s")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(args: list[str], env: dict[str, str], probe: str, workers: int) -> Iterator[str]:
    """Run uvicorn with ``args`` in a subprocess and yield its base URL once ``probe`` answers 200.

    The server is stopped on leaving; its log is shown when it fails to start.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 - closed below
    cmd = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + probe, timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"server {' '.join(args)} did not start:\n{log.read()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


def stock_config(url: str, directory: Path) -> tuple[Path, Path]:
    """pygeoapi's own PostgreSQL provider on planning.parcels (storage EPSG:9214), as a pygeoapi user would set it."""
    u = make_url(url)
    cfg = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},
            "url": "http://127.0.0.1:5000",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 1000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": build_config(base_url="http://127.0.0.1:5000/ogc")["metadata"],
        "resources": {
            "parcels": {
                "type": "collection",
                "title": "parcels",
                "description": "parcels",
                "keywords": ["parcels"],
                "extents": {
                    "spatial": {
                        "bbox": [107.0, 15.95, 108.25, 16.8],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    }
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": {
                            "host": u.host,
                            "port": u.port,
                            "dbname": u.database,
                            "user": u.username,
                            "password": u.password,
                            "search_path": ["planning", "public"],
                        },
                        "id_field": "id",
                        "table": "parcels",
                        "geom_field": "geom",
                        "storage_crs": "http://www.opengis.net/def/crs/EPSG/0/9214",
                        "crs": [
                            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                            "http://www.opengis.net/def/crs/EPSG/0/4326",
                            "http://www.opengis.net/def/crs/EPSG/0/9214",
                        ],
                        "properties": ["ward", "sheet_no", "parcel_no", "area_m2", "land_use_code", "address"],
                    }
                ],
            }
        },
    }
    config = directory / "stock.yml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    openapi = directory / "stock-openapi.yml"
    from pygeoapi.openapi import get_oas

    openapi.write_text(yaml.safe_dump(json.loads(json.dumps(get_oas(cfg), default=str))))
    return config, openapi


@dataclass
class Result:
    """The figures of one load run: throughput, latency percentiles and failed requests."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


WRK_LUA = """
math.randomseed(os.time())
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local fmt = "JSON {\\"rps\\": %%f, \\"p50\\": %%f, \\"p99\\": %%f, \\"errors\\": %%d, \\"non2xx\\": %%d}\\n"
  io.write(string.format(fmt,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def load_wrk(base: str, paths: list[str], seconds: float, connections: int) -> Result:
    """Load ``base`` with ``wrk``, each request a random one of ``paths``."""
    with tempfile.TemporaryDirectory() as d:
        plist = Path(d) / "paths.txt"
        plist.write_text("\n".join(paths) + "\n")
        script = Path(d) / "paths.lua"
        script.write_text(WRK_LUA % plist)
        cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, int(seconds))}s", "--timeout", "10s"]
        cmd += ["-s", str(script), base]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    m = re.search(r"^JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    r = json.loads(m.group(1))
    return Result(r["rps"], r["p50"], r["p99"], int(r["errors"]) + int(r["non2xx"]))


def load_httpx(base: str, paths: list[str], seconds: float, connections: int) -> Result:
    """Load ``base`` with an asyncio httpx client (when ``wrk`` is not installed), random ``paths``."""

    async def main() -> Result:
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    r = await client.get(random.choice(paths))
                    latencies.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        errors += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - t0
        q = statistics.quantiles(latencies, n=100)
        return Result(len(latencies) / elapsed, q[49] * 1000, q[98] * 1000, errors)

    return asyncio.run(main())


def load(base: str, paths: list[str], seconds: float, connections: int) -> Result:
    """Check that the first path answers, warm up, then load ``base`` for ``seconds``.

    Uses ``wrk`` when installed: a C client leaves the CPUs to the server under test.
    """
    check = httpx.get(base + paths[0], timeout=120)
    if check.status_code != 200:
        raise RuntimeError(f"{base}{paths[0]} answered {check.status_code}: {check.text[:300]}")
    runner = load_wrk if shutil.which("wrk") else load_httpx
    runner(base, paths, min(2.0, seconds), connections)  # warm-up
    return runner(base, paths, seconds, connections)


def sql_floor(url: str, statements: list[tuple[str, Any]], repeat: int = 200) -> float:
    """Median time of the statements (cycled) over one connection, in ms."""
    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(repeat + 20):
            sql, params = statements[i % len(statements)]
            t0 = time.perf_counter()
            conn.execute(sql, params, prepare=True).fetchall()  # as the service does (psycopg prepares)
            if i >= 20:
                times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The WebMercatorQuad tile (x, y) at zoom ``z`` holding a point."""
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


BBOX_DEG = 0.0012  # ~130 m: about 40 parcels
#: Endpoints run with their own number of connections.
CONNECTIONS_OF = {"point lookup, 4 connections (latency)": 4}


@dataclass
class _Sample:
    """Random requests over the middle half of the parcels: points, ids, bboxes and z14 tiles."""

    points: list[tuple[float, float]]
    ids: list[int]
    bboxes: list[str]
    tiles: list[tuple[int, int]]


def _sample(side: int) -> _Sample:
    from pyproj import Transformer

    rng = random.Random(7)
    to_lonlat = Transformer.from_crs("EPSG:9214", "OGC:CRS84", always_xy=True)
    lo_lon, lo_lat = to_lonlat.transform(X0 + side * PARCEL_M * 0.25, Y0 + side * PARCEL_M * 0.25)
    hi_lon, hi_lat = to_lonlat.transform(X0 + side * PARCEL_M * 0.75, Y0 + side * PARCEL_M * 0.75)
    points = [(rng.uniform(lo_lon, hi_lon), rng.uniform(lo_lat, hi_lat)) for _ in range(500)]
    ids = [rng.randint(1, side * side) for _ in range(500)]
    d = BBOX_DEG
    bboxes = [f"{lon:.6f},{lat:.6f},{lon + d:.6f},{lat + d:.6f}" for lon, lat in points]
    tiles = sorted({tile_of(lon, lat, 14) for lon, lat in points})
    return _Sample(points, ids, bboxes, tiles)


def _endpoints(sample: _Sample) -> dict[str, dict[str, list[str]]]:
    """Each endpoint's request paths on each server that offers it."""
    points, ids, bboxes, tiles = sample.points, sample.ids, sample.bboxes, sample.tiles
    lookups = [f"/lookup?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points]
    return {
        "items?limit=10 (CRS84 from EPSG:9214)": {
            "ours": ["/ogc/collections/parcels/items?f=json&limit=10"],
            "stock": ["/collections/parcels/items?f=json&limit=10"],
            "tipg": ["/collections/planning.parcels/items?limit=10"],
        },
        "bbox (~130 m, ~40 parcels)": {
            "ours": [f"/ogc/collections/parcels/items?f=json&limit=100&bbox={b}" for b in bboxes],
            "stock": [f"/collections/parcels/items?f=json&limit=100&bbox={b}" for b in bboxes],
            "tipg": [f"/collections/planning.parcels/items?limit=100&bbox={b}" for b in bboxes],
        },
        "single item": {
            "ours": [f"/ogc/collections/parcels/items/{i}?f=json" for i in ids],
            "stock": [f"/collections/parcels/items/{i}?f=json" for i in ids],
            "tipg": [f"/collections/planning.parcels/items/{i}" for i in ids],
        },
        "z14 MVT tile of parcels": {
            "ours": [f"/ogc/collections/parcels/tiles/WebMercatorQuad/14/{y}/{x}" for x, y in tiles],
            "tipg": [f"/collections/planning.parcels/tiles/WebMercatorQuad/14/{x}/{y}" for x, y in tiles],
        },
        "point lookup": {"ours": lookups},
        "point lookup, 4 connections (latency)": {"ours": list(lookups)},
    }


def _floors(sample: _Sample) -> dict[str, list[tuple[str, Any]]]:
    """The SQL each of our endpoints runs, with sample parameters (the SQL floor)."""
    from gis_service.lookup import SQL as LOOKUP_SQL
    from gis_service.vector_tiles import tile_sql
    from ogc.layers import LAYERS

    points, ids, tiles, d = sample.points, sample.ids, sample.tiles, BBOX_DEG
    layer = LAYERS["parcels"]
    props = ", ".join(f"'{c.name}', {c.sql_value()}" for c in layer.columns)
    feature = (
        "json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom_4326, 8)::json, "
        f"'properties', json_build_object({props}))"
    )
    floors: dict[str, list[tuple[str, Any]]] = {
        "items?limit=10 (CRS84 from EPSG:9214)": [
            (f"SELECT {feature} FROM planning.parcels t ORDER BY t.id LIMIT 10 OFFSET 0", [])
        ],
        "bbox (~130 m, ~40 parcels)": [
            (
                f"SELECT {feature} FROM planning.parcels t WHERE ST_Intersects(t.geom_4326, "
                "ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY t.id LIMIT 100",
                [lon, lat, lon + d, lat + d],
            )
            for lon, lat in points[:50]
        ],
        "single item": [(f"SELECT {feature} FROM planning.parcels t WHERE t.id = %s", [i]) for i in ids[:50]],
        "z14 MVT tile of parcels": [(tile_sql(["parcels"], 14), [14, x, y]) for x, y in tiles[:20]],
        "point lookup": [
            (
                LOOKUP_SQL["lonlat"],
                {"x": lon, "y": lat, "query": "{}", "min_area": 0.01},
            )
            for lon, lat in points[:50]
        ],
    }
    floors["point lookup, 4 connections (latency)"] = floors["point lookup"]
    return floors


# ---- prepared lookups (issue 21): parcels prepared at publication, beside the live lookup --------------------
#: Where the prepared sample lies: a band apart from the live lookups' middle half, so those stay live.
PREPARED_BAND = (0.05, 0.2)


def _prepared_lookups(libpq_url: str, side: int, live_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prepare the parcels at 500 random points of :data:`PREPARED_BAND`; the endpoints and SQL floors to add."""
    from pyproj import Transformer

    from gis_service.lookup import SQL as LOOKUP_SQL
    from gis_service.lookup_prepared import PREPARED_PARCEL_SQL, PREPARED_POINTS_SQL, prepare_parcels

    rng = random.Random(21)
    x0, y0 = E0 - side * PARCEL_M / 2, N0 - side * PARCEL_M / 2  # the generated grid's corner at this scale
    e0, e1 = (x0 + side * PARCEL_M * f for f in PREPARED_BAND)
    n0, n1 = (y0 + side * PARCEL_M * f for f in PREPARED_BAND)
    en = [(rng.uniform(e0, e1), rng.uniform(n0, n1)) for _ in range(500)]
    to_lonlat = Transformer.from_crs("EPSG:9214", "OGC:CRS84", always_xy=True)
    points = [to_lonlat.transform(e, n) for e, n in en]
    t0 = time.perf_counter()
    with psycopg.connect(libpq_url) as conn:
        ids = sorted(
            {
                int(r[0])
                for e, n in en
                for r in conn.execute(
                    "SELECT id FROM planning.parcels WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 9214))"
                    " ORDER BY id LIMIT 1",
                    [e, n],
                )
            }
        )
        done = prepare_parcels(conn, ids)
    say(f"prepared the lookups of {done} parcels in {time.perf_counter() - t0:.1f} s")
    unprepared = [i for i in live_ids if i not in set(ids)]
    endpoints = {
        "parcel lookup (live)": {"ours": [f"/lookup/parcels/{i}" for i in unprepared]},
        "prepared parcel lookup": {"ours": [f"/lookup/parcels/{i}" for i in ids]},
        "prepared point lookup": {"ours": [f"/lookup?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points]},
    }
    floors = {
        "parcel lookup (live)": [
            (LOOKUP_SQL["parcel"], {"parcel_id": i, "query": "{}", "min_area": 0.01}) for i in unprepared[:50]
        ],
        "prepared parcel lookup": [(PREPARED_PARCEL_SQL, [i]) for i in ids[:50]],
        "prepared point lookup": [
            (PREPARED_POINTS_SQL["lonlat"], {"x": [lon], "y": [lat], "with_answer": True}) for lon, lat in points[:50]
        ],
    }
    return endpoints, floors


def _servers(libpq_url: str, tmp: Path, has_tipg: bool) -> list[tuple[str, list[str], dict[str, str], str]]:
    """Each server to start: name, uvicorn arguments, environment and the path that answers once it is up."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GIS_", "PYGEOAPI_"))}
    ours_env = base_env | {
        "GIS_DATABASE_URL": libpq_url,
        "GIS_OGC_DIR": str(tmp / "ogc"),
        "GIS_DB_POOL_SIZE": "8",
    }
    servers: list[tuple[str, list[str], dict[str, str], str]] = [
        ("ours", ["--factory", "gis_service.api.app:create_app"], ours_env, "/healthz"),
    ]
    config, openapi = stock_config(libpq_url, tmp)
    servers.append(
        (
            "stock",
            ["pygeoapi.starlette_app:APP"],
            base_env | {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)},
            "/collections/parcels?f=json",
        )
    )
    if has_tipg:
        tipg_env = base_env | {
            "DATABASE_URL": libpq_url,
            "TIPG_DB_SCHEMAS": '["planning"]',
            "TIPG_DB_TABLES": '["planning.parcels"]',
            "TIPG_MAX_FEATURES_PER_QUERY": "1000",
        }
        servers.append(("tipg", ["tipg.main:app"], tipg_env, "/collections/planning.parcels"))
    else:
        say("tipg is not installed: pip install tipg (it installs alongside the project without conflicts)")
    return servers


def _measure(
    servers: list[tuple[str, list[str], dict[str, str], str]],
    endpoints: dict[str, dict[str, list[str]]],
    seconds: float,
    connections: int,
    workers: int,
) -> dict[str, dict[str, Result | None]]:
    """Load every endpoint of every server in turn (``None``: the load failed)."""
    results: dict[str, dict[str, Result | None]] = {name: {} for name in endpoints}
    for name, args, env, probe in servers:
        say(f"starting {name}")
        with uvicorn_server(args, env, probe, workers) as base:
            for endpoint, by_server in endpoints.items():
                paths = by_server.get(name)
                if not paths:
                    continue
                try:
                    res = load(base, paths, seconds, CONNECTIONS_OF.get(endpoint, connections))
                except Exception as exc:
                    say(f"{name} {endpoint}: failed: {exc}")
                    results[endpoint][name] = None
                    continue
                results[endpoint][name] = res
                say(f"{name:<6} {endpoint:<40} {res.rps:8.1f} req/s p50 {res.p50_ms:.2f} p99 {res.p99_ms:.2f} ms")
    return results


def _print_table(results: dict[str, dict[str, Result | None]], floor_ms: dict[str, float]) -> None:
    """Requests per second of each server, ours against the others, and the SQL floor."""
    print(f"  {'endpoint':<40} {'ours req/s':>10} {'p99 ms':>7} {'stock':>8} {'ours/stock':>10}", end="")
    print(f" {'tipg':>8} {'ours/tipg':>9} {'SQL ms':>7}")

    def fmt(r: Result | None) -> str:
        return f"{r.rps:8.1f}" if r else f"{'-':>8}"

    def ratio(a: Result | None, b: Result | None) -> str:
        return f"{a.rps / b.rps:9.1f}x" if a and b and b.rps else f"{'-':>10}"

    for endpoint, r in results.items():
        ours = r.get("ours")
        print(
            f"  {endpoint:<40} {fmt(ours):>10} {(f'{ours.p99_ms:7.1f}' if ours else '      -')} {fmt(r.get('stock'))} "
            f"{ratio(ours, r.get('stock'))} {fmt(r.get('tipg'))} {ratio(ours, r.get('tipg'))} {floor_ms[endpoint]:7.2f}"
        )
    errs = {f"{e}/{s}": res.errors for e, by in results.items() for s, res in by.items() if res and res.errors}
    if errs:
        print(f"  non-200 answers or socket errors: {errs}")


# --- published vector tiles (issue 21): the same z14 tiles, read from the files written at publication -----------
PUBLISHED_TILE = "published z14 tile of parcels (files)"
LIVE_TILE = "z14 MVT tile of parcels"


def _add_published_server(
    libpq_url: str, tmp: Path, servers: list[tuple[str, list[str], dict[str, str], str]], endpoints: dict[str, Any]
) -> None:
    """Write the parcels' published tiles (z0-14), and add our server reading them, asked the live tiles' paths."""
    from gis_service.db import create_db_engine
    from gis_service.published_tiles import build_published_tiles

    folder = tmp / "vector-tiles"
    engine = create_db_engine(libpq_url, pool_size=1, statement_timeout_ms=0)
    try:
        for report in build_published_tiles(engine, folder, max_zoom=14, layer_sets=["parcels"]):
            say(report.describe())
    finally:
        engine.dispose()
    _, args, env, probe = next(s for s in servers if s[0] == "ours")
    env = env | {"GIS_VECTOR_TILES__DIR": str(folder), "GIS_VECTOR_TILES__MAX_ZOOM": "14"}
    servers.append(("published", args, env, probe))
    endpoints[PUBLISHED_TILE] = {"published": list(endpoints[LIVE_TILE]["ours"])}


#: The prepared lookups again on servers that keep less in memory, by server: its settings, and the endpoints it is
#: asked with their rows. Keeping nothing (GIS_LOOKUP_CACHE_SIZE=0) every answer is read from the database, as for a
#: parcel asked for the first time since the last change; without the parcels (GIS_LOOKUP_POINT_INDEX=0) the
#: database finds the parcel at each point (in batches).
LESS_KEPT: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "not-kept": (
        {"GIS_LOOKUP_CACHE_SIZE": "0"},
        {
            "prepared parcel lookup": "prepared parcel lookup, nothing kept",
            "prepared point lookup": "prepared point lookup, nothing kept",
        },
    ),
    "no-parcels": (
        {"GIS_LOOKUP_POINT_INDEX": "0"},
        {"prepared point lookup": "prepared point lookup, parcels not kept"},
    ),
}


def _add_less_kept_servers(
    servers: list[tuple[str, list[str], dict[str, str], str]], endpoints: dict[str, Any], floors: dict[str, Any]
) -> None:
    """Add our servers keeping less in memory (:data:`LESS_KEPT`), asked the prepared lookups' paths."""
    _, args, env, probe = next(s for s in servers if s[0] == "ours")
    for server, (settings, rows) in LESS_KEPT.items():
        servers.append((server, args, env | settings, probe))
        for endpoint, name in rows.items():
            endpoints[name] = {server: list(endpoints[endpoint]["ours"])}
            floors[name] = floors[endpoint]


def _published_results(results: dict[str, dict[str, Any]], floor_ms: dict[str, float]) -> None:
    """Show the published tiles as ours (no SQL: floor 0) and say their ratio to the live ones."""
    results[PUBLISHED_TILE]["ours"] = results[PUBLISHED_TILE].pop("published", None)
    for server, (_, rows) in LESS_KEPT.items():
        for name in rows.values():
            results[name]["ours"] = results[name].pop(server, None)
    floor_ms[PUBLISHED_TILE] = 0.0
    files, live = results[PUBLISHED_TILE]["ours"], results[LIVE_TILE].get("ours")
    if files and live and live.rps:
        say(f"published z14 tiles: {files.rps / live.rps:.1f}x the live ones; load average {os.getloadavg()[0]:.1f}")


def run(scale: float = 1.0, seconds: float = 8.0, connections: int = 16, workers: int = 2) -> None:
    """Load ours, stock pygeoapi and tipg in turn on one generated database, and print the table."""
    side = max(10, int(SIDE * scale**0.5))
    has_tipg = True
    try:
        import tipg  # noqa: F401
    except ImportError:
        has_tipg = False
    loader = "wrk (Debian)" if shutil.which("wrk") else "httpx asyncio client (install Debian wrk for a C client)"
    say(f"load generator: {loader}; {connections} connections, {seconds:.0f} s per endpoint, {workers} workers each")

    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp:
        generate(url, side)
        libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        sample = _sample(side)
        endpoints = _endpoints(sample)
        floors = _floors(sample)
        prepared_endpoints, prepared_floors = _prepared_lookups(libpq_url, side, sample.ids)
        endpoints |= prepared_endpoints
        floors |= prepared_floors
        servers = _servers(libpq_url, Path(tmp), has_tipg)
        _add_published_server(libpq_url, Path(tmp), servers, endpoints)
        _add_less_kept_servers(servers, endpoints, floors)
        results = _measure(servers, endpoints, seconds, connections, workers)
        qgis_note = _measure_qgis(libpq_url, Path(tmp), sample, results, seconds, connections, workers)
        floor_ms = {endpoint: sql_floor(libpq_url, stmts) for endpoint, stmts in floors.items()}
        _published_results(results, floor_ms)

    print(
        f"\nserve: {side * side:,} parcels, EPSG:9214 storage; {workers} uvicorn workers per server; {loader}, "
        f"{connections} connections, {seconds:.0f} s per endpoint; loopback, {os.cpu_count()} cores"
    )
    _print_table(results, floor_ms)
    _print_qgis(results, qgis_note)


# ---- QGIS Server beside stock pygeoapi and tipg (issue 21): bench/qgis_server.py ----------------------------
def _measure_qgis(
    libpq_url: str,
    tmp: Path,
    sample: _Sample,
    results: dict[str, dict[str, Result | None]],
    seconds: float,
    connections: int,
    workers: int,
) -> str:
    """Load QGIS Server (``workers`` processes) on items, bbox and single item; check its answers against ours."""
    from bench import qgis_server

    why_not = qgis_server.available()
    if why_not is not None:
        say(why_not)
        return why_not
    project = qgis_server.write_project(libpq_url, tmp / "parcels.qgs")
    paths = qgis_server.QGIS_PATHS(sample.ids, sample.bboxes)
    with qgis_server.qgis_servers(project, workers) as bases:
        ours_args, ours_env, probe = _servers(libpq_url, tmp, True)[0][1:]
        with uvicorn_server(ours_args, ours_env, probe, 1) as ours:
            try:
                note = qgis_server.compare_answers(ours, bases[0], sample.ids, sample.bboxes)
            except (AssertionError, httpx.HTTPError) as exc:  # still loaded, but the table says so
                note = f"ANSWERS DIFFER: {exc}"
        say(f"QGIS Server: {note}")
        for endpoint, endpoint_paths in paths.items():
            try:
                res = qgis_server.load_all(bases, endpoint_paths, seconds, connections)
            except Exception as exc:
                say(f"qgis {endpoint}: failed: {exc}")
                results[endpoint]["qgis"] = None
                continue
            results[endpoint]["qgis"] = res
            say(f"qgis   {endpoint:<40} {res.rps:8.1f} req/s p50 {res.p50_ms:.2f} p99 {res.p99_ms:.2f} ms")
    return note


def _print_qgis(results: dict[str, dict[str, Result | None]], note: str) -> None:
    """Ours against QGIS Server (and the others) on the items endpoints: req/s and p99, with the load average."""
    load1, load5, _ = os.getloadavg()
    print(f"\nagainst QGIS Server 3.22 (qgis_mapserver, one process per worker); load average {load1:.2f} {load5:.2f}")
    print(f"  {note}")
    names = ("ours", "qgis", "stock", "tipg")
    print(f"  {'endpoint':<40} " + " ".join(f"{n + ' req/s':>11} {'p99':>6}" for n in names) + f" {'ours/qgis':>9}")
    for endpoint in ("items?limit=10 (CRS84 from EPSG:9214)", "bbox (~130 m, ~40 parcels)", "single item"):
        by = results.get(endpoint, {})
        cells = []
        for n in names:
            r = by.get(n)
            cells.append(f"{r.rps:11.1f} {r.p99_ms:6.1f}" if r else f"{'-':>11} {'-':>6}")
        ours, qgis = by.get("ours"), by.get("qgis")
        ratio = f"{ours.rps / qgis.rps:8.2f}x" if ours and qgis and qgis.rps else f"{'-':>9}"
        print(f"  {endpoint:<40} " + " ".join(cells) + f" {ratio}")
