"""Edits per second through the editing API (real HTTP, ``planning serve``) against the same edits made with
``gis_service.editing`` directly.

Baseline, in the same run on the same data: one ``update_feature`` per transaction on one pooled connection (what a
script on the server does). Ours: ``PATCH /ogc/collections/zones/items/{id}`` with a bearer token, ``If-Match`` and
``X-Change-Reason`` over keep-alive HTTP, one client and four in parallel; each answer carries the new ETag, so no
read is needed between edits. The ratio (baseline / ours, below 1) is the price of HTTP, authentication, the ETag
check with its row lock and the answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.common import throwaway_database
from gis_service.auth import create_user, issue_token
from gis_service.db import create_db_engine
from gis_service.editing import update_feature

SEED_SQL = """
INSERT INTO planning.plans (code, name, level) VALUES ('46QPK0000009', 'Bench', 'zoning') RETURNING id
"""
ZONES_SQL = """
INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_floors, geom)
SELECT :plan, 'B' || i, 'ODT', 3,
       ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(558000 + (i % 50) * 70.0, 1818000 + (i / 50) * 70.0), 9214), 30, 5))
FROM generate_series(0, :n - 1) i
"""


def _serve(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    env.update(GIS_DATABASE_URL=url, GIS_OGC_DIR=str(tmp / "ogc"), GIS_TILES__OUT_DIR=str(tmp / "tiles"))
    planning = str(Path(sys.executable).with_name("planning"))
    proc = subprocess.Popen(
        [planning, "-q", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("planning serve did not start in 60 s")


def _seed(url: str, n: int) -> tuple[sa.Engine, list[int], str]:
    """The throwaway database's engine, ``n`` zones' ids and a planner's bearer token."""
    engine = create_db_engine(url, pool_size=4)
    with engine.begin() as c:
        plan = c.execute(sa.text(SEED_SQL)).scalar_one()
        c.execute(sa.text(ZONES_SQL), {"plan": plan, "n": n})
        ids = [int(i) for i in c.execute(sa.text("SELECT id FROM planning.zones ORDER BY id")).scalars()]
        user = create_user(c, "bench.planner", "planner", "bench password")
        token = issue_token(c, user, ttl_s=3600).access_token
    return engine, ids, token


def _time_direct(engine: sa.Engine, ids: list[int], rounds: int) -> float:
    """Seconds per edit made with gis_service.editing directly (the baseline)."""
    t0 = time.perf_counter()
    for r in range(rounds):
        for fid in ids:
            with engine.begin() as c:
                update_feature(c, "zones", fid, {"max_floors": 10 + r}, user="bench", reason="bench direct")
    return (time.perf_counter() - t0) / (rounds * len(ids))


def _edit(base: str, auth: dict[str, str], tags: dict[int, str], part: list[int], value: int) -> None:
    """PATCH each zone of ``part`` over one keep-alive client, keeping the ETags each answer carries."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for fid in part:
            resp = http.patch(
                f"/ogc/collections/zones/items/{fid}",
                headers={**auth, "If-Match": tags[fid]},
                json={"properties": {"max_floors": value}},
            )
            if resp.status_code != 200:
                raise RuntimeError(f"PATCH {fid}: {resp.status_code} {resp.text}")
            tags[fid] = resp.headers["etag"]


def _time_api(base: str, token: str, ids: list[int], rounds: int) -> tuple[float, float]:
    """Seconds per edit through the API: one client, then four in parallel."""
    n = len(ids)
    auth = {"Authorization": f"Bearer {token}", "X-Change-Reason": "bench api"}
    with httpx.Client(base_url=base, timeout=30) as http:
        tags = {fid: http.get(f"/ogc/collections/zones/items/{fid}", headers=auth).headers["etag"] for fid in ids}

    t0 = time.perf_counter()
    for r in range(rounds):
        _edit(base, auth, tags, ids, 20 + r)
    api_one_s = (time.perf_counter() - t0) / (rounds * n)

    parts = [ids[k::4] for k in range(4)]
    t0 = time.perf_counter()
    for r in range(rounds):
        threads = [threading.Thread(target=_edit, args=(base, auth, tags, p, 30 + r)) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    api_four_s = (time.perf_counter() - t0) / (rounds * n)
    return api_one_s, api_four_s


def _api_history(engine: sa.Engine) -> int:
    """How many history entries the API's edits left."""
    with engine.connect() as c:
        count: int = c.execute(
            sa.text("SELECT count(*) FROM planning.change_history WHERE table_name = 'zones' AND reason = 'bench api'")
        ).scalar_one()
    return count


def run(scale: float = 1.0) -> None:
    """Time edits through the API against the same edits made directly, and print the table."""
    n = max(20, int(200 * scale))
    rounds = 3
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmpdir:
        engine, ids, token = _seed(url, n)
        print(f"\nedits: {n} zones x {rounds} rounds, one transaction per edit", file=sys.stderr)
        direct_s = _time_direct(engine, ids, rounds)
        proc, base = _serve(url, Path(tmpdir))
        try:
            api_one_s, api_four_s = _time_api(base, token, ids, rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        history = _api_history(engine)
        engine.dispose()
        assert history == 2 * rounds * n, f"{history} history entries for {2 * rounds * n} API edits"

    print("\nedits per second: editing API (HTTP) vs gis_service.editing directly (baseline, same run)")
    print(f"  {'case':<52} {'edits/s':>9} {'baseline':>9} {'ratio':>7}")
    for case, ours in (
        ("PATCH over HTTP, 1 client", api_one_s),
        ("PATCH over HTTP, 4 clients in parallel", api_four_s),
    ):
        print(f"  {case:<52} {1 / ours:>9.0f} {1 / direct_s:>9.0f} {direct_s / ours:>6.2f}x")
    print(f"  (every API edit checked: {history} history entries with user and reason)")
