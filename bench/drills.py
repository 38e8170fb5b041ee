"""Fault drills: what the service survives, each beside the same load with no fault, in one run.

Everything runs on loopback, in a throwaway PostgreSQL cluster of its own (the primary is killed) and its own
``planning serve`` processes, with bounded load:

- **primary killed** (``kill -9`` of the postmaster and its backends) during a planner's stream of acknowledged
  edits (PATCH with If-Match and a reason naming each edit), then restarted: every acknowledged edit is in the
  history, every row equals its last history entry and its version counts its entries (none half-applied);
- **database down at start-up**: ``planning serve`` starts anyway, ``/healthz`` answers 503 saying why, the process
  does not exit (no crash loop), and answers 200 once the database comes up;
- **full disk** on the 3D tiles' folder (a small tmpfs, filled): the build fails with a clear error, the served
  tileset stays the last complete one (every file it names is whole), nothing half-written is left, and the next
  build succeeds once space returns;
- **soak** at a fixed rate: the resident memory of the service and of the postmaster, and the p99 of each period
  against the first;
- **replica killed** (``kill -9``) while a service reads through it, **service process killed** (``kill -9``, one of
  two behind HAProxy) and **PgBouncer restarted**, each under anonymous reads at a fixed rate, then the process
  started again: failed reads bounded by those in flight, the time until reads succeed again and until the
  process is back (:mod:`bench.drills_topology`).

Every answer is checked (wrong answers: 0), not only its status. ``--scale`` sizes the run: 1 is the full run (a
10-minute soak), 0.03 the CI size (a 20-second soak; tests/test_drills.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.drill_load import (
    EditLog,
    Server,
    fixed_rate_reads,
    kill_tree,
    median,
    process_tree,
    rss_kib,
    run_edits,
    seed,
)
from bench.drills_topology import drills as topology_drills
from gis_service.db import create_db_engine
from gis_service.db.local_cluster import LocalCluster
from gis_service.db.local_replicas import destroy_replicas
from gis_service.db.migrate import upgrade

__all__ = ["Drill", "run"]

PLANNING = str(Path(sys.executable).with_name("planning"))


@dataclass
class Drill:
    """One drill's figures: (what, with the fault, the same load without it)."""

    name: str
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    lost: int = 0
    wrong: int = 0
    failures: list[str] = field(default_factory=list)  # promises broken (besides lost and wrong)
    # limits of time and memory passed: printed, never a failure (a shared machine's noise is no broken promise)
    over_limits: list[str] = field(default_factory=list)
    skipped: str | None = None

    def add(self, what: str, fault: object, baseline: object = "") -> None:
        """One figure, with the fault and without it."""
        self.figures.append((what, _fmt(fault), _fmt(baseline)))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


@dataclass
class Sizes:
    """How big a run is: ``scale`` 1 is the full run, 0.03 the CI size."""

    zones: int
    clients: int
    edit_s: float
    soak_s: float
    soak_rate: float
    down_hold_s: float

    @classmethod
    def of(cls, scale: float) -> Sizes:
        return cls(
            zones=max(40, int(400 * scale)),
            clients=4,
            edit_s=max(8.0, 60 * scale),
            soak_s=max(20.0, 600 * scale),
            soak_rate=30.0 if scale < 0.5 else 50.0,
            down_hold_s=max(3.0, 20 * scale),
        )


