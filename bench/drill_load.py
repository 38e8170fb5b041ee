"""The loads of the fault drills (:mod:`bench.drills`): a planner's stream of acknowledged edits, reads at a fixed
rate, and the processes they run against (a throwaway cluster, ``planning serve``), all on loopback.

Every answer is checked, not only its status: an edit's answer must carry the value sent, a read the value the
database holds. What a client saw is kept in a log (acknowledged edits with the reason each carried), so that what
the database holds afterwards can be compared with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from gis_service.auth import create_user, issue_token
from gis_service.db import create_db_engine

__all__ = [
    "EditLog",
    "ReadLog",
    "Seeded",
    "Server",
    "edit_stream",
    "fixed_rate_reads",
    "process_tree",
    "rss_kib",
    "seed",
]

PLAN_SQL = """
INSERT INTO planning.plans (code, name, level, status, decision_no, decision_date)
VALUES (:code, :name, 'zoning', :status, CAST(:decision AS text),
        CASE WHEN CAST(:decision AS text) IS NULL THEN NULL ELSE DATE '2026-01-01' END)
RETURNING id
"""
ZONES_SQL = """
INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_floors, geom)
SELECT :plan, :prefix || i, 'ODT', 3 + i % 7,
       ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:x + (i % 20) * 70.0, 1818000 + (i / 20) * 70.0), 9214), 30, 5))
FROM generate_series(0, :n - 1) i
"""
#: Edits write max_floors from 1 to this and round again (the column's CHECK allows any non-negative number).
FLOORS_CYCLE = 40


@dataclass(frozen=True)
class Seeded:
    """The drills' data: a draft the planner edits, an approved plan the public reads, the planner's token."""

    draft_ids: list[int]
    approved_ids: list[int]
    token: str


def seed(url: str, zones: int) -> Seeded:
    """A draft plan and an approved plan of ``zones`` zones each, and a planner's bearer token, at ``url``."""
    engine = create_db_engine(url, pool_size=1)
    ids: dict[str, list[int]] = {}
    try:
        with engine.begin() as c:
            for status, code, decision, x in (
                ("draft", "46QPK0000022", None, 558000),
                ("approved", "46QPK0000023", "22/QĐ-UBND", 560000),
            ):
                plan = c.execute(
                    sa.text(PLAN_SQL),
                    {"code": code, "name": f"Drills ({status})", "status": status, "decision": decision},
                ).scalar_one()
                c.execute(sa.text(ZONES_SQL), {"plan": plan, "n": zones, "prefix": status[0].upper(), "x": x})
                rows = c.execute(sa.text("SELECT id FROM planning.zones WHERE plan_id = :p ORDER BY id"), {"p": plan})
                ids[status] = [int(i) for i in rows.scalars()]
            user = create_user(c, "drill.planner", "planner", "drill password")
            token = issue_token(c, user, ttl_s=24 * 3600).access_token
    finally:
        engine.dispose()
    return Seeded(ids["draft"], ids["approved"], token)


