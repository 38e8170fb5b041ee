"""The fault drills of issue 22's topology: a replica killed, a service process killed, PgBouncer restarted.

Each runs under anonymous reads at a fixed rate (every answer checked against the database) and prints its figures
beside the same load with no fault, in the run of :mod:`bench.drills` (on its throwaway cluster):

- **replica killed**: the cluster gets one streaming replica, a ``planning serve`` reads through it; ``kill -9`` of
  the replica, then it is started again. Failed reads are bounded by the reads in flight at the kill (at most the
  load's connections): the first read that fails on it takes it out of rotation, the next ones go to the primary
  (and the OGC items route answers a failed replica read from the primary, so none need fail);
- **service process killed**: :class:`~gis_service.topology.LocalTopology` (HAProxy, 2 processes, PgBouncer);
  ``kill -9`` of one process, then it is started again. HAProxy retries a refused connection on the other one;
- **PgBouncer restarted** in that topology: errors are answers in the project's error shape, the service processes
  keep running, and reads succeed again once it is back.

Times are read from the processes' own logs as the lines appear (the service's "replica ... out of rotation",
HAProxy's "app1 is DOWN"), polled every 20 ms.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from bench.drill_load import ReadLog, fixed_rate_reads, kill_tree, process_tree
from bench.serve import free_port
from gis_service.db.local_cluster import port_is_free
from gis_service.db.local_replicas import scale_replicas
from gis_service.settings import ServerSettings, Settings, TopologySettings
from gis_service.topology import LocalTopology

if TYPE_CHECKING:
    from bench.drills import Drill, Stage

__all__ = ["drill_pgbouncer_restart", "drill_replica_kill", "drill_service_kill", "topology"]

RATE = 30.0  # reads a second: as the soak at the CI size
WORKERS = 8  # the load's connections: the bound of the reads in flight at a fault
CALM_S = 8.0  # the load with no fault
FAULT_AT = 2.0  # seconds into the load with the fault
CHECK_S = 0.5  # the replicas' health check interval (GIS_REPLICAS__CHECK_INTERVAL_S) in the drills
PGBOUNCER_DOWN_S = 1.0  # PgBouncer down for a moment, as in an upgrade, not only stopped and started at once
WAIT_S = 120.0  # the longest wait for a line in a log (a service process starts in seconds to tens of seconds)


class LogWatch:
    """The lines a process appends to its log from now on: :meth:`wait` for one holding some text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.line = ""  # the line found

    def wait(self, text: str, timeout: float = WAIT_S) -> float | None:
        """The monotonic time ``text`` was first seen in what was appended (None: not within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.path.open("rb") as f:
                    f.seek(self.offset)
                    appended = f.read().decode(errors="replace")
                if text in appended:
                    self.line = next(ln for ln in appended.splitlines() if text in ln)
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.02)
        return None


@contextmanager
def _reads(base: str, truth: dict[int, int], seconds: float = WAIT_S) -> Iterator[tuple[ReadLog, threading.Event]]:
    """The read load in the background while the drill plays its fault; set the event to end it early."""
    stop = threading.Event()
    out: list[ReadLog] = []
    t = threading.Thread(
        target=lambda: out.append(fixed_rate_reads(base, truth, rate=RATE, seconds=seconds, workers=WORKERS, stop=stop))
    )
    log = ReadLog()
    t.start()
    try:
        yield log, stop
    finally:
        stop.set()
        t.join()
        if out:  # the caller's log gets what the load saw
            log.__dict__.update(out[0].__dict__)


def _since(when: float | None, start: float) -> float | str:
    return "not seen" if when is None else when - start


def _after_fault(log: ReadLog, fault: float) -> tuple[float, str]:
    """Seconds from the fault to the end of the last failed read (0: none failed), and the failures' statuses."""
    last = max((t for t, _s, _p in log.failures), default=fault)
    counts: dict[str, int] = {}
    for _t, status, shaped in log.failures:
        key = f"{status or 'no answer'}{'' if shaped or not status else ' (not the error shape)'}"
        counts[key] = counts.get(key, 0) + 1
    return max(0.0, last - fault), ", ".join(f"{n} x {k}" for k, n in sorted(counts.items())) or "none"


