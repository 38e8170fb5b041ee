"""The project's own PostgreSQL + PostGIS cluster, for the demo, development and tests.

Used when no ``GIS_DATABASE_URL`` is given. The cluster lives in a folder of the project (``.data/postgres`` by
default, git-ignored)::

    .data/postgres/
        pgdata/            the cluster (initdb), owned by the user the server runs as
        server.log         the server's log
        connection.json    port, user, password, database (mode 0600, owned by whoever provisioned)
        pgbackrest.conf    pgBackRest's configuration, once 'planning db backup' has run (gis_service.db.backup)
        pgbackrest/        its log, lock and password file
        backup/            its repository (backups and archived WAL) unless GIS_BACKUP__REPO puts it elsewhere

PostgreSQL refuses to run as root, so when this runs as root the server runs as the ``postgres`` system user
(created by Debian's ``postgresql`` package) through ``runuser``; as a normal user it runs as that user. The server
listens on 127.0.0.1, and on a Unix socket for pgBackRest alone (:attr:`LocalCluster.socket_dir`), and asks for a
password (scram-sha-256).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from gis_service.errors import LocalClusterError

__all__ = ["ClusterStatus", "LocalCluster", "port_is_free"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 55432
#: pgBackRest's name for the cluster (its "stanza"), in the archive command and the backup's configuration.
BACKUP_STANZA = "planning"
INSTALL_HINT = "install it with 'apt-get install postgresql-15 postgresql-15-postgis-3' (./run.sh setup does it)"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` and we may bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _any_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def find_server_bin_dir(explicit: Path | None = None) -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: ``explicit``, else the newest Debian PostgreSQL."""
    if explicit is not None:
        if not (explicit / "initdb").is_file():
            raise LocalClusterError(f"no PostgreSQL server programs (initdb) in {explicit}: fix GIS_LOCAL_DB__BIN_DIR")
        return explicit
    candidates = [p / "bin" for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin" / "initdb").is_file()]
    if candidates:
        return max(candidates, key=lambda p: float(p.parent.name) if p.parent.name.replace(".", "").isdigit() else 0)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise LocalClusterError(f"PostgreSQL server programs (initdb, pg_ctl) are not installed: {INSTALL_HINT}")


@dataclass(frozen=True)
class ClusterStatus:
    """What ``planning db status`` reports of the local cluster."""

    data_dir: Path
    initialized: bool
    running: bool
    port: int | None
    pid: int | None
    url: str | None

    def describe(self) -> str:
        """One line for people: created or not, running or stopped, port and folder."""
        if not self.initialized:
            return f"local database: not created yet (data directory {self.data_dir}); run 'planning db up'"
        state = f"running (pid {self.pid})" if self.running else "stopped"
        return f"local database: {state} on 127.0.0.1:{self.port}, data in {self.data_dir}"


class LocalCluster:
    """A PostgreSQL cluster with PostGIS in a folder of its own.

    Parameters
    ----------
    data_dir
        Folder of the cluster (created when missing).
    port
        TCP port to listen on. ``None``: keep the port chosen before, or take 55432 if free, else any free port.
    bin_dir
        Folder of ``initdb``/``pg_ctl``; ``None`` finds the newest installed PostgreSQL.
    database, user
        The database created for the project and the cluster's superuser, which the service connects as.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        bin_dir: Path | None = None,
        database: str = "planning",
        user: str = "planning",
    ) -> None:
        self.requested_dir = Path(data_dir).absolute()
        self._data_dir: Path | None = None
        self.requested_port = port
        self._bin_dir = bin_dir
        self.database = database
        self.user = user

    # ---- paths and stored connection details ------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """Where the cluster lives: the requested folder, unless the server's user cannot reach it.

        Run as root, the server runs as 'postgres', which cannot enter a folder inside e.g. a 0700 temporary
        directory or /root. Then the cluster lives in that user's home instead, in a folder named after the
        requested one (so every command finds it again), and ``planning db status`` says where.
        """
        if self._data_dir is None:
            self._data_dir = self.requested_dir
            if self._as_root() and not self._reachable_by_server_user(self.requested_dir):
                home = Path(self._server_user().pw_dir)
                digest = hashlib.sha256(str(self.requested_dir).encode()).hexdigest()[:12]
                self._data_dir = home / "planning-clusters" / f"{self.requested_dir.name}-{digest}"
                log.warning(
                    "the 'postgres' system user cannot reach %s: the local database lives in %s instead",
                    self.requested_dir,
                    self._data_dir,
                )
        return self._data_dir

    @staticmethod
    def _reachable_by_server_user(folder: Path) -> bool:
        existing = folder
        while not existing.exists():
            existing = existing.parent
        probe = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(existing)], capture_output=True, check=False
        )
        return probe.returncode == 0

    @property
    def pgdata(self) -> Path:
        """The cluster's data directory (initdb's ``-D``)."""
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.data_dir / "server.log"

    @property
    def connection_file(self) -> Path:
        """Port, user, password and database of the cluster, readable by its owner only."""
        return self.data_dir / "connection.json"

    @property
    def initialized(self) -> bool:
        """Whether the cluster has been created (``initdb`` run and connection details saved)."""
        return (self.pgdata / "PG_VERSION").is_file() and self.connection_file.is_file()

    def _connection(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.connection_file.read_text())
        except FileNotFoundError:
            raise LocalClusterError(
                f"the local database has not been created (no {self.connection_file}): run 'planning db up', "
                "or set GIS_DATABASE_URL to use another PostGIS"
            ) from None
        except (OSError, ValueError) as exc:
            raise LocalClusterError(f"cannot read {self.connection_file}: {exc}") from None
        return data

    def _save_connection(self, data: dict[str, Any]) -> None:
        tmp = self.connection_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        tmp.replace(self.connection_file)

    def url(self, database: str | None = None) -> str:
        """libpq connection URL (works with ``psql``); raises when the cluster was never created."""
        c = self._connection()
        return f"postgresql://{c['user']}:{c['password']}@127.0.0.1:{c['port']}/{database or c['database']}"

    # ---- OS user and programs ---------------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        """The folder of ``initdb`` and ``pg_ctl``, found on first use."""
        if self._bin_dir is None or not (self._bin_dir / "pg_ctl").is_file():
            self._bin_dir = find_server_bin_dir(self._bin_dir)
        return self._bin_dir

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _server_user(self) -> pwd.struct_passwd:
        if self._as_root():
            try:
                return pwd.getpwnam("postgres")
            except KeyError:
                raise LocalClusterError(
                    "running as root, the database server must run as the 'postgres' system user, which does not "
                    f"exist: {INSTALL_HINT}, or run as a normal user"
                ) from None
        return pwd.getpwuid(os.geteuid())

    def _run(
        self, args: Sequence[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program as the server's OS user."""
        cmd = list(args)
        if self._as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(
            cmd,
            cwd=self.data_dir if self.data_dir.is_dir() else "/",
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            check=False,
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise LocalClusterError(f"{Path(args[0]).name} failed: {detail[-1] if detail else proc.returncode}")
        return proc

    def server_major_version(self) -> str:
        """Major version of the server programs, e.g. ``"15"`` (from ``initdb --version``)."""
        out = subprocess.run([str(self.bin_dir / "initdb"), "--version"], capture_output=True, text=True, check=False)
        m = re.search(r"\(PostgreSQL\) (\d+)", out.stdout)
        if not m:
            raise LocalClusterError(f"cannot tell the PostgreSQL version of {self.bin_dir}: {out.stderr.strip()}")
        return m.group(1)

    def _check_postgis_installed(self) -> None:
        major = self.server_major_version()
        share = Path("/usr/share/postgresql") / major  # Debian's layout
        pg_config = self.bin_dir / "pg_config"
        if pg_config.is_file():
            out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, check=False)
            if out.returncode == 0 and out.stdout.strip():
                share = Path(out.stdout.strip())
        if not (share / "extension" / "postgis.control").is_file():
            raise LocalClusterError(
                f"PostGIS is not installed for PostgreSQL {major}: install it with "
                f"'apt-get install postgresql-{major}-postgis-3' (./run.sh setup does it), "
                "then run 'planning db up' again"
            )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with open(lock_path, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # ---- state ------------------------------------------------------------------------------------
    def _pid(self) -> int | None:
        """PID of the running postmaster of this cluster, or None."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        # A pid file left by a crash or a reboot may name a process that is not ours (or none).
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"postgres" in cmdline and str(self.pgdata).encode() in cmdline else None

    def status(self) -> ClusterStatus:
        """Whether the cluster exists and runs, with its port, pid and URL."""
        initialized = self.initialized
        pid = self._pid() if initialized else None
        port = self._connection()["port"] if initialized else None
        return ClusterStatus(
            data_dir=self.data_dir,
            initialized=initialized,
            running=pid is not None,
            port=port,
            pid=pid,
            url=self.url() if initialized else None,
        )

    # ---- provisioning -----------------------------------------------------------------------------
    def up(self, *, progress: Any = None) -> ClusterStatus:
        """Create the cluster if needed, start it if stopped, ensure the database and PostGIS exist.

        Harmless to call again: an initialized, running cluster is only checked.
        """
        say = progress or (lambda _msg: None)
        with self._lock():
            self._check_postgis_installed()
            if self.requested_port is not None and self._pid() is None and not port_is_free(self.requested_port):
                raise self._port_taken(self.requested_port)
            if not self.initialized:
                say(f"creating a PostgreSQL cluster in {self.data_dir}")
                self._init()
            conn = self._connection()
            port = self._choose_port_on_start(conn)
            if self._pid() is None:
                say(f"starting PostgreSQL on 127.0.0.1:{port}")
                self._start(port)
            self._ensure_database()
        return self.status()

    def _init(self) -> None:
        user = self._server_user()
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise LocalClusterError(
                f"{self.pgdata} exists but is not a complete cluster (no connection.json or PG_VERSION): move it away "
                "and run 'planning db up' again"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
            probe = self._run(["test", "-w", str(self.data_dir)], check=False)
            if probe.returncode != 0:
                raise LocalClusterError(
                    f"the 'postgres' system user cannot write {self.data_dir} (a parent folder is closed to it): "
                    "set GIS_LOCAL_DB__DATA_DIR to a folder it can reach, e.g. /var/tmp/planning-db"
                )
        os.chmod(self.data_dir, 0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.data_dir / ".initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        if self._as_root():
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                timeout=300,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a") as f:
            f.write(
                "\n# Settings of the planning service, rewritten at each start\ninclude_if_exists = 'planning.conf'\n"
            )
        port = self.requested_port or (DEFAULT_PORT if port_is_free(DEFAULT_PORT) else _any_free_port())
        self._save_connection(
            {"port": port, "user": self.user, "password": password, "database": self.database, "os_user": user.pw_name}
        )

    def _choose_port_on_start(self, conn: dict[str, Any]) -> int:
        port: int = conn["port"]
        if self.requested_port is not None and self.requested_port != port:
            if self._pid() is not None:
                raise LocalClusterError(
                    f"the local database is running on port {port}; stop it ('planning db down') before moving it to "
                    f"port {self.requested_port}"
                )
            conn["port"] = port = self.requested_port
            self._save_connection(conn)
        return port

    def _start(self, port: int) -> None:
        if not port_is_free(port):
            raise self._port_taken(port)
        conf = (
            f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{self.socket_dir}'\n"
            "max_connections = 200\nshared_buffers = 256MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
            # Room for bulk loads, so that no checkpoint falls in the middle of a large import (PostgreSQL's
            # "Populating a Database" advises it; figures in docs/decisions.md). WAL is recycled down to min_wal_size.
            "max_wal_size = 4GB\ncheckpoint_timeout = 15min\nwal_buffers = 64MB\n"
            "logging_collector = off\nlog_min_messages = warning\n"
        ) + self._archive_conf()
        if not self.socket_dir.is_dir():
            self.socket_dir.mkdir(mode=0o700)
            self.hand_to_server_user(self.socket_dir)
        conf_path = self.pgdata / "planning.conf"
        conf_path.write_text(conf)
        if self._as_root():
            user = self._server_user()
            os.chown(conf_path, user.pw_uid, user.pw_gid)
        proc = self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60", "start"],
            check=False,
        )
        if proc.returncode != 0:
            raise LocalClusterError(f"PostgreSQL did not start: {self._last_log_error()} (log: {self.log_file})")

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's Unix socket, which pgBackRest needs (it reaches the server by no other way).

        A socket's path is limited to 107 bytes: the cluster's folder when it is short enough, else a folder of
        the system's temporary directory named after it.
        """
        if len(str(self.data_dir)) + len("/.s.PGSQL.65535") < 100:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"planning-pg-{digest}"

    def start(self) -> None:
        """Start the stopped server, nothing more (a restore starts it so to replay WAL; ``up`` does the rest)."""
        with self._lock():
            if self._pid() is None:
                self._start(self._connection()["port"])

    def hand_to_server_user(self, path: Path) -> None:
        """Make ``path`` the server's OS user's (``postgres`` when run as root), e.g. a file pgBackRest reads."""
        if self._as_root():
            user = self._server_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    def run_as_server_user(self, args: Sequence[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a program as the server's OS user, in the cluster's folder; the caller reads its exit status."""
        return self._run(args, check=False, timeout=timeout)

    @property
    def backup_config(self) -> Path:
        """pgBackRest's configuration of this cluster, written by ``planning db backup`` (:mod:`.backup`)."""
        return self.data_dir / "pgbackrest.conf"

    def _archive_conf(self) -> str:
        """WAL archiving through pgBackRest, a no-op until ``planning db backup`` has written its configuration.

        archive_mode needs a restart to change, so it is always on; until a backup is configured the command only
        says "archived" and PostgreSQL recycles the segment as it would without archiving.
        """
        conf = shlex.quote(str(self.backup_config))
        command = f"test ! -f {conf} || pgbackrest --config={conf} --stanza={BACKUP_STANZA} archive-push %p"
        return "archive_mode = on\narchive_command = '" + command.replace("'", "''") + "'\n"

    @staticmethod
    def _port_taken(port: int) -> LocalClusterError:
        return LocalClusterError(
            f"port {port} on 127.0.0.1 is already taken by another program: stop that program, or start the local "
            "database on another port with GIS_LOCAL_DB__PORT=<free port> planning db up"
        )

    def _last_log_error(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "no log written"
        for line in reversed(lines):
            if re.search(r"FATAL|ERROR|PANIC", line):
                return line.split(":  ", 1)[-1].strip()
        return lines[-1].strip() if lines else "no log written"

    def _connect(self, dbname: str) -> psycopg.Connection[Any]:
        """An autocommit connection to a database of this (running) cluster, as its superuser."""
        c = self._connection()
        return psycopg.connect(
            host="127.0.0.1",
            port=c["port"],
            user=c["user"],
            password=c["password"],
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def _ensure_database(self) -> None:
        c = self._connection()
        deadline = time.monotonic() + 30
        while True:
            try:
                with self._connect("postgres") as admin:
                    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [c["database"]]).fetchone()
                    if not exists:
                        admin.execute(f'CREATE DATABASE "{c["database"]}"')  # name from our own settings
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise LocalClusterError(f"the local database does not answer on port {c['port']}: {exc}") from None
                time.sleep(0.3)
        self.create_database(c["database"], exist_ok=True)

    def create_database(self, name: str, *, exist_ok: bool = False) -> str:
        """Create a database with PostGIS in this (running) cluster and return its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise LocalClusterError(f"invalid database name {name!r}: use lower-case letters, digits and _")
        with self._connect("postgres") as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not exist_ok:
                raise LocalClusterError(f"database {name} already exists")
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
        with self._connect(name) as db:
            try:
                db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                raise LocalClusterError(f"cannot enable PostGIS in database {name}: {exc}; {INSTALL_HINT}") from None
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` of this (running) cluster if it exists, closing its connections."""
        with self._connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def down(self) -> bool:
        """Stop the server (data kept). Returns False when it was not running."""
        with self._lock():
            if not self.initialized or self._pid() is None:
                return False
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
            return True

    def destroy(self) -> None:
        """Stop the server and delete the cluster with all its data (tests only)."""
        self.down()
        if self.socket_dir != self.data_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
