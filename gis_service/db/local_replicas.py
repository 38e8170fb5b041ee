"""Streaming replicas of the project's own cluster (``planning db up --replicas N``), for the demo and the tests.

Each replica is a cluster of its own in a folder beside the primary's (``.data/postgres-replica-1``, ...), made by
``pg_basebackup -R`` from the running primary: it follows the primary's WAL over a replication connection and
answers read-only queries (hot standby). It keeps its own port in its ``connection.json``; user, password and
database are the primary's.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from typing import Any

import psycopg

from gis_service.db.local_cluster import DEFAULT_PORT, LocalCluster, _any_free_port, port_is_free
from gis_service.errors import LocalClusterError

__all__ = ["LocalReplica", "destroy_replicas", "replicas_of", "scale_replicas"]

_REPLICA_DIR = re.compile(r"-replica-(\d+)$")


class LocalReplica(LocalCluster):
    """Replica number ``number`` of ``primary``: created by a base backup of it, started and stopped like it."""

    def __init__(self, primary: LocalCluster, number: int) -> None:
        folder = primary.data_dir.parent / f"{primary.data_dir.name}-replica-{number}"
        super().__init__(folder, bin_dir=primary._bin_dir, database=primary.database, user=primary.user)
        self.primary = primary
        self.number = number

    def _init(self) -> None:
        """A base backup of the running primary, written with the settings that make it follow it (``-R``)."""
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise LocalClusterError(
                f"{self.pgdata} exists but is not a complete replica: move it away and run 'planning db up' again"
            )
        if self.primary.status().pid is None:
            raise LocalClusterError("the primary local database is not running: run 'planning db up' first")
        user = self._server_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        os.chmod(self.data_dir, 0o700)
        conn = self.primary._connection()
        os.environ.setdefault("PGCONNECT_TIMEOUT", "10")
        self._run(
            [
                str(self.bin_dir / "pg_basebackup"),
                "-d",
                f"host=127.0.0.1 port={conn['port']} user={conn['user']} password={conn['password']} "
                f"application_name=replica{self.number}",
                "-D",
                str(self.pgdata),
                "-R",  # standby.signal and primary_conninfo: the copy starts as a replica of the primary
                "-X",
                "stream",
                "--checkpoint=fast",  # no wait for the next scheduled checkpoint
            ],
            timeout=600,
        )
        taken = {conn["port"]} | {r.status().port for r in replicas_of(self.primary) if r.initialized}
        port = DEFAULT_PORT + self.number
        if port in taken or not port_is_free(port):
            port = _any_free_port()
        self._save_connection({**conn, "port": port})

    def _ensure_database(self) -> None:
        """Wait until the replica accepts read-only connections (it cannot create anything)."""
        c = self._connection()
        deadline = time.monotonic() + 60
        while True:
            try:
                with self._connect(c["database"]) as db:
                    db.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise LocalClusterError(f"the replica does not answer on port {c['port']}: {exc}") from None
                time.sleep(0.3)

    def describe(self) -> str:
        """One line for ``planning db status``: running or stopped, port, and how far behind it replays."""
        st = self.status()
        if not st.running:
            return f"replica {self.number}: stopped, data in {self.data_dir}"
        lag = self.replay_lag()
        behind = f", replays {lag} bytes behind" if lag is not None else ""
        return f"replica {self.number}: running (pid {st.pid}) on 127.0.0.1:{st.port}{behind}"

    def replay_lag(self) -> int | None:
        """Bytes of WAL the primary has written that this replica has not replayed yet (None: cannot tell)."""
        try:
            with self.primary._connect(self.database) as p, self._connect(self.database) as r:
                row = p.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                mine = r.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
        except psycopg.Error:
            return None
        if row is None or mine is None or mine[0] is None:
            return None
        return max(0, _lsn(row[0]) - _lsn(mine[0]))


def _lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def replicas_of(primary: LocalCluster) -> list[LocalReplica]:
    """The replicas created beside ``primary`` (running or not), by number."""
    parent = primary.data_dir.parent
    numbers = []
    if parent.is_dir():
        for folder in parent.glob(f"{primary.data_dir.name}-replica-*"):
            m = _REPLICA_DIR.search(folder.name)
            if m and folder.is_dir():
                numbers.append(int(m.group(1)))
    return [LocalReplica(primary, n) for n in sorted(numbers)]


def scale_replicas(primary: LocalCluster, count: int, *, progress: Any = None) -> list[LocalReplica]:
    """Make replicas 1..``count`` of the running ``primary`` exist and run; stop (keep) any numbered beyond."""
    say = progress or (lambda _msg: None)
    wanted = [LocalReplica(primary, n) for n in range(1, count + 1)]
    for replica in wanted:
        if not replica.initialized:
            say(f"creating replica {replica.number} in {replica.data_dir} (a base backup of the primary)")
        replica.up(progress=progress)
    for replica in replicas_of(primary):
        if replica.number > count and replica.down():
            say(f"replica {replica.number} stopped (data kept)")
    return wanted


def destroy_replicas(primary: LocalCluster) -> None:
    """Stop and delete every replica of ``primary`` (tests)."""
    for replica in replicas_of(primary):
        replica.down()
        shutil.rmtree(replica.data_dir, ignore_errors=True)
