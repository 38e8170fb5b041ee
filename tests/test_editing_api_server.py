"""Editing over real HTTP against ``planning serve`` in a subprocess: GDAL's OAPIF driver reads what was edited,
and a server killed in the middle of a batch of edits loses no acknowledged edit and half-applies none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from ogc_sample import E0, N0, PLAN_CODE, load_sample
from planning_served import PlanningServer as Server

from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade

Headers = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def http_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("http")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


def _reason(text: str) -> dict[str, str]:
    return {"X-Change-Reason": text}


def test_gdal_oapif_reads_what_was_edited_and_published(
    http_db: tuple[str, dict[str, Any]], auth_headers: Headers, tmp_path: Path
) -> None:
    url, _ids = http_db
    planner = auth_headers("planner", database_url=url)
    server = Server(url, tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            draft = http.post(f"/plans/{PLAN_CODE}/drafts", headers={**planner, **_reason("dieu chinh")}).json()
            engine = create_db_engine(url, pool_size=1)
            with engine.connect() as c:
                zone_id = c.execute(
                    sa.text("SELECT id FROM planning.zones WHERE plan_id = :p AND zone_code = 'Z2'"), {"p": draft["id"]}
                ).scalar_one()
            engine.dispose()
            item = f"/ogc/collections/zones/items/{zone_id}"
            tag = http.get(item, headers=planner).headers["etag"]
            # new attributes, and a geometry sent in CRS84 with its south-west corner at the control point
            lon, lat = 107.5790, 16.4698
            d = 0.001
            r = http.patch(
                item,
                headers={**planner, **_reason("doi chuc nang"), "If-Match": tag, "Content-Type": "application/json"},
                content=json.dumps(
                    {
                        "properties": {"land_use_code": "DVH", "max_floors": 7, "name": "Ô Z2 điều chỉnh"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
                            ],
                        },
                    },
                    ensure_ascii=False,
                ).encode(),
            )
            assert r.status_code == 200, r.text
            pub = http.post(
                f"/plans/{PLAN_CODE}/publish",
                headers={**planner, **_reason("cong bo")},
                json={"decision_no": "77/QĐ-UBND", "decision_date": "2026-11-25"},
            )
            assert pub.status_code == 200, pub.text
        out = tmp_path / "zones.geojson"
        proc = subprocess.run(
            ["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{server.url}/ogc", "zones"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        everything = json.loads(out.read_text())["features"]
        features = [
            f for f in everything if f["properties"]["plan_id"] == draft["id"] and f["properties"]["zone_code"] == "Z2"
        ]
        assert len(features) == 1, everything
        props = features[0]["properties"]
        assert (props["land_use_code"], props["max_floors"], props["name"]) == ("DVH", 7, "Ô Z2 điều chỉnh")
        ring = features[0]["geometry"]["coordinates"][0][0]
        corner = min(ring, key=lambda p: (p[0], p[1]))
        assert abs(corner[0] - lon) < 1e-7 and abs(corner[1] - lat) < 1e-7  # ~1 cm
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", f"OAPIF:{server.url}/ogc", "zones"], capture_output=True, text=True, timeout=120
        )
        assert info.returncode == 0 and "max_floors" in info.stdout, info.stderr
    finally:
        server.stop()


def test_killing_the_server_mid_batch_loses_no_acknowledged_edit(
    http_db: tuple[str, dict[str, Any]], auth_headers: Headers, tmp_path: Path
) -> None:
    url, ids = http_db
    planner = auth_headers("planner", database_url=url)
    engine = create_db_engine(url, pool_size=2)
    with engine.connect() as c:
        targets = [
            int(i)
            for i in c.execute(
                sa.text("SELECT id FROM planning.zones WHERE plan_id = :p ORDER BY id"), {"p": ids["draft"]}
            ).scalars()
        ]
        # more draft zones to edit in parallel
        with engine.begin() as w:
            for k in range(3):
                x = 600 + 50 * k
                targets.append(
                    int(
                        w.execute(
                            sa.text(
                                "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, geom) VALUES "
                                "(:p, :c, 'ODT', ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 9214))) RETURNING id"
                            ),
                            {"p": ids["draft"], "c": f"K{k}", "x0": E0 + x, "y0": N0, "x1": E0 + x + 40, "y1": N0 + 40},
                        ).scalar_one()
                    )
                )
    server = Server(url, tmp_path)
    acked: list[tuple[int, int, int]] = []  # (feature, version, floors) of every 200
    lock = threading.Lock()
    stop = threading.Event()

    def editor(fid: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            try:
                tag = http.get(f"/ogc/collections/zones/items/{fid}", headers=planner).headers["etag"]
                n = 0
                while not stop.is_set():
                    n += 1
                    floors = fid * 1000 + n
                    r = http.patch(
                        f"/ogc/collections/zones/items/{fid}",
                        headers={**planner, **_reason(f"batch {floors}"), "If-Match": tag},
                        json={"properties": {"max_floors": floors, "notes": f"edit {n}"}},
                    )
                    assert r.status_code == 200, r.text
                    tag = r.headers["etag"]
                    with lock:
                        acked.append((fid, int(tag.strip('"').rsplit("-v", 1)[1]), floors))
            except httpx.TransportError:
                return  # the server died under this request: not acknowledged

    threads = [threading.Thread(target=editor, args=(fid,)) for fid in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(server.process.pid, signal.SIGKILL)  # mid-batch: requests are in flight
    server.process.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    server.stop()
    assert len(acked) >= 40, f"only {len(acked)} edits acknowledged before the deadline\n{server.output()[-3000:]}"

    with engine.connect() as c:
        for fid, version, floors in acked:
            entry = c.execute(
                sa.text(
                    "SELECT reason, changed_by, (after->>'max_floors')::int FROM planning.change_history "
                    "WHERE table_name = 'zones' AND feature_id = :f AND row_version = :v"
                ),
                {"f": fid, "v": version},
            ).one_or_none()
            assert entry is not None, f"acknowledged edit of zone {fid} v{version} is missing from the history"
            assert tuple(entry) == (f"batch {floors}", "test-planner", floors)
        for fid in targets:
            current, last = c.execute(
                sa.text(
                    "SELECT planning.row_state(to_jsonb(z), z.geom), "
                    "(SELECT planning.row_state(h.after, h.after_geom) FROM planning.change_history h "
                    " WHERE h.table_name = 'zones' AND h.feature_id = z.id ORDER BY h.id DESC LIMIT 1) "
                    "FROM planning.zones z WHERE z.id = :f"
                ),
                {"f": fid},
            ).one()
            assert current == last, f"zone {fid}: the row is not the last state its history recorded"
            versions = (
                c.execute(
                    sa.text(
                        "SELECT row_version FROM planning.change_history "
                        "WHERE table_name = 'zones' AND feature_id = :f ORDER BY id"
                    ),
                    {"f": fid},
                )
                .scalars()
                .all()
            )
            assert list(versions) == list(range(1, current["row_version"] + 1)), "no gap, no duplicate version"
            mine = max((v for f, v, _ in acked if f == fid), default=1)
            assert current["row_version"] in (mine, mine + 1), "at most the one in-flight edit committed unacknowledged"
    # nothing is left locked by the killed server's connections
    with engine.begin() as w:
        w.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        w.execute(sa.text("SELECT 1 FROM planning.zones WHERE id = ANY(:ids) FOR UPDATE"), {"ids": targets})
    engine.dispose()
