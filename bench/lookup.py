"""The zoning lookup on the demo's sample plans: today's plan (the default) against ``as_of`` dates, over HTTP.

A point in each parcel of the sample plans (``bench/sample.py``: the 2019 version superseded by the 2024 one, and
the detailed plan), asked ``GET /lookup?lon=..&lat=..`` on uvicorn (2 workers, sites kept) and loaded by ``wrk``:

* **default**, the baseline: no ``as_of``, the plan versions approved today (the citizens' hot path);
* ``as_of`` today: the same answer, the versions in force found first (one more small statement);
* ``as_of`` 2020-01-01: the 2019 version, its zones and the envelope drawn from them;
* ``view=consultation``: a draft of the zoning plan under consultation (the drafts found first, as ``as_of``).

Every case's sites are kept first (each parcel asked once per worker), as after a while of use.

Rounds alternate between the three so that other work on the machine weighs on each alike; the best round counts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg

from bench.common import throwaway_database
from bench.permits import CONNECTIONS, DURATION_S, warm
from bench.sample import load_sample
from bench.serve import load, uvicorn_server
from gis_service.as_of import today_in_hue

ROUNDS = 2
ZONING = "46QPK0000001"  # the sample's zoning plan (sample_data/)
WORKERS = 2


def draft_under_consultation(url: str) -> None:
    """A draft of the sample's zoning plan, under consultation from today (the view=consultation case)."""
    from datetime import timedelta

    from gis_service.consultation.periods import open_consultation
    from gis_service.db import create_db_engine
    from gis_service.editing import start_draft

    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            start_draft(conn, ZONING, user="bench", reason="benchmark")
            today = today_in_hue()
            open_consultation(
                conn, ZONING, starts_on=today, ends_on=today + timedelta(days=30), explanation="bench", user="bench"
            )
    finally:
        engine.dispose()


def run(scale: float = 1.0) -> None:
    """Measure lookups per second without and with ``as_of``, and print each against the default.

    Parameters
    ----------
    scale
        The share of the sample's parcels asked (at most all of them, at least 10).
    """
    print("\nLookup: GET /lookup?lon=&lat= on the demo's sample plans (real HTTP, uvicorn), default vs as_of, view")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp:
        seconds = load_sample(url)
        draft_under_consultation(url)
        with psycopg.connect(url) as conn:
            points = conn.execute(
                "SELECT ST_X(w), ST_Y(w) FROM planning.parcels p, "
                "LATERAL ST_Transform(ST_PointOnSurface(p.geom), 4326) AS w ORDER BY p.id"
            ).fetchall()
        points = points[: max(10, int(len(points) * min(scale, 1.0)))]
        print(f"  sample imported and published in {seconds:.1f} s; {len(points)} points, one in each parcel")
        paths = [f"/lookup?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points]
        cases = {
            "default (the plan today)": "",
            f"as_of={today_in_hue().isoformat()} (today)": f"&as_of={today_in_hue().isoformat()}",
            "as_of=2020-01-01 (the 2019 version)": "&as_of=2020-01-01",
            "view=consultation (a draft)": "&view=consultation",
        }
        env = {**os.environ, "GIS_DATABASE_URL": url, "GIS_OGC_DIR": str(Path(tmp) / "ogc")}
        best = dict.fromkeys(cases, 0.0)
        with uvicorn_server(["gis_service.api.app:create_app", "--factory"], env, "/healthz", WORKERS) as base:
            for extra in cases.values():  # every case's sites kept, as after a while of use
                warm(base, [p + extra for p in paths], WORKERS)
            for _ in range(ROUNDS):
                for case, extra in cases.items():
                    result = load(base, [p + extra for p in paths], DURATION_S, CONNECTIONS)
                    if result.errors:
                        raise RuntimeError(f"{case}: {result.errors} lookups failed")
                    best[case] = max(best[case], result.rps)
    baseline = best["default (the plan today)"]
    print(f"  uvicorn {WORKERS} workers, sites kept, wrk c={CONNECTIONS}, {DURATION_S} s x {ROUNDS} rounds (best):")
    for case, rate in best.items():
        print(f"  {case:<40} {rate:8.1f} lookups/s = {rate / baseline:5.2f} x the default")
