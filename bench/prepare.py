"""Preparing the published lookups: parcels per second, chunked statements in worker processes vs one by one.

One throwaway database, generated: ``bench serve``'s grid (:func:`bench.serve.generate`: 141 x 141 = 19,881
parcels of 20 x 20 m, zones of 200 m of one approved plan) and a road every 100 m across it (its two red lines,
12 m apart, and a building line 3 m behind each), so that parcels have fronts, setbacks and road land as the
sample's do. In the same process:

* **one by one**, the baseline (the preparation as it was): each parcel's answer by the live lookup
  (:func:`gis_service.lookup.lookup_with_envelope`) and its row written, on an even sample of the parcels
  (rolled back);
* **prepared**: :func:`gis_service.lookup_prepared.prepare_lookups` of every parcel, computed in the preparing
  process (``processes=1``: the chunked statements alone) and by 2 worker processes (the default).

The sample's prepared bytes are then checked equal to the one-by-one ones. The same again on the demo's sample
plans (``bench/sample.py``: 1,362 irregular parcels, whose envelopes cost more than the grid's).

On a machine shared with other work the rates say little about what idle cores would do, so each case's CPU time
is counted too: the benchmark's processes (workers included) and, when the database runs on this machine, every
process of its server. Its "idle" figure is the rate the CPU time allows: one core for the one-by-one path and the
preparing process (the client and its server process take turns), the cores for the workers.
"""

from __future__ import annotations

import functools
import math
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.common import throwaway_database
from bench.sample import load_sample
from bench.serve import E0, N0, PARCEL_M, generate
from gis_service.lookup import LookupQuery, lookup_with_envelope
from gis_service.lookup_prepared import _LOCK_SQL, _tail, prepare_lookups

SIDE = 141  # parcels per row and column of the grid at scale 1
BASELINE_PARCELS = 1000  # the one-by-one path's sample (its rate is per parcel; the whole grid would take minutes)
ROAD_EVERY_M = 100.0

_ROADS_SQL = """
INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom)
SELECT 1, 'Đường ' || k, 12, ST_SetSRID(ST_Multi(ST_MakeLine(
           ST_MakePoint(%(x0)s, %(y0)s + k * %(every)s + s), ST_MakePoint(%(x1)s, %(y0)s + k * %(every)s + s))), 9214)
FROM generate_series(1, %(roads)s) k, (VALUES (-6.0), (6.0)) v(s);
INSERT INTO planning.building_lines (plan_id, road_name, red_line_width_m, setback_m, geom)
SELECT 1, road_name, red_line_width_m, 3,
       ST_Translate(geom, 0, 3 * sign(ST_Y(ST_StartPoint(ST_GeometryN(geom, 1))) - %(y0)s
                                      - round((ST_Y(ST_StartPoint(ST_GeometryN(geom, 1))) - %(y0)s) / %(every)s)
                                        * %(every)s))
FROM planning.red_lines
"""


def add_roads(url: str, side: int) -> int:
    """A road every :data:`ROAD_EVERY_M` across the generated grid: two red lines and their building lines."""
    x0, y0 = E0 - side * PARCEL_M / 2, N0 - side * PARCEL_M / 2
    roads = int(side * PARCEL_M / ROAD_EVERY_M) - 1
    params = {"x0": x0, "y0": y0, "x1": x0 + side * PARCEL_M, "every": ROAD_EVERY_M, "roads": roads}
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # throwaway bulk data: no history triggers
        for statement in _ROADS_SQL.split(";\n"):
            conn.execute(statement, params)
        conn.commit()
        conn.execute("ANALYZE planning.red_lines")
        conn.execute("ANALYZE planning.building_lines")
        conn.commit()
    return roads


def _server_pid(conn: psycopg.Connection[Any]) -> int | None:
    """The database server's main process, when it runs on this machine (else None)."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    stat = Path(f"/proc/{row[0] if row else 0}/stat")
    if not stat.exists():
        return None
    ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    return ppid if b"postgres" in Path(f"/proc/{ppid}/cmdline").read_bytes() else None


def _server_cpu(pid: int | None) -> float:
    """CPU seconds of the server: its main process, the children it reaped, and those alive."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for i, p in enumerate([pid, *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile: reaped into the main process's figures
            continue
        total += sum(int(f) for f in fields[11 : 15 if i == 0 else 13]) / tick
    return total


