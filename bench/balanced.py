"""``bench serve --processes N --replica``: the service as one process on the primary, beside the balanced
topology (HAProxy, PgBouncer, 1 and N service processes, reads on a streaming replica), in one run.

A throwaway cluster with one replica (in a temporary folder) holds the generated parcels of ``bench serve``; each
configuration is loaded in turn with the same requests (wrk on loopback). Besides requests per second and p99, it
prints the load average after each load and how many transactions the primary and the replica committed during it
(``pg_stat_database``), which shows where the reads went. The three run at once and each endpoint loads them in
turn. On a machine with few cores every process shares them
(see docs/operations.md, "What a 2-core machine can show").
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg

from bench.serve import Result, _endpoints, _sample, free_port, generate, load, say
from gis_service.db.local_cluster import LocalCluster
from gis_service.db.local_replicas import destroy_replicas, scale_replicas
from gis_service.db.migrate import upgrade
from gis_service.settings import ServerSettings, Settings, TopologySettings
from gis_service.topology import LocalTopology, ManagedProcess, _answers, _planning_command

#: The endpoints of ``bench serve`` loaded here: anonymous reads, which the replica may answer.
ENDPOINTS = ("bbox (~130 m, ~40 parcels)", "single item", "z14 MVT tile of parcels", "point lookup")
SIDE = 1000


@contextmanager
def _cluster_with_replica(side: int) -> Iterator[tuple[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="planning-bench-"))
    folder.chmod(0o755)  # the 'postgres' system user runs the servers when this runs as root
    primary = LocalCluster(folder / "pg")
    try:
        primary.up()
        upgrade(primary.url())
        generate(primary.url(), side)
        (replica,) = scale_replicas(primary, 1)
        yield primary.url(), replica.url()
    finally:
        destroy_replicas(primary)
        primary.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def _commits(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _quiet_env(folder: Path) -> dict[str, str]:
    """What every service process of the bench gets: no access log, its own folders."""
    return {
        "GIS_SERVER__ACCESS_LOG": "false",
        "GIS_TILES__OUT_DIR": str(folder / "tiles"),
        "GIS_VECTOR_TILES__DIR": str(folder / "vector-tiles"),
    }


@contextmanager
def _single_process(primary: str, folder: Path) -> Iterator[str]:
    """``planning serve`` alone on the primary: the baseline."""
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    env = base | _quiet_env(folder) | {"GIS_DATABASE_URL": primary, "GIS_OGC_DIR": str(folder / "ogc-single")}
    cmd = [*_planning_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = ManagedProcess("single", cmd, port, folder / "single.log", env=env)
    proc.start()
    try:
        deadline = time.monotonic() + 180
        while not _answers(f"http://127.0.0.1:{port}/healthz"):
            if proc.pid is None or time.monotonic() > deadline:
                raise RuntimeError(f"the single process did not start: {proc.log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


@contextmanager
def _balanced(primary: str, replica: str | None, folder: Path, processes: int) -> Iterator[str]:
    run_dir = folder / f"run-{processes}"
    run_dir.mkdir()
    run_dir.chmod(0o755)
    settings = Settings(
        database_url=primary,
        database_replicas=[replica] if replica else [],
        server=ServerSettings(port=free_port()),
        topology=TopologySettings(first_port=free_port(), pgbouncer_port=free_port(), run_dir=run_dir),
    )
    with LocalTopology(settings, processes=processes, env=_quiet_env(folder), progress=say) as topology:
        yield topology.url


def run(
    scale: float = 1.0, processes: int = 2, *, replica: bool = True, seconds: float = 8.0, connections: int = 16
) -> None:
    """Load one process on the primary, then 1 and ``processes`` processes behind HAProxy (with a replica)."""
    side = max(10, int(SIDE * scale**0.5))
    loader = "wrk (Debian)" if shutil.which("wrk") else "httpx asyncio client"
    sample = _sample(side)
    every = _endpoints(sample)
    paths = {name: every[name]["ours"] for name in ENDPOINTS}
    results: dict[str, dict[str, Result]] = {name: {} for name in ENDPOINTS}
    loads: dict[str, list[float]] = {}
    commits: dict[str, tuple[int, int]] = {}
    more = " + replica" if replica else " (HAProxy, PgBouncer)"
    configs = ["1 process", f"1 process{more}", f"{processes} processes{more}"]
    with (
        _cluster_with_replica(side) as (primary, replica_url),
        tempfile.TemporaryDirectory() as tmp,
        ExitStack() as running,
    ):
        folder = Path(tmp)
        folder.chmod(0o755)
        # all three run at once (idle but for their health checks) and each endpoint loads them in turn: a change
        # of the machine's load during the run falls on the three alike
        bases = {configs[0]: running.enter_context(_single_process(primary, folder))}
        for config, n in ((configs[1], 1), (configs[2], processes)):
            bases[config] = running.enter_context(_balanced(primary, replica_url if replica else None, folder, n))
        for name in ENDPOINTS:
            for config in configs:
                before = (_commits(primary), _commits(replica_url))
                results[name][config] = load(bases[config], paths[name], seconds, connections)
                after = (_commits(primary), _commits(replica_url))
                loads.setdefault(config, []).append(os.getloadavg()[0])
                done = commits.get(config, (0, 0))
                commits[config] = (done[0] + after[0] - before[0], done[1] + after[1] - before[1])
    print(
        f"\nserve, balanced: {side * side:,} parcels; {loader}, {connections} connections, {seconds:.0f} s per "
        f"endpoint; loopback, {os.cpu_count()} cores shared by the client, HAProxy, PgBouncer, the service "
        "processes, the primary and the replica"
    )
    print(f"  {'endpoint':<30}" + "".join(f" {c + ' req/s':>30} {'p99 ms':>7}" for c in configs))
    for name in ENDPOINTS:
        row = f"  {name:<30}"
        base_rps = results[name][configs[0]].rps
        for config in configs:
            r = results[name][config]
            ratio = f" ({r.rps / base_rps:.2f}x)" if config != configs[0] and base_rps else ""
            errors = f" {r.errors} err" if r.errors else ""
            row += f" {f'{r.rps:,.0f}{ratio}{errors}':>30} {r.p99_ms:7.1f}"
        print(row)
    print(
        "  load average (1 min) after each, mean over the endpoints: "
        + ", ".join(f"{c}: {sum(loads[c]) / len(loads[c]):.2f}" for c in configs)
    )
    print(
        "  transactions committed during each (primary / replica): "
        + ", ".join(f"{c}: {p:,} / {r:,}" for c, (p, r) in commits.items())
    )