class Stage:
    """The throwaway cluster, its migrated database with the drills' plan, and how to start the service on it."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        # a folder the 'postgres' system user can reach when run as root
        self.tmp = Path(tempfile.mkdtemp(prefix="planning-drills-"))
        self.tmp.chmod(0o755)
        self.cluster = LocalCluster(self.tmp / "pg")
        self.server: Server | None = None  # one service from drill to drill: each start costs seconds
        self.calm_start: tuple[float, float] = (float("nan"), float("nan"))  # to the first answer, to 200
        try:
            self.cluster.up()
            self.url = self.cluster.url()
            upgrade(self.url)
            self.data = seed(self.url, sizes.zones)
        except BaseException:
            self.close()
            raise

    def env(self, **extra: str) -> dict[str, str]:
        """The service's environment: this database, folders of this run."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
        env |= {
            "GIS_DATABASE_URL": self.url,
            "GIS_OGC_DIR": str(self.tmp / "ogc"),
            "GIS_TILES__OUT_DIR": str(self.tmp / "tiles"),
            "GIS_VECTOR_TILES__DIR": str(self.tmp / "vector-tiles"),
        }
        return env | extra

    def serve(self, name: str, **env: str) -> Server:
        """Start ``planning serve`` on this stage (not waited for), in place of the one running; ``env``: more."""
        self.stop_server()
        self.server = Server(self.env(**env), self.tmp, name)
        return self.server

    def running_server(self, name: str) -> Server:
        """The service of the drill before, or a new one once it answers 200."""
        if self.server is None or self.server.process.poll() is not None:
            self.serve(name).wait()
        assert self.server is not None
        return self.server

    def stop_server(self) -> None:
        """Stop the running service, if any."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the drills' database (a fresh connection: the server may have restarted)."""
        engine = create_db_engine(self.url, pool_size=1)
        try:
            with engine.connect() as c:
                return [tuple(row) for row in c.execute(sa.text(sql))]
        finally:
            engine.dispose()

    def truth(self) -> dict[int, int]:
        """The max_floors of each zone of the approved plan (what the public reads), as the database holds it."""
        ids = ",".join(str(i) for i in self.data.approved_ids)
        rows = self.query(f"SELECT id, max_floors FROM planning.zones WHERE id IN ({ids})")
        return {int(str(row[0])): int(str(row[1])) for row in rows}

    def close(self) -> None:
        """Stop the service, stop and remove the cluster and the run's folder."""
        self.stop_server()
        destroy_replicas(self.cluster)
        self.cluster.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- the primary killed during acknowledged edits ------------------------------------------------------------
def _check_edits(stage: Stage, log: EditLog) -> tuple[int, int]:
    """Acknowledged edits missing from the history, and zones whose row is not their last history entry."""
    reasons = {r for (r,) in stage.query("SELECT reason FROM planning.change_history WHERE reason LIKE 'drill %'")}
    lost = sum(1 for _fid, reason, _v in log.acked if reason not in reasons)
    half_applied = stage.query(
        """
        SELECT z.id FROM planning.zones z
        JOIN LATERAL (SELECT count(*) AS n, max(h.id) AS last FROM planning.change_history h
                      WHERE h.table_name = 'zones' AND h.feature_id = z.id) c ON true
        JOIN planning.change_history h ON h.id = c.last
        WHERE z.row_version <> c.n OR z.row_version <> h.row_version
           OR (h.after ->> 'max_floors')::int IS DISTINCT FROM z.max_floors
        """
    )
    return lost, len(half_applied)


def drill_primary_kill(stage: Stage) -> Drill:
    """Kill -9 the primary during a stream of acknowledged edits; restart it; compare with the clients' logs."""
    d = Drill("primary killed (kill -9) during edits")
    s = stage.sizes
    server = stage.serve("edits")
    first, _ = server.wait(status=None)
    ready, _ = server.wait()
    stage.calm_start = (first, ready)  # the baseline of the start-up drill
    calm, calm_start = run_edits(
        server.url, stage.data.token, stage.data.draft_ids, run="calm", clients=s.clients, seconds=s.edit_s
    )
    restart: dict[str, float] = {}

    def crash_and_restart() -> None:
        status = stage.cluster.status()
        assert status.pid is not None
        restart["killed"] = time.monotonic()
        restart["processes"] = kill_tree(status.pid)
        time.sleep(1.0)  # down for a moment, as after a crash
        stage.cluster.up()
        restart["up"] = time.monotonic()

    faulty, start = run_edits(
        server.url,
        stage.data.token,
        stage.data.draft_ids,
        run="fault",
        clients=s.clients,
        seconds=s.edit_s,
        fault=crash_and_restart,
        fault_at=s.edit_s / 3,
    )
    lost_calm, half_calm = _check_edits(stage, calm)
    lost, half = _check_edits(stage, faulty)
    after_restart = [t for t in faulty.ack_times if t > restart["up"]]
    d.add("acknowledged edits", len(faulty.acked), len(calm.acked))
    d.add("acknowledged edits/s", len(faulty.acked) / s.edit_s, len(calm.acked) / s.edit_s)
    d.add("processes killed (postmaster + backends)", int(restart["processes"]), 0)
    d.add("database down, s (kill to restarted)", restart["up"] - restart["killed"], 0.0)
    d.add(
        "longest time with no acknowledgement, s",
        faulty.longest_gap(start, start + s.edit_s),
        calm.longest_gap(calm_start, calm_start + s.edit_s),
    )
    d.add(
        "first acknowledgement after the restart, s",
        (after_restart[0] - restart["up"]) if after_restart else "none",
        "",
    )
    d.add("failed requests (no answer or 5xx)", faulty.failed, calm.failed)
    d.add("stale ETags after a lost answer (412, re-read)", faulty.conflicts, calm.conflicts)
    d.add("acknowledged edits lost", lost, lost_calm)
    d.add("rows not equal to their last history entry", half, half_calm)
    d.lost = lost + lost_calm
    d.wrong = faulty.wrong + calm.wrong
    if half or half_calm:
        d.failures.append(f"{half + half_calm} zones half-applied")
    if not after_restart:
        d.failures.append("no edit was acknowledged after the primary restarted")
    return d


