"""Backups of the local cluster that restore: continuous WAL archiving and point-in-time recovery with pgBackRest.

The cluster always runs with ``archive_mode = on`` and an archive command that does nothing until a backup is
configured (:meth:`LocalCluster._archive_conf`). The first ``planning db backup`` writes pgBackRest's configuration
into the cluster's folder, creates the stanza (pgBackRest's name for one cluster's backups) in the repository
(``GIS_BACKUP__REPO``, by default ``backup`` beside the data) and takes a full backup; later ones are incremental
unless asked otherwise. From then on every finished WAL segment is archived, so ``planning db restore --to TIME``
can bring the database back to any moment after the first backup: it archives the last WAL, stops the cluster,
restores the newest backup before that moment and replays the archived WAL up to it, then promotes the cluster.

pgBackRest runs as the server's OS user (``postgres`` when run as root) and reaches the server through its Unix
socket (:attr:`LocalCluster.socket_dir`) with the cluster's password from a ``.pgpass`` file of its own.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from gis_service.db.local_cluster import BACKUP_STANZA, LocalCluster
from gis_service.errors import LocalClusterError

__all__ = ["BackupInfo", "backup", "backup_repo", "list_backups", "restore"]

#: pgBackRest's command (Debian package ``pgbackrest``).
PGBACKREST = "pgbackrest"
INSTALL_HINT = "install it with 'apt-get install pgbackrest' (./run.sh setup does it)"


@dataclass(frozen=True)
class BackupInfo:
    """One backup in the repository, as ``pgbackrest info`` tells it."""

    label: str
    kind: str  # full, diff or incr
    started: datetime
    stopped: datetime
    size_bytes: int
    repo_bytes: int

    def describe(self) -> str:
        """One line for people."""
        return (
            f"{self.kind} backup {self.label}: {self.stopped.astimezone().isoformat(timespec='seconds')}, "
            f"database {self.size_bytes / 1e6:.1f} MB, {self.repo_bytes / 1e6:.1f} MB stored"
        )


def backup_repo(cluster: LocalCluster, repo: Path | None) -> Path:
    """The repository folder: ``repo`` when set, else ``backup`` beside the cluster's data."""
    return Path(repo).absolute() if repo is not None else cluster.data_dir / "backup"


def _config_text(cluster: LocalCluster, repo: Path, retention_full: int) -> str:
    c = json.loads(cluster.connection_file.read_text())
    work = cluster.data_dir / "pgbackrest"
    return (
        "# Written by 'planning db backup' at each run: edit the settings (GIS_BACKUP__*), not this file.\n"
        "[global]\n"
        f"repo1-path={repo}\n"
        f"repo1-retention-full={retention_full}\n"
        f"log-path={work / 'log'}\nlock-path={work / 'lock'}\nspool-path={work / 'spool'}\n"
        # a checkpoint at once rather than a spread one: the backup starts now, not within checkpoint_timeout
        "start-fast=y\n"
        "compress-type=lz4\n"
        "log-level-console=warn\nlog-level-file=info\n"
        f"\n[{BACKUP_STANZA}]\n"
        f"pg1-path={cluster.pgdata}\n"
        f"pg1-port={c['port']}\n"
        f"pg1-user={c['user']}\n"
        f"pg1-database={c['database']}\n"
        f"pg1-socket-path={cluster.socket_dir}\n"
    )


