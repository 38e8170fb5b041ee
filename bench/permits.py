"""Permit checks: checks per second through the REST API (real HTTP, uvicorn) on the sample plan of the Kinh thành.

The sample dossier (``sample_data/46QPK0000001``: 65 zones, 849 parcels, red and building lines) is imported into a
throwaway database and published. Each check is a parcel of the sample with a footprint the parcel shrunk to 72 %
about its centre (CRS84, as a browser sends it), 3 floors, 12 m, a detached house: every rule runs, straddling
parcels included.

Figures:

- **API**: ``POST /permits/check`` served by uvicorn (1 and 2 worker processes), loaded by ``wrk`` when installed
  (a C client leaves the 2 cores to the server and PostgreSQL), else by an asyncio httpx client; 8 connections.
- **Baseline, the raw SQL floor**: the very measurement statement of each check (same parameters, same
  spatial queries, the answer built as JSON by PostGIS) sent straight through psycopg from 2 and 4 threads, without
  HTTP, parsing, rules or serialisation. The ratio API / floor says what the service adds on top of PostGIS.

Target: >= 200 checks/s on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from bench.common import throwaway_database
from gis_service.permits.measure import measure_params
from gis_service.permits.model import parse_request
from gis_service.settings import project_root

TARGET = 200.0
DURATION_S = 8
CONNECTIONS = 8


def _load_sample(url: str) -> None:
    from converters import ImportOptions, import_path
    from gis_service.db import create_db_engine
    from gis_service.plans import publish_plan

    engine = create_db_engine(url, pool_size=1)
    try:
        import_path(
            project_root() / "sample_data" / "46QPK0000001",
            engine,
            ImportOptions(
                plan="46QPK0000001",
                plan_name="Quy hoạch phân khu Kinh thành Huế",
                decision_no="1234/QĐ-UBND",
                decision_date=date(2024, 6, 15),
                user="bench",
            ),
        )
        with engine.begin() as conn:
            publish_plan(conn, "46QPK0000001", user="bench", reason="benchmark")
    finally:
        engine.dispose()


def _workload(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, ST_AsGeoJSON(ST_Transform(g, 4326), 9) FROM (SELECT id, "
            "ST_GeometryN(ST_Scale(geom, ST_MakePoint(0.72, 0.72), ST_Centroid(geom)), 1) g "
            "FROM planning.parcels) s WHERE NOT ST_IsEmpty(g) ORDER BY id"
        ).fetchall()
    return [
        {
            "parcel_id": pid,
            "footprint": json.loads(fp),
            "floors": 3,
            "height_m": 12,
            "total_floor_area_m2": 240,
            "use": "detached_house",
        }
        for pid, fp in rows
    ]


def _sql_floor(url: str, bodies: list[dict[str, Any]], threads: int) -> float:
    statements = []
    for body in bodies:
        proposal = parse_request(body)
        statements.append(measure_params(proposal, parcel_id=body["parcel_id"]))
    stop = time.perf_counter() + DURATION_S / 2
    counts = [0] * threads

    def worker(k: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            i = k
            while time.perf_counter() < stop:
                sql, params = statements[i % len(statements)]
                conn.execute(sql, params, prepare=True).fetchone()
                counts[k] += 1
                i += threads

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(url: str, workers: int, ogc_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "GIS_DATABASE_URL": url, "GIS_OGC_DIR": str(ogc_dir), "GIS_SERVER__PORT": str(port)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "gis_service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the service did not start")


def _wrk(base: str, bodies: list[dict[str, Any]], tmp: Path) -> float:
    script = tmp / "checks.lua"
    parts = ["bodies = {"]
    parts += [f"[==[{json.dumps(b, ensure_ascii=False)}]==]," for b in bodies]
    parts.append("}")
    parts.append(
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  return wrk.format('POST', '/permits/check', {['Content-Type'] = 'application/json'}, "
        "bodies[(counter % #bodies) + 1])\n"
        "end\n"
    )
    script.write_text("\n".join(parts), encoding="utf-8")
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{DURATION_S}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"some checks failed:\n{out}")
    return float(next(line for line in out.splitlines() if "Requests/sec" in line).split()[1])


def _httpx(base: str, bodies: list[dict[str, Any]]) -> float:
    import asyncio

    import httpx

    async def load() -> float:
        done = 0
        stop = time.perf_counter() + DURATION_S

        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def one(k: int) -> None:
                nonlocal done
                i = k
                while time.perf_counter() < stop:
                    r = await client.post("/permits/check", json=bodies[i % len(bodies)])
                    r.raise_for_status()
                    done += 1
                    i += CONNECTIONS

            t0 = time.perf_counter()
            await asyncio.gather(*(one(k) for k in range(CONNECTIONS)))
            return done / (time.perf_counter() - t0)

    return asyncio.run(load())


def run(scale: float = 1.0) -> None:
    print("\nPermit checks: POST /permits/check on the Kinh thành sample (real HTTP, uvicorn) vs the raw SQL floor")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        _load_sample(url)
        bodies = _workload(url)
        bodies = bodies[: max(10, int(len(bodies) * min(scale, 1.0)))]
        print(f"  sample imported and published in {time.perf_counter() - t0:.1f} s; {len(bodies)} distinct checks")
        with psycopg.connect(url) as conn:  # every check answers, and the verdicts are varied
            from gis_service.permits import check

            verdicts: dict[str, int] = {}
            for body in bodies[:200]:
                v = check(conn, body)[0]["verdict"]
                verdicts[v] = verdicts.get(v, 0) + 1
        print(f"  verdicts of the first {min(200, len(bodies))}: {verdicts}")
        floors = {n: _sql_floor(url, bodies, n) for n in (2, 4)}
        floor = max(floors.values())
        for n, rate in floors.items():
            print(f"  raw SQL floor, {n} threads: {rate:8.1f} checks/s")
        client = "wrk" if shutil.which("wrk") else "httpx (asyncio)"
        best = 0.0
        for workers in (1, 2):
            proc, base = _serve(url, workers, tmp / f"ogc{workers}")
            try:
                import httpx

                httpx.post(base + "/permits/check", json=bodies[0], timeout=30).raise_for_status()  # warm up
                rate = _wrk(base, bodies, tmp) if client == "wrk" else _httpx(base, bodies)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            best = max(best, rate)
            print(
                f"  API, uvicorn {workers} worker(s), {client} c={CONNECTIONS}: {rate:8.1f} checks/s "
                f"= {100 * rate / floor:5.1f}% of the SQL floor"
            )
        verdict = "met" if best >= TARGET else "NOT met"
        print(f"  best API rate {best:.1f} checks/s vs target {TARGET:.0f}: {verdict}; SQL floor {floor:.1f} checks/s")
        print(f"  load average at the end {os.getloadavg()[0]:.1f}")