# ---- the database down at start-up -------------------------------------------------------------------------
def drill_database_down_at_start(stage: Stage) -> Drill:
    """Start the service while the database refuses connections; it must answer 503 and recover, not exit."""
    d = Drill("database refuses connections at start-up")
    calm_first, calm_ok = stage.calm_start
    stage.stop_server()
    stage.cluster.down()
    server = stage.serve("db-down")  # kept for the next drills once it has recovered
    first, r = server.wait(status=None)
    body = r.json()
    answers = {r.status_code: 1}
    hold_until = time.monotonic() + stage.sizes.down_hold_s
    while time.monotonic() < hold_until:
        code = httpx.get(f"{server.url}/healthz", timeout=5).status_code
        answers[code] = answers.get(code, 0) + 1
        time.sleep(0.2)
    alive = server.process.poll() is None
    up_at = time.monotonic()
    stage.cluster.up()
    _recovered, _ = server.wait(status=200)
    recovered_s = time.monotonic() - up_at
    # a real answer, checked against the database
    fid, floors = next(iter(stage.truth().items()))
    read = httpx.get(f"{server.url}/ogc/collections/zones/items/{fid}", timeout=10)
    wrong = int(read.status_code != 200 or read.json()["properties"].get("max_floors") != floors)
    log = server.output()
    d.add("first /healthz answer after launch, s", first, calm_first)
    d.add("its status", r.status_code, 200)
    d.add("its message", body.get("detail", ""), "")
    d.add(f"/healthz answers while down ({stage.sizes.down_hold_s:.0f} s)", _statuses(answers), "")
    d.add("process still running (no crash loop)", "yes" if alive else "NO", "yes")
    d.add("200 after the database came up, s", recovered_s, calm_ok)
    d.wrong = wrong
    if r.status_code != 503 or "cannot connect" not in body.get("detail", ""):
        d.failures.append(f"/healthz said {r.status_code} {body} while the database was down")
    if not alive or set(answers) != {503}:
        d.failures.append(f"the service exited or answered {answers} while the database was down")
    if "Traceback" in log:
        d.failures.append("the service logged a traceback")
    return d


def _statuses(answers: dict[int, int]) -> str:
    return ", ".join(f"{n} x {code}" for code, n in sorted(answers.items()))


# ---- a full disk under the 3D tiles --------------------------------------------------------------------------
def _tiles_build(stage: Stage, out: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PLANNING, "tiles", "build", "--layers", "zones", "--out", str(out)],
        env=stage.env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc, time.perf_counter() - t0


def _served_tileset_broken(base: str, prefix: str = "/tiles/3d") -> tuple[int, int, bytes]:
    """Files the served tileset names that are missing or not whole glb, the files checked, and tileset.json."""
    broken = checked = 0
    root = httpx.get(f"{base}{prefix}/zones/tileset.json", timeout=10)
    if root.status_code != 200:
        return 1, 1, b""
    pending = [json.loads(root.content)["root"]]
    while pending:
        tile = pending.pop()
        pending.extend(tile.get("children", []))
        uri = (tile.get("content") or {}).get("uri")
        if not uri:
            continue
        checked += 1
        r = httpx.get(f"{base}{prefix}/zones/{uri}", timeout=10)
        whole = (
            r.status_code == 200
            and r.content[:4] == b"glTF"
            and int.from_bytes(r.content[8:12], "little") == len(r.content)
        )
        broken += not whole
    return broken, checked, root.content


