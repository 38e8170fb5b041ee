"""Several service processes behind HAProxy, with PgBouncer in front of PostgreSQL, on one machine.

``planning serve --processes N`` (and the drills, through :class:`LocalTopology`) runs::

    clients -> HAProxy (GIS_SERVER__HOST:PORT) -> N x 'planning serve' (127.0.0.1, first_port ...)
                                                      -> PgBouncer (transaction pooling) -> primary, replicas
                                                      -> primary directly: the job runner's advisory locks

The configuration files are rendered from the templates of ``deploy/`` into ``GIS_TOPOLOGY__RUN_DIR``, with the
processes' logs; the compose file renders the same templates with the same functions (``planning topology
render``). Each process is a :class:`ManagedProcess`: its pid and port are known, it can be killed and started
again (the drills do).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

from gis_service.db import resolve_database_url, resolve_replica_urls
from gis_service.db.local_cluster import port_is_free
from gis_service.errors import ConfigError
from gis_service.settings import Settings, project_root

__all__ = [
    "LocalTopology",
    "ManagedProcess",
    "PooledDatabase",
    "pooled_databases",
    "render_haproxy",
    "render_pgbouncer",
    "template",
]

Progress = Callable[[str], None]


def template(name: str) -> Template:
    """A template of ``deploy/`` (``haproxy.cfg.template``, ``pgbouncer.ini.template``)."""
    path = project_root() / "deploy" / name
    try:
        return Template(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the template {path}: {exc}") from None


@dataclass(frozen=True)
class PooledDatabase:
    """A database as PgBouncer serves it: its name there, and the server behind it."""

    alias: str  # the database name clients use at PgBouncer
    host: str
    port: int
    dbname: str
    user: str
    password: str

    def url_through(self, host: str, port: int) -> str:
        """The URL of this database through PgBouncer at ``host:port``."""
        return f"postgresql://{quote(self.user)}:{quote(self.password, safe='')}@{host}:{port}/{self.alias}"


def pooled_databases(primary_url: str, replica_urls: list[str]) -> list[PooledDatabase]:
    """The primary as ``planning`` and each replica as ``planning_replica<i>``, from their direct URLs."""
    out = []
    for i, url in enumerate([primary_url, *replica_urls]):
        u = make_url(url)
        if not (u.host and u.username and u.database):
            raise ConfigError(f"a database URL for PgBouncer needs host, user and database: {u!r}")
        out.append(
            PooledDatabase(
                alias="planning" if i == 0 else f"planning_replica{i}",
                host=u.host,
                port=u.port or 5432,
                dbname=u.database,
                user=u.username,
                password=u.password or "",
            )
        )
    return out


def render_pgbouncer(
    databases: list[PooledDatabase],
    *,
    listen_addr: str,
    listen_port: int,
    auth_file: Path,
    pool_size: int,
    statement_timeout_ms: int,
    pidfile: str = "",
) -> tuple[str, str]:
    """``pgbouncer.ini`` and its ``auth_file`` (the users' passwords: keep it 0600)."""
    timeout = f" connect_query='SET statement_timeout = {int(statement_timeout_ms)}'" if statement_timeout_ms else ""
    lines = [f"{d.alias} = host={d.host} port={d.port} dbname={d.dbname}{timeout}" for d in databases]
    users = {d.user: d.password for d in databases}
    ini = template("pgbouncer.ini.template").substitute(
        databases="\n".join(lines),
        listen_addr=listen_addr,
        listen_port=listen_port,
        auth_file=auth_file,
        pool_size=pool_size,
        pidfile=pidfile,
        admin_user=databases[0].user,
    )
    userlist = "".join(f'"{u}" "{p.replace(chr(34), chr(34) * 2)}"\n' for u, p in users.items())
    return ini, userlist


def render_haproxy(
    *, bind: str, servers: list[str] | None = None, dns_service: str | None = None, max_servers: int = 8
) -> str:
    """``haproxy.cfg``: ``servers`` as ``host:port`` (local), or ``dns_service`` (``app:8000``) found by DNS."""
    if dns_service:
        body = (
            "    # the compose service's containers, found through Docker's DNS\n"
            f"    server-template app 1-{max_servers} {dns_service} check resolvers docker init-addr none\n"
        )
        resolvers = "\nresolvers docker\n    nameserver dns 127.0.0.11:53\n    hold valid 5s\n"
    else:
        body = "".join(f"    server app{i} {s}\n" for i, s in enumerate(servers or [], 1))
        resolvers = ""
    return template("haproxy.cfg.template").substitute(bind=bind, servers=body.rstrip("\n")) + resolvers


@dataclass
class ManagedProcess:
    """A process of the topology: how to start it, its port, and the running one."""

    name: str
    cmd: list[str]
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id (None: not started, or ended)."""
        return self.popen.pid if self.popen is not None and self.popen.poll() is None else None

    def start(self) -> None:
        """Start it (again), appending to its log."""
        if self.pid is not None:
            return
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                self.cmd, env=self.env or None, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Ask it to end (``sig``), then kill it after ``timeout`` seconds."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


def _planning_command() -> list[str]:
    script = Path(sys.executable).with_name("planning")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from gis_service.cli import main; main()"]


def _wait_until(check: Callable[[], bool], what: str, timeout: float, proc: ManagedProcess) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.popen is not None and proc.popen.poll() is not None:
            tail = proc.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise ConfigError(f"{proc.name} ended at start ({' / '.join(tail)}); its log: {proc.log}")
        if time.monotonic() > deadline:
            raise ConfigError(f"{what} did not come up within {timeout:.0f} s; log: {proc.log}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def _listens(port: int) -> bool:
    return not port_is_free(port)


class LocalTopology:
    """HAProxy, N service processes and PgBouncer, all on this machine, from ``settings``.

    Parameters
    ----------
    settings
        The database (``GIS_DATABASE_URL`` or the local cluster, and its replicas), ``topology`` and ``server``.
    processes
        Service processes; default ``settings.topology.processes``.
    progress
        Called with a line for people at each step.
    env
        More environment for the service processes (which read their settings from it, as ``planning serve``).

    Use ``with LocalTopology(settings) as t:``; ``t.url`` is HAProxy's address, ``t.services``, ``t.pgbouncer``
    and ``t.haproxy`` the processes (pid, port, log, stop and start again).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        processes: int | None = None,
        progress: Progress | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.extra_env = env or {}
        self.count = processes or settings.topology.processes
        self.say = progress or (lambda _m: None)
        self.run_dir = settings.topology.run_dir.absolute()
        self.primary_url = resolve_database_url(settings)
        self.replica_urls = resolve_replica_urls(settings)
        self.databases = pooled_databases(self.primary_url, self.replica_urls)
        host = "127.0.0.1" if settings.server.host in ("0.0.0.0", "", "::") else settings.server.host
        self.url = f"http://{host}:{settings.server.port}"
        t = settings.topology
        ports = [t.first_port + i for i in range(self.count)]
        self.pgbouncer = ManagedProcess(
            "pgbouncer", self._pgbouncer_cmd(), t.pgbouncer_port, self.run_dir / "pgbouncer.log"
        )
        self.services = [
            ManagedProcess(
                f"service{i}",
                [*_planning_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                port,
                self.run_dir / f"service{i}.log",
                # each its own pygeoapi configuration folder: no two processes write one file at once
                env=self.service_env() | {"GIS_OGC_DIR": str(self.run_dir / f"ogc-service{i}")},
            )
            for i, port in enumerate(ports, 1)
        ]
        self.haproxy = ManagedProcess(
            "haproxy",
            [self._program("haproxy"), "-db", "-f", str(self.run_dir / "haproxy.cfg")],
            settings.server.port,
            self.run_dir / "haproxy.log",
        )

    # ---- configuration ----------------------------------------------------------------------------------------
    @staticmethod
    def _program(name: str) -> str:
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").is_file() else None)
        if found is None:
            raise ConfigError(f"{name} is not installed: apt-get install {name} (./run.sh setup does it)")
        return found

    def _pgbouncer_cmd(self) -> list[str]:
        cmd = [self._program("pgbouncer")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            cmd += ["-u", "postgres"]
        return [*cmd, str(self.run_dir / "pgbouncer.ini")]

    def service_env(self) -> dict[str, str]:
        """The environment of a service process: the database through PgBouncer, the balancer as trusted proxy."""
        t = self.settings.topology
        primary, *replicas = (d.url_through("127.0.0.1", t.pgbouncer_port) for d in self.databases)
        base = {k: v for k, v in os.environ.items() if not k.startswith("GIS_DATABASE")}
        topology_env = {
            "GIS_DATABASE_URL": primary,
            "GIS_DATABASE_REPLICAS": json.dumps(replicas),
            "GIS_DATABASE_SESSION_URL": self.primary_url,  # the job runner's session locks: not through PgBouncer
            "GIS_DB_PREPARED_STATEMENTS": "false",
            "GIS_SERVER__TRUSTED_PROXIES": '["127.0.0.1"]',
            "GIS_PUBLIC_URL": self.settings.public_url or self.url,
            "PYTHONUNBUFFERED": "1",  # each line in the process's log as it happens
        }
        return base | topology_env | self.extra_env

    def write_config(self) -> None:
        """Render ``haproxy.cfg``, ``pgbouncer.ini`` and its user list into the run folder."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        s, t = self.settings, self.settings.topology
        auth_file = self.run_dir / "pgbouncer-users.txt"
        ini, users = render_pgbouncer(
            self.databases,
            listen_addr="127.0.0.1",
            listen_port=t.pgbouncer_port,
            auth_file=auth_file,
            pool_size=t.pgbouncer_pool_size,
            statement_timeout_ms=s.statement_timeout_ms,
            pidfile=str(self.run_dir / "pgbouncer.pid"),
        )
        fd = os.open(auth_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(users)
        (self.run_dir / "pgbouncer.ini").write_text(ini)
        bind = f"{s.server.host}:{s.server.port}"
        (self.run_dir / "haproxy.cfg").write_text(
            render_haproxy(bind=bind, servers=[f"127.0.0.1:{p.port}" for p in self.services])
        )
        if os.geteuid() == 0:  # PgBouncer runs as 'postgres': its files and log must be its own
            user = pwd.getpwnam("postgres")
            for path in (self.run_dir, auth_file, self.run_dir / "pgbouncer.ini"):
                os.chown(path, user.pw_uid, user.pw_gid)
        check = subprocess.run(
            [self._program("haproxy"), "-c", "-q", "-f", str(self.run_dir / "haproxy.cfg")],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise ConfigError(f"the generated haproxy.cfg is refused: {check.stdout.strip()} {check.stderr.strip()}")

    # ---- processes ----------------------------------------------------------------------------------------------
    @property
    def processes(self) -> list[ManagedProcess]:
        """Every process of the topology, PgBouncer first."""
        return [self.pgbouncer, *self.services, self.haproxy]

    def start(self) -> LocalTopology:
        """Write the configuration, start PgBouncer, the services (waiting for their /healthz), then HAProxy."""
        for p in self.processes:
            if not port_is_free(p.port, "127.0.0.1"):
                raise ConfigError(f"port {p.port} (for {p.name}) is already taken: choose others (GIS_TOPOLOGY__*)")
        self.write_config()
        try:
            self.pgbouncer.start()
            _wait_until(lambda: _listens(self.pgbouncer.port), "PgBouncer", 20, self.pgbouncer)
            self.say(f"PgBouncer on 127.0.0.1:{self.pgbouncer.port} (pid {self.pgbouncer.pid})")
            for p in self.services:
                p.start()
            for p in self.services:
                _wait_until(lambda p=p: _answers(f"http://127.0.0.1:{p.port}/healthz"), p.name, 180, p)  # type: ignore[misc]
                self.say(f"{p.name} on 127.0.0.1:{p.port} (pid {p.pid})")
            self.haproxy.start()
            _wait_until(lambda: _answers(f"{self.url}/healthz"), "HAProxy", 20, self.haproxy)
            self.say(f"HAProxy on {self.url}/ (pid {self.haproxy.pid}), {len(self.services)} service processes")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop HAProxy, the services, then PgBouncer."""
        for p in reversed(self.processes):
            p.stop()

    def describe(self) -> list[dict[str, Any]]:
        """Name, pid, port and log of each process (the drills use it)."""
        return [{"name": p.name, "pid": p.pid, "port": p.port, "log": str(p.log)} for p in self.processes]

    def __enter__(self) -> LocalTopology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
