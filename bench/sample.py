"""The demo's sample plans in a throwaway database, imported and published as ``./run.sh demo`` does, and the
largest proposal the envelope allows on each of their parcels (the permit and envelope benchmarks' workload)."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from gis_service.settings import project_root

__all__ = ["load_sample", "max_proposals"]


def load_sample(url: str) -> float:
    """Import and publish the sample plans as the demo does; returns the seconds it took."""
    from gis_service.cli.sample_plans import load_sample_plans
    from gis_service.db import create_db_engine

    t0 = time.perf_counter()
    engine = create_db_engine(url, pool_size=1)
    try:
        load_sample_plans(engine, project_root() / "sample_data", user="bench", reason="benchmark")
    finally:
        engine.dispose()
    return time.perf_counter() - t0


def max_proposals(url: str, *, crs: str = "CRS84") -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The envelope's largest proposal on every parcel that has one, and the envelopes' statuses counted."""
    from gis_service.rules import envelope_of, fetch_site
    from gis_service.rules.envelope_answer import max_proposal

    bodies: list[dict[str, Any]] = []
    statuses: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for (pid,) in conn.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall():
            env = envelope_of(fetch_site(conn, parcel_id=pid))
            statuses[env.status] = statuses.get(env.status, 0) + 1
            body = max_proposal(env, crs=crs)
            if body is not None:
                bodies.append(body)
    return bodies, statuses
