"""Envelopes: what may be built on each parcel, per second through the REST API, on the demo's sample plans.

Every parcel of the sample plans (``bench/sample.py``) is asked for its envelope, ``GET /parcels/{id}/envelope``
(CRS84: buildable area, largest footprint, solid, capacity with the rule bounding each figure), served by uvicorn
(1 and 2 workers, with parcels' sites kept between requests, warmed by a lookup of each parcel, and with none
kept) and loaded by ``wrk``.

Baseline, the raw SQL of the same measurements: the statement that reads each parcel's site (lot, zones, red lines,
building lines, alleys), through psycopg from 2 and 4 threads, without HTTP, geometry work or serialisation.

Target: >= 200 envelopes/s on 2 cores.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg

from bench.common import throwaway_database
from bench.permits import CONNECTIONS, DURATION_S, api_rates, sql_floor
from bench.sample import load_sample
from bench.serve import load
from gis_service.rules.site import site_statement

TARGET = 200.0


def run(scale: float = 1.0) -> None:
    """Measure envelopes per second through the API against the raw SQL, and print the report.

    Parameters
    ----------
    scale
        The share of the sample's parcels asked (at most all of them, at least 10).
    """
    print("\nEnvelopes: GET /parcels/{id}/envelope on the demo's sample plans (real HTTP, uvicorn) vs the raw SQL")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seconds = load_sample(url)
        with psycopg.connect(url) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall()]
        ids = ids[: max(10, int(len(ids) * min(scale, 1.0)))]
        print(f"  sample imported and published in {seconds:.1f} s; {len(ids)} parcels")
        statements = [site_statement(parcel_id=pid) for pid in ids]
        floors = {n: sql_floor(url, statements, n, DURATION_S / 2) for n in (2, 4)}
        floor = max(floors.values())
        for n, rate in floors.items():
            print(f"  raw SQL of the same measurements, {n} threads: {rate:8.1f} sites/s")
        paths = [f"/parcels/{pid}/envelope" for pid in ids]

        def measure(base: str) -> tuple[float, str]:
            result = load(base, paths, DURATION_S, CONNECTIONS)
            if result.errors:
                raise RuntimeError(f"{result.errors} envelope requests failed")
            return result.rps, "wrk"

        best = api_rates(
            url,
            tmp,
            measure,
            label="API",
            unit="envelopes/s",
            floor=floor,
            warm_paths=[f"/lookup/parcels/{p}" for p in ids],
        )
        for way, rate in best.items():
            verdict = "met" if rate >= TARGET else "NOT met"
            print(f"  best API rate, sites {way}: {rate:.1f} envelopes/s vs target {TARGET:.0f}: {verdict}")