def _add_load(d: Drill, fault: ReadLog, calm: ReadLog) -> None:
    d.add("reads sent", fault.sent, calm.sent)
    d.add("failed reads (no answer or not 200)", fault.failed, calm.failed)
    d.add(
        "slowest answered read, s",
        max((lat for _t, lat in fault.latencies), default=0.0),
        max((lat for _t, lat in calm.latencies), default=0.0),
    )
    d.wrong += fault.wrong + calm.wrong
    if calm.failed:
        d.failures.append(f"{calm.failed} reads failed with no fault")


# ---- a replica killed --------------------------------------------------------------------------------------
def drill_replica_kill(stage: Stage) -> Drill:
    """One replica, a service reading through it; kill -9 the replica under reads, then start it again."""
    from bench.drills import Drill

    d = Drill("replica killed (kill -9) under read load")
    (replica,) = scale_replicas(stage.cluster, 1)
    truth = stage.truth()
    server = stage.serve(
        "replica",
        GIS_DATABASE_REPLICAS=json.dumps([replica.url()]),
        GIS_REPLICAS__CHECK_INTERVAL_S=str(CHECK_S),
    )
    server.wait()
    calm = fixed_rate_reads(server.url, truth, rate=RATE, seconds=CALM_S, workers=WORKERS)
    with _reads(server.url, truth) as (log, stop):
        time.sleep(FAULT_AT)
        watch = LogWatch(server.log_path)
        status = replica.status()
        assert status.pid is not None
        killed = time.monotonic()
        kill_tree(status.pid)
        out_at = watch.wait("out of rotation", timeout=30)
        why = watch.line.partition("out of rotation: ")[2]
        time.sleep(1.0)  # down for a moment, reads on the primary
        watch = LogWatch(server.log_path)
        restart = time.monotonic()
        replica.up()
        up = time.monotonic()
        in_at = watch.wait(" in rotation", timeout=60)
        time.sleep(2.0)  # reads on the replica again, still checked
        stop.set()
    recovered, statuses = _after_fault(log, killed)
    _add_load(d, log, calm)
    d.add("their statuses", statuses, "")
    d.add(f"bound: reads in flight at the kill (<= {WORKERS} connections)", WORKERS, "")
    d.add("reads succeed again after the kill, s (last failure)", recovered, "")
    d.add(f"replica out of rotation after the kill, s (checks every {CHECK_S:g} s)", _since(out_at, killed), "")
    d.add("the service's reason", why or "none", "")
    d.add("replica restarted in, s (until it answers)", up - restart, "")
    d.add("back in rotation after the restart began, s", _since(in_at, restart), "")
    d.add("wrong answers", log.wrong, calm.wrong)
    if log.failed > WORKERS:
        d.failures.append(f"{log.failed} reads failed, more than the {WORKERS} in flight at the kill")
    if out_at is None or in_at is None:
        d.failures.append("the service did not say the replica left and came back to the rotation")
    stage.stop_server()
    replica.down()  # the next drills run on the primary alone
    return d


# ---- the topology: HAProxy, 2 processes, PgBouncer ---------------------------------------------------------
def _consecutive_free_ports(n: int) -> int:
    """The first of ``n`` consecutive free loopback ports (the service processes' ports follow one another)."""
    while True:
        first = free_port()
        if first + n < 65000 and all(port_is_free(first + i) for i in range(1, n)):
            return first


@contextmanager
def topology(stage: Stage, processes: int = 2) -> Iterator[LocalTopology]:
    """HAProxy, ``processes`` service processes and PgBouncer on the stage's database (its own run folder)."""
    run_dir = stage.tmp / "run"
    run_dir.mkdir(exist_ok=True)
    run_dir.chmod(0o755)  # PgBouncer runs as 'postgres' when the drills run as root
    settings = Settings(
        database_url=stage.url,
        server=ServerSettings(port=free_port()),
        topology=TopologySettings(
            first_port=_consecutive_free_ports(processes), pgbouncer_port=free_port(), run_dir=run_dir
        ),
    )
    env = {k: v for k, v in stage.env().items() if k.startswith("GIS_") and k != "GIS_DATABASE_URL"}
    env.pop("GIS_OGC_DIR", None)  # each process has its own (LocalTopology)
    with LocalTopology(settings, processes=processes, env=env) as t:
        yield t