def _write_private(cluster: LocalCluster, path: Path, text: str) -> None:
    """Write a file only the server's OS user reads (pgBackRest runs as that user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    cluster.hand_to_server_user(tmp)
    tmp.replace(path)


def _configure(cluster: LocalCluster, repo: Path, retention_full: int) -> None:
    """Write pgBackRest's configuration and password file, and make its folders, for the server's OS user."""
    for folder in (repo, cluster.data_dir / "pgbackrest"):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o750)
        cluster.hand_to_server_user(folder)
    c = json.loads(cluster.connection_file.read_text())
    _write_private(
        cluster, cluster.data_dir / "pgbackrest" / "pgpass", f"*:{c['port']}:*:{c['user']}:{c['password']}\n"
    )
    _write_private(cluster, cluster.backup_config, _config_text(cluster, repo, retention_full))


def _pgbackrest(cluster: LocalCluster, *args: str, timeout: float = 3600) -> str:
    """Run pgBackRest on the cluster's stanza as the server's OS user; its last error line becomes ours."""
    pgpass = cluster.data_dir / "pgbackrest" / "pgpass"
    cmd = ["env", f"PGPASSFILE={pgpass}", PGBACKREST, f"--config={cluster.backup_config}"]
    proc = cluster.run_as_server_user([*cmd, f"--stanza={BACKUP_STANZA}", *args], timeout=timeout)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "ERROR" in ln] or lines
        detail = errors[-1].split("ERROR:", 1)[-1].strip() if errors else f"exit status {proc.returncode}"
        raise LocalClusterError(
            f"pgbackrest {args[-1]} failed: {detail} (log: {cluster.data_dir / 'pgbackrest' / 'log'})"
        )
    return proc.stdout


def _check_installed() -> None:
    from shutil import which

    if which(PGBACKREST) is None:
        raise LocalClusterError(f"pgBackRest is not installed: {INSTALL_HINT}")


def _archiving(cluster: LocalCluster) -> bool:
    with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5) as c:
        row = c.execute("SHOW archive_mode").fetchone()
    return row is not None and row[0] == "on"


def list_backups(cluster: LocalCluster) -> list[BackupInfo]:
    """The backups in the repository, oldest first (none before the first ``backup``)."""
    if not cluster.backup_config.is_file():
        return []
    out = _pgbackrest(cluster, "--output=json", "info")
    stanzas: list[dict[str, Any]] = json.loads(out or "[]")
    backups = []
    for stanza in stanzas:
        for b in stanza.get("backup", []):
            backups.append(
                BackupInfo(
                    label=b["label"],
                    kind=b["type"],
                    started=datetime.fromtimestamp(b["timestamp"]["start"], UTC),
                    stopped=datetime.fromtimestamp(b["timestamp"]["stop"], UTC),
                    size_bytes=int(b["info"]["size"]),
                    repo_bytes=int(b["info"]["repository"]["delta"]),
                )
            )
    return backups


def backup(
    cluster: LocalCluster, *, repo: Path | None = None, retention_full: int = 2, full: bool = False
) -> BackupInfo:
    """Take a backup of the running local cluster: full the first time (or when asked), else incremental.

    The first call configures pgBackRest and creates the stanza; from then on the server archives its WAL into the
    repository, which is what makes a restore to any later moment possible.

    Raises
    ------
    LocalClusterError
        pgBackRest missing, the cluster not created or not running, or pgBackRest's own error.
    """
    _check_installed()
    status = cluster.status()
    if not status.running:
        raise LocalClusterError("the local database is not running: start it with 'planning db up', then back up")
    if not _archiving(cluster):
        raise LocalClusterError(
            "the local database was started before WAL archiving was configured: restart it "
            "('planning db down', then 'planning db up') and back up again"
        )
    first = not cluster.backup_config.is_file()
    _configure(cluster, backup_repo(cluster, repo), retention_full)
    if first or not list_backups(cluster):
        _pgbackrest(cluster, "stanza-create", timeout=300)
    before = {b.label for b in list_backups(cluster)}
    _pgbackrest(cluster, f"--type={'full' if full or not before else 'incr'}", "backup")
    new = [b for b in list_backups(cluster) if b.label not in before]
    if not new:
        raise LocalClusterError("pgbackrest backup reported success but the repository holds no new backup")
    return new[-1]


def _switch_and_archive_wal(cluster: LocalCluster, wait_s: float = 60) -> None:
    """Close the current WAL segment and wait until it is archived, so a restore sees the latest commits."""
    with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5) as c:
        row = c.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = row[0]
        deadline = time.monotonic() + wait_s
        while True:
            last = c.execute("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver").fetchone()
            if last is not None and last[0] is not None and last[0] >= segment:
                return
            if time.monotonic() > deadline:
                failed = last[1] if last else None
                raise LocalClusterError(
                    f"WAL segment {segment} was not archived within {wait_s:g} s (last failed: {failed}); see "
                    f"{cluster.log_file} and {cluster.data_dir / 'pgbackrest' / 'log'}"
                )
            time.sleep(0.2)


def parse_target_time(text: str) -> datetime:
    """The moment of ``--to``: an ISO date and time with its UTC offset.

    >>> parse_target_time("2026-12-06 20:31:05+07").isoformat()
    '2026-12-06T20:31:05+07:00'
    """
    raw = text.strip()
    if raw[-3:-2] in "+-" and raw[-3:].lstrip("+-").isdigit():  # '+07' -> '+07:00'
        raw += ":00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise LocalClusterError(
            f"--to {text!r} is not a date and time: write it as '2026-12-06 20:31:05+07' "
            "(ngày giờ kèm múi giờ / a date and time with its UTC offset)"
        ) from None
    if moment.tzinfo is None:
        raise LocalClusterError(
            f"--to {text!r} has no UTC offset: add it, e.g. '{text.strip()}+07' (giờ Việt Nam / Vietnam time)"
        )
    return moment


def restore(cluster: LocalCluster, moment: datetime, *, wait_s: float = 300) -> BackupInfo:
    """Bring the local cluster back to ``moment``: restore the newest backup before it and replay the WAL up to it.

    The running cluster first archives its last WAL (so that commits up to now can be replayed), then is stopped;
    the restore reuses the files that did not change (pgBackRest's delta). Once the server has replayed up to the
    moment it is promoted: it takes writes again, on a new timeline, and later backups go on from there.

    Returns
    -------
    BackupInfo
        The backup the restore started from.

    Raises
    ------
    LocalClusterError
        No backup taken yet, none before ``moment``, or the server could not reach ``moment``.
    """
    _check_installed()
    if moment.tzinfo is None:
        raise LocalClusterError("the moment to restore to needs its UTC offset")
    if not cluster.backup_config.is_file():
        raise LocalClusterError("no backup of the local database yet: take one with 'planning db backup' first")
    backups = list_backups(cluster)
    base = [b for b in backups if b.stopped <= moment]
    if not base:
        first = backups[0].stopped.astimezone().isoformat(timespec="seconds") if backups else "none"
        raise LocalClusterError(
            f"no backup ended before {moment.isoformat()}: the oldest one ended at {first}; choose a later moment"
        )
    if cluster.status().running:
        _switch_and_archive_wal(cluster)
        cluster.down()
    target = moment.isoformat(sep=" ")
    _pgbackrest(
        cluster,
        "--delta",
        "--type=time",
        f"--target={target}",
        "--target-action=promote",
        f"--set={base[-1].label}",
        "restore",
    )
    cluster.start()
    _wait_promoted(cluster, wait_s)
    cluster.up()  # checks the database as every start does
    return base[-1]


def _wait_promoted(cluster: LocalCluster, wait_s: float) -> None:
    """Wait until the restored server has replayed up to the target and left recovery."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5) as c:
                row = c.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise LocalClusterError(
                f"the restored database did not finish its recovery within {wait_s:g} s: see {cluster.log_file}"
            )
        time.sleep(0.3)
