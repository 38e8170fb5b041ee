"""Shared helpers: a throwaway migrated database, timing, and the report table."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from gis_service.db import local_cluster
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh migrated database on GIS_BENCH_DATABASE_URL's server, else in the local cluster; dropped after."""
    admin_url = os.environ.get("GIS_BENCH_DATABASE_URL")
    if not admin_url:
        cluster = local_cluster(Settings(database_url=None))
        cluster.up()
        admin_url = cluster.url("postgres")
    admin = make_url(admin_url)
    name = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    kw = {"host": admin.host, "port": admin.port, "user": admin.username, "password": admin.password}
    with psycopg.connect(dbname=admin.database, autocommit=True, **kw) as c:  # type: ignore[arg-type]
        c.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(dbname=name, autocommit=True, **kw) as c:  # type: ignore[arg-type]
            c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(dbname=admin.database, autocommit=True, **kw) as c:  # type: ignore[arg-type]
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, float, float]]) -> None:
    """Print ``(case, ours_s, baseline_s)`` rows with the speed-up ratio baseline / ours."""
    print(f"\n{title}")
    print(f"  {'case':<58} {'ours':>10} {'baseline':>10} {'ratio':>8}")
    for case, ours, base in rows:
        print(f"  {case:<58} {ours * 1000:>8.2f}ms {base * 1000:>8.2f}ms {base / ours:>7.2f}x")