def drill_service_kill(stage: Stage, t: LocalTopology, calm: ReadLog) -> Drill:
    """Kill -9 one of the two service processes under reads through HAProxy, then start it again."""
    from bench.drills import Drill

    d = Drill("service process killed (kill -9) under load")
    victim = t.services[0]
    name = f"app{t.services.index(victim) + 1}"
    with _reads(t.url, stage.truth()) as (log, stop):
        time.sleep(FAULT_AT)
        haproxy = LogWatch(t.haproxy.log)
        assert victim.pid is not None
        tree = process_tree(victim.pid)
        killed = time.monotonic()
        for pid in tree:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        victim.stop(signal.SIGKILL)  # reaps it: this program is its parent (kill_tree would wait on the zombie)
        down_at = haproxy.wait(f"{name} is DOWN", timeout=30)
        time.sleep(1.0)
        haproxy, served = LogWatch(t.haproxy.log), LogWatch(victim.log)
        started = time.monotonic()
        victim.start()
        up_at = haproxy.wait(f"{name} is UP")
        serves_at = served.wait('"GET /ogc/collections/zones/items', timeout=30)
        stop.set()
    recovered, statuses = _after_fault(log, killed)
    _add_load(d, log, calm)
    d.add("their statuses", statuses, "")
    d.add("no more failures after the kill, s (last failure)", recovered, "")
    d.add("HAProxy marks it down after the kill, s", _since(down_at, killed), "")
    d.add("started again: HAProxy marks it up, s", _since(up_at, started), "")
    d.add("started again: it answers reads, s", _since(serves_at, started), "")
    d.add("wrong answers", log.wrong, calm.wrong)
    if log.failed > WORKERS:
        d.failures.append(f"{log.failed} reads failed, more than the {WORKERS} in flight at the kill")
    if serves_at is None:
        d.failures.append("the restarted process answered no read")
    return d


def drill_pgbouncer_restart(stage: Stage, t: LocalTopology, calm: ReadLog) -> Drill:
    """Stop and start PgBouncer under reads through HAProxy: clear errors, no crash, recovery once it is back."""
    from bench.drills import Drill

    d = Drill("PgBouncer restarted under load")
    pids = [p.pid for p in t.services]
    with _reads(t.url, stage.truth()) as (log, stop):
        time.sleep(FAULT_AT)
        stopped = time.monotonic()
        t.pgbouncer.stop()
        time.sleep(PGBOUNCER_DOWN_S)
        t.pgbouncer.start()
        while port_is_free(t.pgbouncer.port) and time.monotonic() < stopped + 30:
            time.sleep(0.02)
        back = time.monotonic()
        time.sleep(max(4.0, CALM_S / 2))  # reads after it is back, checked
        stop.set()
    recovered, statuses = _after_fault(log, stopped)
    unclear = sum(1 for _t, status, shaped in log.failures if not (status >= 500 and shaped))
    alive = [p.pid for p in t.services] == pids and all(pids)
    _add_load(d, log, calm)
    d.add("their statuses", statuses, "")
    d.add("PgBouncer down (stopped to listening again), s", back - stopped, "")
    d.add("reads succeed again after the stop, s (last failure)", recovered, "")
    d.add("failures not a 5xx in the project's error shape", unclear, 0)
    d.add("service processes still the same (no crash)", "yes" if alive else "NO", "yes")
    d.add("wrong answers", log.wrong, calm.wrong)
    if unclear:
        d.failures.append(f"{unclear} failed reads were no 5xx in the error shape ({statuses})")
    if not alive:
        d.failures.append("a service process ended when PgBouncer restarted")
    if not any(log.started + sent > back for sent, _lat in log.latencies):
        d.failures.append("no read succeeded after PgBouncer came back")
    return d


def drills(stage: Stage) -> list[Drill]:
    """The three drills, the two of the topology sharing its processes and their load with no fault."""
    out = [drill_replica_kill(stage)]
    with topology(stage) as t:
        calm = fixed_rate_reads(t.url, stage.truth(), rate=RATE, seconds=CALM_S, workers=WORKERS)
        steps: list[Callable[[Stage, LocalTopology, ReadLog], Drill]] = [drill_service_kill, drill_pgbouncer_restart]
        for step in steps:
            out.append(step(stage, t, calm))
    return out