# ---- processes ---------------------------------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc), parents first."""
    out = [pid]
    for p in out:
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out.extend(int(c) for c in children)
    return out


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def kill_tree(pid: int, *, wait_s: float = 30) -> int:
    """SIGKILL a process and all its descendants at once (a crash of the machine, as the processes see it), and
    wait until they are gone (a new postmaster refuses to start while the old one's pid is still alive)."""
    pids = process_tree(pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(pids)


def _alive(pid: int) -> bool:
    """Whether a process still exists, a zombie not yet reaped included (PostgreSQL's own test, kill(pid, 0))."""
    return Path(f"/proc/{pid}").exists()


class Server:
    """``planning serve`` on a free loopback port, its log in ``tmp``; :meth:`wait` for its first answer."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str, extra_args: tuple[str, ...] = ()) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"serve-{name}.log"
        planning = str(Path(sys.executable).with_name("planning"))
        self.started = time.monotonic()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [planning, "serve", "--host", "127.0.0.1", "--port", str(self.port), *extra_args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait(self, *, status: int | None = 200, seconds: float = 90) -> tuple[float, httpx.Response]:
        """Seconds from the start to the first ``/healthz`` answer (of ``status``, or any when None)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                r = httpx.get(f"{self.url}/healthz", timeout=5)
                if status is None or r.status_code == status:
                    return time.monotonic() - self.started, r
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"planning serve exited ({self.process.returncode}): {self.output()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"planning serve gave no /healthz {status or ''} in {seconds:g} s")
            time.sleep(0.1)

    def output(self) -> str:
        """What the server logged."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---- the planner's edits -----------------------------------------------------------------------------------
@dataclass
class EditLog:
    """What one client of the edit stream saw."""

    acked: list[tuple[int, str, int]] = field(default_factory=list)  # (zone id, reason, max_floors) answered 200
    failed: int = 0  # requests with no answer or an error answer (5xx, 503)
    conflicts: int = 0  # 412: the ETag was stale after an edit whose answer was lost
    wrong: int = 0  # a 200 whose body does not carry the value sent
    ack_times: list[float] = field(default_factory=list)

    def merge(self, other: EditLog) -> None:
        """Add another client's log to this one."""
        self.acked += other.acked
        self.failed += other.failed
        self.conflicts += other.conflicts
        self.wrong += other.wrong
        self.ack_times += other.ack_times

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without an acknowledged edit between ``start`` and ``end``."""
        times = sorted([start, *self.ack_times, end])
        return max(b - a for a, b in itertools.pairwise(times))


def edit_stream(base: str, token: str, ids: list[int], stop: threading.Event, client: str, log: EditLog) -> None:
    """PATCH max_floors of ``ids`` in turn, as a planner, until ``stop``; each edit's reason names it uniquely, and
    its value differs from the zone's last one (an edit that changes nothing leaves no history entry)."""
    auth = {"Authorization": f"Bearer {token}"}
    tags: dict[int, str | None] = dict.fromkeys(ids)
    last: dict[int, int] = {}
    seq = 0
    with httpx.Client(base_url=base, timeout=5) as http:
        while not stop.is_set():
            fid = ids[seq % len(ids)]
            seq += 1
            try:
                if tags[fid] is None:  # first edit, or the answer of the last one was lost: read the current row
                    r = http.get(f"/ogc/collections/zones/items/{fid}", headers=auth)
                    if r.status_code != 200:
                        log.failed += 1
                        time.sleep(0.05)
                        continue
                    tags[fid] = r.headers["etag"]
                    last[fid] = int(r.json()["properties"]["max_floors"])
                value = last[fid] % FLOORS_CYCLE + 1
                reason = f"drill {client} e{seq}"
                r = http.patch(
                    f"/ogc/collections/zones/items/{fid}",
                    headers={**auth, "If-Match": str(tags[fid]), "X-Change-Reason": reason},
                    json={"properties": {"max_floors": value}},
                )
            except httpx.TransportError:
                log.failed += 1
                tags[fid] = None
                time.sleep(0.05)
                continue
            if r.status_code == 200:
                log.acked.append((fid, reason, value))
                log.ack_times.append(time.monotonic())
                tags[fid] = r.headers["etag"]
                last[fid] = value
                if r.json().get("properties", {}).get("max_floors") != value:
                    log.wrong += 1
            elif r.status_code == 412:
                log.conflicts += 1
                tags[fid] = None
            else:
                log.failed += 1
                tags[fid] = None
                time.sleep(0.05)


def run_edits(
    base: str,
    token: str,
    ids: list[int],
    *,
    run: str,
    clients: int,
    seconds: float,
    fault: Callable[[], None] | None = None,
    fault_at: float = 0.0,
) -> tuple[EditLog, float]:
    """``clients`` edit streams for ``seconds``; ``fault`` runs ``fault_at`` seconds in. Returns the merged log and
    the time the load started (monotonic)."""
    stop = threading.Event()
    logs = [EditLog() for _ in range(clients)]
    threads = [
        threading.Thread(target=edit_stream, args=(base, token, ids[k::clients], stop, f"{run} c{k}", logs[k]))
        for k in range(clients)
    ]
    start = time.monotonic()
    for t in threads:
        t.start()
    try:
        if fault is not None:
            time.sleep(fault_at)
            fault()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
    finally:  # a fault that fails must not leave the clients running
        stop.set()
        for t in threads:
            t.join()
    merged = EditLog()
    for log in logs:
        merged.merge(log)
    return merged, start


# ---- reads at a fixed rate ---------------------------------------------------------------------------------
@dataclass
class ReadLog:
    """Latencies of the reads (seconds, by the second of the run they were sent in), failures and wrong answers."""

    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds from start; latency)
    failed: int = 0
    wrong: int = 0
    late: int = 0  # requests sent over 1 s after their turn (the client could not keep the rate)
    # each failed read: (when it ended, monotonic; its status, 0 for no answer; whether its body is the project's
    # error shape, {"code", "description"})
    failures: list[tuple[float, int, bool]] = field(default_factory=list)
    sent: int = 0
    started: float = 0.0  # when the load started (monotonic)

    def record(self, sent: float, status: int, ok: bool, *, late: bool) -> None:
        """One read sent at ``sent`` (monotonic); ``ok``: its answer right (a 200) or in the error shape (else)."""
        now = time.monotonic()
        self.sent += 1
        self.late += late
        if status == 200:
            self.wrong += not ok
            self.latencies.append((sent - self.started, now - sent))
        else:
            self.failed += 1
            self.failures.append((now, status, ok))

    def p99(self, start: float, end: float) -> float:
        """99th percentile of the latencies of reads sent between ``start`` and ``end`` (seconds into the run)."""
        window = sorted(lat for t, lat in self.latencies if start <= t < end)
        if not window:
            return float("nan")
        return window[min(len(window) - 1, int(0.99 * len(window)))]