def _fill(folder: Path) -> Path:
    """Fill the disk of ``folder`` with one file, to its last byte."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def drill_full_disk(stage: Stage) -> Drill:
    """Build the zones' 3D tiles on a small filesystem, fill it, change the zones, build again, free it."""
    d = Drill("full disk under the 3D tiles")
    calm_dir = stage.tmp / "tiles-calm"
    calm, calm_s = _tiles_build(stage, calm_dir)
    if calm.returncode != 0:
        d.failures.append(f"the build without a fault failed: {calm.stderr[-500:]}")
        return d
    size = sum(f.stat().st_size for f in calm_dir.rglob("*") if f.is_file())
    disk = stage.tmp / "tiles"
    disk.mkdir(exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={max(4 * size, 1 << 20)},mode=0755", "planning-drill", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode != 0:
        d.skipped = f"cannot mount a small filesystem (needs root): {mount.stderr.strip()}"
        return d
    try:
        first, _ = _tiles_build(stage, disk)
        server = stage.running_server("tiles")
        broken_before, _, before = _served_tileset_broken(server.url)
        stage.query("SELECT 1")  # the edits below change every zone's height, so every tile is written again
        engine = create_db_engine(stage.url, pool_size=1)
        with engine.begin() as c:
            c.execute(sa.text("UPDATE planning.zones SET max_floors = max_floors % 40 + 2"))
        engine.dispose()
        filler = _fill(disk)
        full, full_s = _tiles_build(stage, disk)
        leftovers = [p.name for p in disk.rglob(".*.tmp")]
        broken, checked, during = _served_tileset_broken(server.url)
        filler.unlink()
        again, again_s = _tiles_build(stage, disk)
        broken_after, checked_after, after = _served_tileset_broken(server.url)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)
    error = next((ln for ln in full.stderr.splitlines() if ln.startswith("Error:")), full.stderr.strip()[-200:])
    d.add("build, s (fault: until it failed)", full_s, calm_s)
    d.add("tiles folder, kB (filesystem: 4x, all filled)", size // 1000, size // 1000)
    d.add("exit status of the build", full.returncode, calm.returncode)
    d.add("its message", error[:150], "")
    d.add("half-written files left", len(leftovers), 0)
    d.add("served tiles missing or not whole", f"{broken} of {checked}", broken_before)
    d.add("served tileset unchanged while full", "yes" if during == before else "NO", "")
    d.add("build once space returned, s", again_s, calm_s)
    d.add("served tiles missing or not whole after it", f"{broken_after} of {checked_after}", "")
    d.add("served tileset is the new one", "yes" if after != before else "NO", "")
    d.wrong = broken + broken_after + broken_before
    if first.returncode != 0:
        d.failures.append(f"the first build on the small filesystem failed: {first.stderr[-300:]}")
    if full.returncode != 1 or "no space left" not in error or "Traceback" in full.stderr:
        d.failures.append(f"the build on a full disk did not fail clearly: {full.stderr[-500:]}")
    if leftovers:
        d.failures.append(f"half-written files left: {leftovers[:5]}")
    if again.returncode != 0 or after == before:
        d.failures.append(f"the build did not recover once space returned: {again.stderr[-300:]}")
    return d


# ---- the soak ------------------------------------------------------------------------------------------------
class MemorySampler:
    """Resident memory of the service (with any children) and of the postmaster and each backend, once a tick."""

    def __init__(self, service: int, postmaster: int | None) -> None:
        self.service = service
        self.postmaster = postmaster
        self.series: dict[str, list[float]] = {}

    def __call__(self) -> None:
        self._add("service", sum(rss_kib(p) or 0 for p in process_tree(self.service)))
        if self.postmaster is None:
            return
        self._add("postmaster", rss_kib(self.postmaster) or 0)
        for pid in process_tree(self.postmaster)[1:]:
            self._add(f"backend {pid}", rss_kib(pid) or 0)

    def _add(self, name: str, kib: float) -> None:
        if kib:
            self.series.setdefault(name, []).append(kib / 1024)

    def growth(self, name: str) -> tuple[float, float] | None:
        """Median MB of the first and the last quarter of the samples of ``name``."""
        series = self.series.get(name, [])
        if len(series) < 4:
            return None
        q = max(1, len(series) // 4)
        return median(series[:q]), median(series[-q:])


def drill_soak(stage: Stage) -> Drill:
    """Reads at a fixed rate for the soak's length: memory of each process and p99 by period."""
    s = stage.sizes
    d = Drill(f"soak: {s.soak_rate:.0f} reads/s for {s.soak_s:.0f} s")
    truth = stage.truth()
    server = stage.running_server("soak")
    memory = MemorySampler(server.process.pid, stage.cluster.status().pid)
    fixed_rate_reads(server.url, truth, rate=s.soak_rate, seconds=2)  # warm-up: caches, pools, first plans
    log = fixed_rate_reads(server.url, truth, rate=s.soak_rate, seconds=s.soak_s, on_tick=memory)
    width = s.soak_s / 10
    p99s = [log.p99(k * width, (k + 1) * width) for k in range(10)]
    worst = max(p99s[1:])
    d.add("reads answered", len(log.latencies), int(s.soak_rate * s.soak_s))
    d.add("failed reads", log.failed, 0)
    d.add("reads sent over 1 s late (client behind)", log.late, 0)
    d.add(f"p99 of the first {width:.0f} s, ms", p99s[0] * 1000, "")
    d.add("p99 of the worst later period, ms (limit 2x first)", worst * 1000, p99s[0] * 2000)
    d.add("p99 of the last period, ms", p99s[-1] * 1000, p99s[0] * 1000)
    for name in ("service", "postmaster"):
        grown = memory.growth(name)
        if grown is not None:
            d.add(f"RSS of the {name}, MB (last quarter vs first)", grown[1], grown[0])
            if grown[1] > 1.5 * grown[0] + 20:
                d.over_limits.append(f"the {name}'s memory grew from {grown[0]:.0f} to {grown[1]:.0f} MB")
    backends = [memory.growth(k) for k in memory.series if k.startswith("backend")]
    growths = [g[1] - g[0] for g in backends if g is not None]
    if growths:
        d.add("largest growth of one backend's RSS, MB", max(growths), "")
    d.wrong = log.wrong
    if worst > 2 * p99s[0] and worst > 0.05:  # below 50 ms a doubling is scheduling noise on a shared machine
        d.over_limits.append(
            f"p99 rose to {worst * 1000:.0f} ms, over twice the first period's {p99s[0] * 1000:.0f} ms"
        )
    if log.failed:
        d.failures.append(f"{log.failed} reads failed with no fault")
    return d


# ---- the table -----------------------------------------------------------------------------------------------
def print_table(drills: list[Drill]) -> None:
    """Each drill's figures, with the fault and without it, then the totals."""
    print("\nfault drills: each figure with the fault, and the same load without it (same run)")
    print(f"  {'figure':<58} {'fault':>24} {'no fault':>12}")
    for d in drills:
        print(f"\n  {d.name}")
        if d.skipped:
            print(f"    skipped: {d.skipped}")
            continue
        for what, fault, calm in d.figures:
            print(f"    {what:<56} {fault:>24} {calm:>12}")
        for failure in d.failures:
            print(f"    BROKEN: {failure}")
        for limit in d.over_limits:
            print(f"    OVER THE LIMIT: {limit}")
    lost = sum(d.lost for d in drills)
    wrong = sum(d.wrong for d in drills)
    broken = sum(len(d.failures) for d in drills)
    ran = sum(1 for d in drills if not d.skipped)
    print(f"\n  drills run: {ran} of {len(drills)}; acknowledged edits lost: {lost}; wrong answers: {wrong}")
    print(f"  promises broken: {broken}")
    over = sum(len(d.over_limits) for d in drills)
    print(f"  limits of time and memory passed: {over} (reported, not a failure: the machine's load moves them)")


def run(scale: float = 1.0) -> None:
    """Run the drills at ``scale`` (1: full, 0.03: CI) and print their table; fails when a promise is broken."""
    sizes = Sizes.of(scale)
    print(
        f"\ndrills: {sizes.zones} zones, {sizes.clients} editing clients for {sizes.edit_s:.0f} s, soak "
        f"{sizes.soak_s:.0f} s at {sizes.soak_rate:.0f}/s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    stage = Stage(sizes)
    drills: list[Drill] = []
    steps: list[Callable[[Stage], Drill]] = [
        drill_primary_kill,
        drill_database_down_at_start,
        drill_full_disk,
        drill_soak,
    ]
    try:
        for step in steps:
            t0 = time.monotonic()
            drills.append(step(stage))
            print(f"  {drills[-1].name}: {time.monotonic() - t0:.0f} s", file=sys.stderr)
        t0 = time.monotonic()
        drills += topology_drills(stage)  # after the soak: it measures the service the drills before lived through
        print(f"  replica, service process, PgBouncer: {time.monotonic() - t0:.0f} s", file=sys.stderr)
    finally:
        stage.close()
    print_table(drills)
    lost = sum(d.lost for d in drills)
    wrong = sum(d.wrong for d in drills)
    if lost or wrong or any(d.failures for d in drills):
        raise RuntimeError(f"drills failed: {lost} acknowledged edits lost, {wrong} wrong answers")
