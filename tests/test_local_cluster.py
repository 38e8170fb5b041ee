"""The project's own PostgreSQL cluster: provisioning, restarts, and the errors people will meet."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from gis_service.db.local_cluster import LocalCluster, find_server_bin_dir
from gis_service.db.local_replicas import replicas_of
from gis_service.errors import LocalClusterError

pytestmark = pytest.mark.cluster
PLANNING = str(Path(sys.executable).with_name("planning"))


def _query(cluster: LocalCluster, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(cluster.url(), autocommit=True) as c:
        cur = c.execute(sql)
        return cur.fetchall() if cur.description else []


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _cli(*args: str, env: dict[str, str] | None = None, user: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    cmd = [PLANNING, *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=180, cwd="/")


def test_up_twice_is_harmless_and_down_up_keeps_the_data(workdir: Path) -> None:
    cluster = LocalCluster(workdir / "pg")
    first = cluster.up()
    assert first.running and first.port
    again = cluster.up()
    assert again.pid == first.pid and again.url == first.url, "a second 'up' changes nothing"
    assert _query(cluster, "SELECT extname FROM pg_extension WHERE extname = 'postgis'") == [("postgis",)]

    _query(cluster, "CREATE TABLE kept (name text); INSERT INTO kept VALUES ('Đất ở tại đô thị')")
    assert cluster.down() is True
    assert not cluster.status().running
    assert cluster.down() is False, "stopping a stopped cluster is harmless"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url(), connect_timeout=2)

    back = cluster.up()
    assert back.running and back.url == first.url
    assert _query(cluster, "SELECT name FROM kept") == [("Đất ở tại đô thị",)]


def test_the_server_listens_on_loopback_only_and_wants_a_password(workdir: Path) -> None:
    cluster = LocalCluster(workdir / "pg")
    status = cluster.up()
    rows = _query(
        cluster,
        "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'port', 'password_encryption')",
    )
    settings = {row[0]: row[1] for row in rows}
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "port": str(status.port),
        "password_encryption": "scram-sha-256",
    }
    url = cluster.url().replace(cluster.url().split("@")[0].split(":")[-1], "wrong-password", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, connect_timeout=5)
    assert oct((workdir / "pg" / "connection.json").stat().st_mode & 0o777) == "0o600"


def test_a_taken_port_gives_a_clear_error(workdir: Path) -> None:
    cluster = LocalCluster(workdir / "pg")
    port = cluster.up().port
    assert port is not None
    cluster.down()
    with socket.socket() as squatter:
        # the stopped server's closed connections may sit in TIME_WAIT on that port: bind as a server would
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(LocalClusterError, match=f"port {port} on 127.0.0.1 is already taken"):
            cluster.up()
        err = _one_line_error(_cli("db", "up", env={"GIS_LOCAL_DB__DATA_DIR": str(workdir / "pg")}))
        assert f"port {port}" in err and "GIS_LOCAL_DB__PORT" in err
    # the way out the message gives works
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        other = s.getsockname()[1]
    moved = LocalCluster(workdir / "pg", port=other).up()
    assert moved.running and moved.port == other


def test_a_missing_postgis_gives_a_clear_error(workdir: Path) -> None:
    real = find_server_bin_dir()
    fake = workdir / "bin"
    fake.mkdir()
    for prog in ("initdb", "pg_ctl", "postgres"):
        (fake / prog).symlink_to(real / prog)
    (fake / "pg_config").write_text(f"#!/bin/sh\necho {workdir / 'share'}\n")
    (fake / "pg_config").chmod(0o755)
    with pytest.raises(LocalClusterError, match=r"PostGIS is not installed for PostgreSQL \d+: install it with"):
        LocalCluster(workdir / "pg", bin_dir=fake).up()
    err = _one_line_error(
        _cli("db", "up", env={"GIS_LOCAL_DB__DATA_DIR": str(workdir / "pg"), "GIS_LOCAL_DB__BIN_DIR": str(fake)})
    )
    assert "apt-get install postgresql-" in err and "postgis-3" in err
    assert not (workdir / "pg" / "pgdata").exists(), "nothing half-made"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://planning:secret@127.0.0.1:{port}/planning", "cannot connect to the database"),
        ("not a url", "GIS_DATABASE_URL is not a database URL"),
        ("mysql://u:p@localhost/db", "must point at PostgreSQL"),
    ],
)
def test_a_wrong_database_url_gives_a_clear_error(url: str, expected: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    commands: list[tuple[str, ...]] = [("db", "up"), ("db", "status")]
    if "{port}" not in url:  # a server that does not answer yet is no reason for serve to exit (tests/test_drills.py)
        commands.append(("serve",))
    for command in commands:
        err = _one_line_error(_cli(*command, env={"GIS_DATABASE_URL": url.format(port=closed_port)}))
        assert expected in err
        assert "secret" not in err, "passwords never appear in messages"
        assert "GIS_DATABASE_URL" in err


def test_db_url_works_with_psql(workdir: Path) -> None:
    env = {"GIS_LOCAL_DB__DATA_DIR": str(workdir / "pg")}
    up = _cli("db", "up", env=env)
    assert up.returncode == 0, up.stderr
    assert "migrating the schema" in up.stderr
    url = _cli("db", "url", env=env).stdout.strip()
    psql = subprocess.run(
        ["psql", url, "-Atc", "SELECT count(*) FROM planning.land_use_codes WHERE NOT is_group"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert psql.stdout.strip() == "50"
    status = _cli("db", "status", env=env)
    assert status.returncode == 0 and "running" in status.stdout and "up to date" in status.stdout
    assert _cli("db", "down", env=env).returncode == 0
    stopped = _cli("db", "status", env=env)
    assert stopped.returncode == 3 and "stopped" in stopped.stdout


def test_db_up_with_replicas_follows_the_primary_and_down_stops_them(workdir: Path) -> None:
    env = {"GIS_LOCAL_DB__DATA_DIR": str(workdir / "pg")}
    up = _cli("db", "up", "--replicas", "1", env=env)
    assert up.returncode == 0, up.stderr
    assert "replica 1: running" in up.stderr
    primary = LocalCluster(workdir / "pg")
    (replica,) = replicas_of(primary)
    assert replica.data_dir == workdir / "pg-replica-1" and replica.status().port != primary.status().port
    _query(primary, "CREATE TABLE planning.replicated (note text); INSERT INTO planning.replicated VALUES ('Huế')")
    with psycopg.connect(replica.url(), autocommit=True) as standby:
        deadline = time.monotonic() + 20
        while not standby.execute("SELECT to_regclass('planning.replicated')").fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the replica did not replay the primary's change"
            time.sleep(0.1)
        assert standby.execute("SELECT note FROM planning.replicated").fetchall() == [("Huế",)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO planning.replicated VALUES ('no')")
    status = _cli("db", "status", env=env)
    assert status.returncode == 0 and "replica 1: running" in status.stdout, status.stdout
    down = _cli("db", "down", env=env)
    assert down.returncode == 0 and "replica 1 stopped" in down.stderr
    assert not replica.status().running and not primary.status().running
    again = _cli("db", "up", env=env)  # without --replicas: the replicas made before come back
    assert again.returncode == 0 and replica.status().running, again.stderr
    assert _cli("db", "up", "--replicas", "0", env=env).returncode == 0
    assert not replica.status().running and primary.status().running


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user every other test here already runs that way")
def test_works_as_a_normal_user_too(workdir: Path) -> None:
    """Run by root, the tests also provision a cluster as an unprivileged user (the 'postgres' account).

    The child is forked and drops its privileges instead of exec'ing the interpreter again: the interpreter may
    live where that user cannot read it (e.g. a pyenv under /root).
    """
    import pwd

    home = workdir / "normal-user"
    home.mkdir()
    shutil.chown(home, "postgres", "postgres")
    user = pwd.getpwnam("postgres")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become the normal user, provision, stop, report
        os.close(read_end)
        code, message = 0, "ok"
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.environ["HOME"] = str(home)
            cluster = LocalCluster(home / "pg")
            status = cluster.up()
            assert cluster._server_user().pw_name == "postgres"
            rows = _query(
                cluster, "SELECT current_user, (SELECT extversion FROM pg_extension WHERE extname = 'postgis')"
            )
            cluster.down()
            message = f"{status.running} {rows[0][0]} {rows[0][1] is not None}"
        except BaseException as exc:  # report everything to the parent
            code, message = 1, f"{type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        report = f.read()
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0, report
    assert report == "True planning True"
    owner = (home / "pg" / "pgdata").stat().st_uid
    assert owner == user.pw_uid, "the cluster belongs to the user who made it"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to another user")
def test_a_project_folder_closed_to_postgres_moves_the_cluster_to_its_home(workdir: Path) -> None:
    closed = workdir / "closed"
    closed.mkdir(mode=0o700)
    cluster = LocalCluster(closed / "project" / ".data" / "postgres")
    try:
        assert cluster.data_dir != cluster.requested_dir
        assert cluster.data_dir.is_relative_to("/var/lib/postgresql/planning-clusters")
        status = cluster.up()
        assert status.running and status.data_dir == cluster.data_dir
        again = LocalCluster(closed / "project" / ".data" / "postgres")
        assert again.data_dir == cluster.data_dir and again.url() == cluster.url(), "every command finds it again"
    finally:
        cluster.destroy()
    assert not cluster.data_dir.exists()
