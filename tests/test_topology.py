"""Two service processes behind HAProxy with PgBouncer (transaction pooling) in front of PostgreSQL, started as
``planning serve --processes 2`` starts them: reads and an edit through the balancer, and the job runners of both
processes sharing one queue, each job run exactly once."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from ogc_sample import CONTROL_LONLAT, PLAN_CODE, load_sample

from gis_service.db.migrate import upgrade
from gis_service.settings import ServerSettings, Settings, TopologySettings
from gis_service.topology import LocalTopology

JOBS = 16
#: Each claim of a job holds its row this long (a trigger below): longer than a runner's 5 s poll in all, so that
#: both runners find work and must skip each other's rows.
CLAIM_S = 0.4

RUN_LOG_SQL = f"""
CREATE TABLE public.job_runs (job_id bigint, runner text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.log_job_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.job_runs (job_id, runner) VALUES (NEW.id, current_setting('application_name'));
    PERFORM pg_sleep({CLAIM_S});
    RETURN NEW;
END $$;
CREATE TRIGGER log_job_run AFTER UPDATE OF status ON planning.jobs
    FOR EACH ROW WHEN (NEW.status = 'running' AND OLD.status = 'queued') EXECUTE FUNCTION public.log_job_run();
"""


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def topo_db(db_server: Any) -> Iterator[str]:
    url = db_server.create("topo")
    upgrade(url)
    load_sample(url)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(RUN_LOG_SQL)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def topology(topo_db: str) -> Iterator[LocalTopology]:
    run_dir = Path(tempfile.mkdtemp(prefix="planning-topology-"))
    run_dir.chmod(0o755)  # PgBouncer runs as 'postgres' when the tests run as root
    public, first, bouncer = free_ports(3)
    settings = Settings(
        database_url=topo_db,
        server=ServerSettings(port=public),
        topology=TopologySettings(first_port=first, pgbouncer_port=bouncer, run_dir=run_dir),
    )
    env = {"GIS_TILES__OUT_DIR": str(run_dir / "tiles"), "GIS_VECTOR_TILES__DIR": str(run_dir / "vector-tiles")}
    try:
        with LocalTopology(settings, processes=2, env=env) as t:
            yield t
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def test_reads_and_an_edit_through_haproxy_and_pgbouncer(
    topology: LocalTopology, topo_db: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    assert [p.pid is not None for p in topology.processes] == [True] * 4
    config = (topology.run_dir / "pgbouncer.ini").read_text()
    assert "pool_mode = transaction" in config
    planner = auth_headers("planner", database_url=topo_db)
    for _ in range(6):  # a connection each: HAProxy keeps a client's connection on one process
        with httpx.Client(base_url=topology.url, timeout=30) as http:
            items = http.get("/ogc/collections/zones/items", params={"f": "json", "limit": 5})
            assert items.status_code == 200, items.text
            lon, lat = CONTROL_LONLAT
            lookup = http.get("/lookup", params={"lon": lon, "lat": lat})
            assert lookup.status_code == 200, lookup.text
            assert {z["zone_code"] for z in lookup.json()["zones"]} == {"Z1", "Z2"}  # parcel P1 lies in both
    with httpx.Client(base_url=topology.url, timeout=30) as http:
        draft = http.post(f"/plans/{PLAN_CODE}/drafts", headers={**planner, "X-Change-Reason": "dieu chinh"})
        assert draft.status_code == 201, draft.text
    served = [p.log.read_text() for p in topology.services]
    answered = [log.count('"GET /lookup?') + log.count('"GET /ogc/collections/zones/items?') for log in served]
    assert answered[0] > 0 and answered[1] > 0 and sum(answered) == 12, f"reads answered by each process: {answered}"


def test_each_job_runs_exactly_once_across_the_processes(topology: LocalTopology, topo_db: str) -> None:
    with psycopg.connect(topo_db, autocommit=True) as c:
        c.execute("TRUNCATE public.job_runs")
        ids = [
            row[0]
            for row in c.execute(
                # parameters differing beyond the plan: run one by one, not together (gis_service.jobs.MERGED_KINDS)
                "INSERT INTO planning.jobs (kind, params, created_by) "
                "SELECT 'lookup.prepare', jsonb_build_object('run', g), 'test' FROM generate_series(1, %s) g "
                "RETURNING id",
                [JOBS],
            ).fetchall()
        ]
        deadline = time.monotonic() + 90
        while True:
            done = c.execute(
                "SELECT count(*) FROM planning.jobs WHERE id = ANY(%s) AND status IN ('succeeded', 'failed')", [ids]
            ).fetchone()
            if done and done[0] == JOBS:
                break
            assert time.monotonic() < deadline, f"{done} of {JOBS} jobs done within 90 s"
            time.sleep(0.5)
        statuses = c.execute("SELECT DISTINCT status FROM planning.jobs WHERE id = ANY(%s)", [ids]).fetchall()
        runs = c.execute("SELECT job_id, runner FROM public.job_runs ORDER BY at").fetchall()
    assert statuses == [("succeeded",)]
    assert sorted(job for job, _ in runs) == sorted(ids), "every job claimed once, none twice"
    per_runner: dict[str, int] = {}
    for _, runner in runs:
        per_runner[runner] = per_runner.get(runner, 0) + 1
    print(f"{JOBS} jobs, runs per process: {per_runner}")
    assert len(per_runner) == 2, "both processes' runners took jobs from the one queue"
    pids = {str(p.pid) for p in topology.services}
    assert {runner.split()[-1] for runner in per_runner} == pids


def test_the_viewer_files_and_the_tiles_through_the_balancer_survive_a_restart(topology: LocalTopology) -> None:
    tiles = topology.run_dir / "tiles" / "46QPK0000001"
    tiles.mkdir(parents=True)
    (tiles / "tileset.json").write_text(json.dumps({"asset": {"version": "1.1"}, "geometricError": 100}))
    with httpx.Client(base_url=topology.url, timeout=30) as http:
        for path in ("/", "/vendor/cesium/Cesium.js", "/vendor/maplibre/maplibre-gl.mjs"):
            r = http.get(path)
            assert r.status_code == 200 and len(r.content) > 1000, path
        assert http.get("/tiles/3d/46QPK0000001/tileset.json").json()["geometricError"] == 100
    first = topology.services[0]
    old_pid = first.pid
    first.stop()
    first.start()
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{first.port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{first.name} did not come back; log: {first.log}"
        time.sleep(0.3)
    assert first.pid not in (None, old_pid)
    again = httpx.get(f"http://127.0.0.1:{first.port}/tiles/3d/46QPK0000001/tileset.json", timeout=10)
    assert again.status_code == 200 and again.json()["geometricError"] == 100