def _read_once(http: httpx.Client, i: int, truth: dict[int, int], ids: list[int]) -> tuple[int, bool]:
    """The ``i``-th read of the load: one zone (its max_floors checked) or, one in four, a page of five; for an
    error answer, whether it is in the project's error shape."""
    if i % 4 == 3:
        r = http.get("/ogc/collections/zones/items", params={"limit": 5})
        if r.status_code != 200:
            return r.status_code, _problem_shaped(r)
        return r.status_code, r.json().get("numberReturned") == min(5, len(ids))
    fid = ids[i % len(ids)]
    r = http.get(f"/ogc/collections/zones/items/{fid}")
    if r.status_code != 200:
        return r.status_code, _problem_shaped(r)
    return r.status_code, r.json()["properties"].get("max_floors") == truth[fid]


def _problem_shaped(r: httpx.Response) -> bool:
    """Whether an error answer is the project's ``{"code", "description"}`` (not a balancer's page, not a trace)."""
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "description"} <= body.keys()


def fixed_rate_reads(
    base: str,
    truth: dict[int, int],
    *,
    rate: float,
    seconds: float,
    workers: int = 8,
    on_tick: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> ReadLog:
    """Anonymous reads of an approved plan's zones at ``rate`` per second for ``seconds`` (open loop: each request
    has its turn, whatever the answers before it), each answer checked against ``truth`` (zone id -> max_floors,
    the only zones the public sees); ``on_tick`` runs about once a second (e.g. to sample memory); ``stop`` ends the
    load early (a drill's load that lasts until its fault has played out)."""
    log = ReadLog()
    lock = threading.Lock()
    ids = sorted(truth)
    start = log.started = time.monotonic()
    counter = iter(range(int(rate * seconds)))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while (i := next(counter, None)) is not None:  # next() on a range iterator is atomic under the GIL
                if stop is not None and stop.is_set():
                    break
                wait = start + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                sent = time.monotonic()
                try:
                    status, ok = _read_once(http, i, truth, ids)
                except httpx.TransportError:
                    status, ok = 0, False
                with lock:
                    log.record(sent, status, ok, late=wait < -1)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if on_tick is not None:
            on_tick()
        for t in threads:
            t.join(timeout=1.0 / len(threads))
    return log


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")
