"""Faults the service survives: a point-in-time restore between two edits, and the fault drills at the CI size.

The drills themselves (``python -m bench drills``, bench/drills.py) kill the primary during acknowledged edits, start
the service with its database down, fill the disk under the 3D tiles, soak the service at a fixed rate, kill a
replica and a service process and restart PgBouncer under reads; here they run small and the test holds them to
their promises: no acknowledged edit lost, no wrong answer, none broken.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from gis_service.db import create_db_engine
from gis_service.db.local_cluster import LocalCluster
from gis_service.editing import update_feature

pytestmark = pytest.mark.cluster
ROOT = Path(__file__).resolve().parents[1]
PLANNING = str(Path(sys.executable).with_name("planning"))


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    return subprocess.run(
        [PLANNING, *args], env={**base, **env}, capture_output=True, text=True, timeout=300, cwd="/", check=False
    )


def _edit(url: str, zone: int, floors: int, reason: str) -> str:
    """Commit one edit of a zone; the database's clock just after the commit, with its UTC offset."""
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as c:
            update_feature(c, "zones", zone, {"max_floors": floors}, user="lan.nguyen", reason=reason)
        with engine.connect() as c:
            moment: str = c.execute(
                sa.text("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.USOF')")
            ).scalar_one()
    finally:
        engine.dispose()
    return moment


def test_a_restore_to_a_moment_between_two_edits_has_the_first_and_not_the_second(workdir: Path) -> None:
    env = {"GIS_LOCAL_DB__DATA_DIR": str(workdir / "pg")}
    nothing = _cli("db", "restore", "--to", "2026-12-06 20:31:05+07", "--yes", env=env)
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr
    assert _cli("db", "up", env=env).returncode == 0
    no_backup = _cli("db", "restore", "--to", "2026-12-06 20:31:05+07", "--yes", env=env)
    assert no_backup.returncode == 1 and "planning db backup" in no_backup.stderr, no_backup.stderr

    url = LocalCluster(workdir / "pg").url()
    with psycopg.connect(url, autocommit=True) as c:
        plan = c.execute(
            "INSERT INTO planning.plans (code, name, level) VALUES ('46QPK0000024', 'PITR', 'zoning') RETURNING id"
        ).fetchone()
        assert plan is not None
        row = c.execute(
            "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_floors, geom) VALUES (%s, 'R1', 'ODT', "
            "3, ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(558000, 1818000), 9214), 30))) RETURNING id",
            [plan[0]],
        ).fetchone()
        assert row is not None
        zone = int(row[0])

    backup = _cli("db", "backup", env=env)
    assert backup.returncode == 0, backup.stderr
    assert re.search(r"full backup \S+: .*MB stored", backup.stderr), backup.stderr

    noted = _edit(url, zone, 7, "edit 1")
    time.sleep(1.0)  # the two commits a clear second apart: the restore's moment falls between them
    _edit(url, zone, 9, "edit 2")

    bad = _cli("db", "restore", "--to", "yesterday", "--yes", env=env)
    assert bad.returncode == 1 and "2026-12-06 20:31:05+07" in bad.stderr, bad.stderr
    restore = _cli("db", "restore", "--to", noted, "--yes", env=env)
    assert restore.returncode == 0, restore.stderr

    with psycopg.connect(url, autocommit=True) as c:
        floors = c.execute("SELECT max_floors FROM planning.zones WHERE id = %s", [zone]).fetchone()
        reasons = [r for (r,) in c.execute("SELECT reason FROM planning.change_history WHERE feature_id = %s", [zone])]
        in_recovery = c.execute("SELECT pg_is_in_recovery()").fetchone()
    assert floors == (7,), "the first edit is there, the second is not"
    assert "edit 1" in reasons and "edit 2" not in reasons
    assert in_recovery == (False,), "promoted: the restored database takes writes"

    _edit(url, zone, 11, "after the restore")  # it takes writes, and the backups go on from the new timeline
    again = _cli("db", "backup", env=env)
    assert again.returncode == 0 and "incr backup" in again.stderr, again.stderr


@pytest.mark.timeout(900)
def test_the_drills_at_ci_size_lose_no_edit_and_give_no_wrong_answer() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "drills", "--scale", "0.03"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    out = proc.stdout
    assert "acknowledged edits lost: 0; wrong answers: 0" in out, out + proc.stderr[-3000:]
    assert "promises broken: 0" in out, out
    assert proc.returncode == 0, proc.stderr[-3000:]
    # each drill printed its figures beside the same load without the fault
    for drill in (
        "primary killed",
        "database refuses connections",
        "full disk",
        "soak",
        "replica killed",
        "service process killed",
        "PgBouncer restarted",
    ):
        assert drill in out
    assert re.search(r"acknowledged edits lost\s+0\s+0", out), out
    assert re.search(r"process still running \(no crash loop\)\s+yes", out), out
    assert re.search(r"service processes still the same \(no crash\)\s+yes", out), out
