"""Permit checks: checks per second through the REST API (real HTTP, uvicorn) on the demo's sample plans.

The sample plans (``bench/sample.py``: the Kinh thành zoning plan and the Kim Long detailed plan, imported and
published as the demo does) are loaded into a throwaway database. Each check is the largest building the envelope
allows on a parcel of the sample (its footprint in CRS84, as a browser sends it, at the envelope's floors, height,
floor area and ground level), so every rule runs and the answers are those the envelope promises: every verdict is
counted and printed (``compliant``, or ``needs_review`` where the plan has no data).

Figures:

- **API**: ``POST /permits/check`` served by uvicorn (1 and 2 worker processes), loaded by ``wrk`` when installed
  (a C client leaves the 2 cores to the server and PostgreSQL), else by an asyncio httpx client; 8 connections.
  Once with parcels' sites kept between requests (the default; each worker first asked for every parcel's
  envelope, as a citizen's lookup does before a check), once with none kept (``GIS_SITE_CACHE_SIZE=0``).
- **Baseline, the raw SQL of the same measurements**: the statement that reads each check's site (lot, footprint
  through the VN-2000 shift, zones, red lines, building lines, alleys) sent straight through psycopg from 2 and 4
  threads, without HTTP, parsing, rules or serialisation.

Target: >= 500 checks/s on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import throwaway_database
from bench.sample import load_sample, max_proposals
from bench.serve import uvicorn_server
from gis_service.permits.model import parse_request
from gis_service.rules.site import site_statement

TARGET = 500.0
DURATION_S = 8
CONNECTIONS = 8


def sql_floor(url: str, statements: list[tuple[str, dict[str, Any]]], threads: int, seconds: float) -> float:
    """Statements per second, sent in turn from ``threads`` connections for ``seconds``."""
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(k: int) -> None:
        # planned as the service's read pool plans them (once, generic)
        with psycopg.connect(url, autocommit=True, options="-c plan_cache_mode=force_generic_plan") as conn:
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


def _wrk_post(base: str, path: str, bodies: list[dict[str, Any]], tmp: Path) -> float:
    script = tmp / "posts.lua"
    parts = ["bodies = {"]
    parts += [f"[==[{json.dumps(b, ensure_ascii=False)}]==]," for b in bodies]
    parts.append("}")
    parts.append(
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        f"  return wrk.format('POST', '{path}', {{['Content-Type'] = 'application/json'}}, "
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
        raise RuntimeError(f"some requests failed:\n{out}")
    return float(next(line for line in out.splitlines() if "Requests/sec" in line).split()[1])


def _httpx_post(base: str, path: str, bodies: list[dict[str, Any]]) -> float:
    import asyncio

    async def load() -> float:
        done = 0
        stop = time.perf_counter() + DURATION_S
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def one(k: int) -> None:
                nonlocal done
                i = k
                while time.perf_counter() < stop:
                    r = await client.post(path, json=bodies[i % len(bodies)])
                    r.raise_for_status()
                    done += 1
                    i += CONNECTIONS

            t0 = time.perf_counter()
            await asyncio.gather(*(one(k) for k in range(CONNECTIONS)))
            return done / (time.perf_counter() - t0)

    return asyncio.run(load())


def post_rate(base: str, path: str, bodies: list[dict[str, Any]], tmp: Path) -> tuple[float, str]:
    """Requests per second of POSTs of these bodies (wrk when installed), after a warm-up request."""
    httpx.post(base + path, json=bodies[0], timeout=30).raise_for_status()
    if shutil.which("wrk"):
        return _wrk_post(base, path, bodies, tmp), "wrk"
    return _httpx_post(base, path, bodies), "httpx (asyncio)"


def warm(base: str, paths: list[str], workers: int) -> None:
    """Ask for every parcel's envelope once per worker (as a citizen's lookup does before a check): sites kept."""
    import asyncio

    async def go() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            queue = list(paths) * workers

            async def one() -> None:
                while queue:
                    (await client.get(queue.pop())).raise_for_status()

            await asyncio.gather(*(one() for _ in range(CONNECTIONS)))

    asyncio.run(go())


def api_rates(
    url: str, tmp: Path, measure: Any, *, label: str, unit: str, floor: float, warm_paths: list[str]
) -> dict[str, float]:
    """Serve the app (1 and 2 workers; sites kept, warmed by ``warm_paths``, or none kept) and print
    ``measure(base)``'s rate next to the raw SQL; the best rate of each way."""
    best = {"kept": 0.0, "none": 0.0}
    for cache in ("2048", "0"):
        for workers in (1, 2):
            env = {
                **os.environ,
                "GIS_DATABASE_URL": url,
                "GIS_OGC_DIR": str(tmp / f"ogc{workers}{cache}"),
                "GIS_SITE_CACHE_SIZE": cache,
            }
            args = ["gis_service.api.app:create_app", "--factory"]
            with uvicorn_server(args, env, "/healthz", workers) as base:
                if cache != "0":
                    warm(base, warm_paths, workers)
                rate, client = measure(base)
            kept = "sites kept" if cache != "0" else "no site kept"
            print(
                f"  {label}, uvicorn {workers} worker(s), {kept:>12}, {client} c={CONNECTIONS}: {rate:8.1f} {unit} "
                f"= {rate / floor:5.2f} x the raw SQL"
            )
            way = "kept" if cache != "0" else "none"
            best[way] = max(best[way], rate)
    return best


def run(scale: float = 1.0) -> None:
    """Measure permit checks per second through the API against the raw SQL, and print the report.

    Parameters
    ----------
    scale
        The share of the sample's proposals checked (at most all of them, at least 10).
    """
    print("\nPermit checks: POST /permits/check on the demo's sample plans (real HTTP, uvicorn) vs the raw SQL")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seconds = load_sample(url)
        bodies, statuses = max_proposals(url)
        bodies = bodies[: max(10, int(len(bodies) * min(scale, 1.0)))]
        print(f"  sample imported and published in {seconds:.1f} s; envelopes: {statuses}")
        with psycopg.connect(url) as conn:  # every check answers, and as the envelope promised
            from gis_service.permits import check

            verdicts: dict[str, int] = {}
            for body in bodies:
                v = check(conn, body)[0]["verdict"]
                verdicts[v] = verdicts.get(v, 0) + 1
        print(f"  verdicts of the {len(bodies)} largest proposals: {verdicts}")
        statements = []
        for body in bodies:
            p = parse_request(body)
            statements.append(
                site_statement(parcel_id=body["parcel_id"], footprint=(p.footprint_wkb, p.footprint_srid))
            )
        floors = {n: sql_floor(url, statements, n, DURATION_S / 2) for n in (2, 4)}
        floor = max(floors.values())
        for n, rate in floors.items():
            print(f"  raw SQL of the same measurements, {n} threads: {rate:8.1f} checks/s")
        best = api_rates(
            url,
            tmp,
            lambda base: post_rate(base, "/permits/check", bodies, tmp),
            label="API",
            unit="checks/s",
            floor=floor,
            warm_paths=[f"/parcels/{b['parcel_id']}/envelope" for b in bodies],
        )
        for way, rate in best.items():
            verdict = "met" if rate >= TARGET else "NOT met"
            print(f"  best API rate, sites {way}: {rate:.1f} checks/s vs target {TARGET:.0f}: {verdict}")
        print(f"  load average at the end {os.getloadavg()[0]:.1f}")