def _own_cpu() -> float:
    return sum(
        u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def cpu_of(server: int | None, fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``fn()``, and the CPU seconds it took here (workers included) and in the database server."""
    own, db = _own_cpu(), _server_cpu(server)
    result = fn()
    return result, _own_cpu() - own, _server_cpu(server) - db


def one_by_one(url: str, parcel_ids: list[int]) -> tuple[float, dict[int, bytes]]:
    """The preparation as it was, on these parcels (rolled back): seconds, and each parcel's prepared bytes."""
    out: dict[int, bytes] = {}
    with psycopg.connect(url) as conn, conn.transaction(force_rollback=True):
        conn.execute(_LOCK_SQL)
        t0 = time.perf_counter()
        for pid in parcel_ids:
            with conn.transaction():
                tail = _tail(lookup_with_envelope(conn, LookupQuery(parcel_id=pid)))
            conn.execute(
                "INSERT INTO planning.prepared_lookups (parcel_id, data_version, answer) VALUES (%s, 0, %s) "
                "ON CONFLICT (parcel_id) DO UPDATE SET answer = excluded.answer",
                [pid, tail],
            )
            out[pid] = tail
        return time.perf_counter() - t0, out


Row = tuple[str, int, float, float, float, int]


def measure(url: str) -> tuple[list[Row], int | None]:
    """The one-by-one path on an even sample, then every parcel chunked in 1 and 2 processes, on ``url``'s parcels:
    ``(case, parcels, seconds, CPU seconds here, in the database, cores)``, and the server's pid (None: elsewhere)."""
    with psycopg.connect(url) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM planning.parcels ORDER BY id")]
        server = _server_pid(conn)
    sample = ids[:: max(1, len(ids) // BASELINE_PARCELS)]
    rows: list[Row] = []
    (seconds, expected), own, db = cpu_of(server, lambda: one_by_one(url, sample))
    rows.append((f"one by one (the baseline, {len(sample)} parcels)", len(sample), seconds, own, db, 1))
    for processes in (1, 2):
        with psycopg.connect(url) as conn:
            report, own, db = cpu_of(server, functools.partial(prepare_lookups, conn, whole=True, processes=processes))
        if report.prepared != len(ids):
            raise RuntimeError(f"{len(ids) - report.prepared} parcels not prepared")
        case = f"chunked, {processes} process{'es' if processes > 1 else ''} ({len(ids)} parcels)"
        rows.append((case, report.prepared, report.seconds, own, db, processes))
    with psycopg.connect(url) as conn:
        stored: dict[int, bytes] = dict(
            conn.execute(
                "SELECT parcel_id, answer FROM planning.prepared_lookups WHERE parcel_id = ANY(%s)", [sample]
            ).fetchall()
        )
    differ = [pid for pid in sample if bytes(stored[pid]) != expected[pid]]
    if differ:
        raise RuntimeError(f"{len(differ)} prepared answers differ from the one-by-one ones, e.g. {differ[0]}")
    return rows, server


def print_rows(rows: list[Row], server: int | None) -> None:
    """The rates, their ratio to the baseline's, the CPU time a parcel and the rate it allows on free cores."""
    print(f"  {'case':<42} {'parcels/s':>10} {'ratio':>7} {'CPU ms/parcel: here':>20} {'db':>6} {'idle':>7}")
    baseline = rows[0][1] / rows[0][2]
    for case, n, seconds, own, db, cores in rows:
        rate, cpu = n / seconds, (own + db) / n
        idle = f"{cores / cpu:7.0f}" if server is not None else "    n/a"
        print(f"  {case:<42} {rate:10.1f} {rate / baseline:6.2f}x {own / n * 1000:20.2f} {db / n * 1000:6.2f} {idle}")


def run(scale: float = 1.0) -> None:
    """Measure the preparation's rate, chunked in 1 and 2 processes, against the one-by-one path, and print it:
    on the generated parcels, then on the demo's sample plans (irregular parcels, heavier envelopes).

    Parameters
    ----------
    scale
        Multiplies the number of generated parcels (at least 100).
    """
    side = max(10, round(SIDE * math.sqrt(scale)))
    print(f"\nPrepared lookups: preparing every parcel's default lookup, {side * side:,} generated parcels")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url:
        generate(url, side)
        roads = add_roads(url, side)
        print(f"  {roads} roads (2 red lines and 2 building lines each)")
        rows, server = measure(url)
    print(f"  load average after: {os.getloadavg()[0]:.1f}; the sample's prepared bytes equal the one-by-one ones")
    print_rows(rows, server)
    best = max(n / seconds for _c, n, seconds, *_ in rows)
    print(f"  1,000,000 parcels at the best rate measured: {1_000_000 / best / 60:.0f} min")
    print("\n  The same on the demo's sample plans (1,362 parcels; workers start for 1,000 parcels or more):")
    with throwaway_database() as url:
        load_sample(url)
        rows, server = measure(url)
    print(f"  load average after: {os.getloadavg()[0]:.1f}; the sample's prepared bytes equal the one-by-one ones")
    print_rows(rows, server)
