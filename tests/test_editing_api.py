"""OGC API - Features Part 4 on a real database through the real app: roles, ETags, CRS, drafts, history."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from ogc_sample import CONTROL_LONLAT, E0, N0, load_sample
from sqlalchemy.engine import Engine

from gis_service.api.app import create_app
from gis_service.auth import create_user, disable_user, issue_token
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings

Headers = Callable[..., dict[str, str]]
EPSG9214 = "<http://www.opengis.net/def/crs/EPSG/0/9214>"
CRS84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


@pytest.fixture(scope="module")
def edit_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("edit")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def db(edit_db: tuple[str, dict[str, Any]]) -> Iterator[Engine]:
    eng = create_db_engine(edit_db[0], pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def client(edit_db: tuple[str, dict[str, Any]]) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=edit_db[0]))) as c:
        yield c


@pytest.fixture
def planner(edit_db: tuple[str, dict[str, Any]], auth_headers: Headers) -> dict[str, str]:
    return auth_headers("planner", database_url=edit_db[0])


def item(layer: str, fid: int) -> str:
    return f"/ogc/collections/{layer}/items/{fid}"


def square(x0: float, y0: float, size: float) -> dict[str, Any]:
    """A GeoJSON polygon in EPSG:9214, offsets in metres from the control point."""
    pts = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[[E0 + x, N0 + y] for x, y in pts]]}


def etag(client: TestClient, headers: dict[str, str], layer: str, fid: int) -> str:
    r = client.get(item(layer, fid), headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def write_headers(headers: dict[str, str], tag: str | None = None, reason: str = "kiểm thử", **extra: str) -> dict:
    h: dict[str, Any] = {**headers, "X-Change-Reason": reason.encode(), **extra}  # raw UTF-8 bytes
    if tag is not None:
        h["If-Match"] = tag
    return h


def row(db: Engine, layer: str, fid: int) -> dict[str, Any] | None:
    with db.connect() as c:
        r = c.execute(
            sa.text(f"SELECT planning.row_state(to_jsonb(t), t.geom) FROM planning.{layer} t WHERE id = :i"), {"i": fid}
        ).scalar_one_or_none()
    return r


def history_count(db: Engine, layer: str, fid: int) -> int:
    with db.connect() as c:
        return int(
            c.execute(
                sa.text("SELECT count(*) FROM planning.change_history WHERE table_name = :t AND feature_id = :i"),
                {"t": layer, "i": fid},
            ).scalar_one()
        )


def test_every_write_route_and_role_is_checked(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], auth_headers: Headers, db: Engine
) -> None:
    url, ids = edit_db
    fid = ids["draft_zone"]
    with db.begin() as c:
        gone = create_user(c, "gone.planner", "planner", "mật khẩu 2026")
        gone_token = issue_token(c, gone, ttl_s=600).access_token
        disable_user(c, "gone.planner")
    routes: list[tuple[str, str]] = [
        ("POST", "/ogc/collections/zones/items"),
        ("PUT", item("zones", fid)),
        ("PATCH", item("zones", fid)),
        ("DELETE", item("zones", fid)),
        ("POST", item("zones", fid) + "/history/1/restore"),
        ("POST", f"/plans/{ids['draft'] and '46QPK0000003'}/publish"),
        ("POST", "/plans/46QPK0000001/drafts"),
    ]
    before = row(db, "zones", fid)
    cases: list[tuple[dict[str, str], int]] = [
        ({}, 401),
        ({"Authorization": "Bearer hue_forged"}, 401),
        ({"Authorization": f"Bearer {gone_token}"}, 401),
        (auth_headers("public", database_url=url), 403),
        (auth_headers("permit_officer", database_url=url), 403),
    ]
    for method, path in routes:
        for headers, status in cases:
            r = client.request(
                method, path, headers=write_headers(headers, '"x"'), json={"properties": {"max_floors": 1}}
            )
            assert r.status_code == status, (method, path, headers, r.text)
            if status == 401:
                assert r.headers["www-authenticate"].startswith("Bearer")
    assert row(db, "zones", fid) == before, "nothing was written by a refused request"


def test_get_item_carries_an_etag_and_editors_see_drafts(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], planner: dict[str, str]
) -> None:
    ids = edit_db[1]
    public = client.get(item("zones", ids["z1"]))
    assert public.status_code == 200 and public.headers["etag"] == f'"zones-{ids["z1"]}-v1"'
    assert client.get(item("zones", ids["draft_zone"])).status_code == 404  # drafts are not public
    draft = client.get(item("zones", ids["draft_zone"]), headers=planner)
    assert draft.status_code == 200, draft.text
    assert draft.headers["etag"].startswith(f'"zones-{ids["draft_zone"]}-v')
    assert draft.json()["properties"]["zone_code"] == "D1"
    again = client.get(item("zones", ids["draft_zone"]), headers={**planner, "If-None-Match": draft.headers["etag"]})
    assert again.status_code == 304
    # a CQL2 JSON query by POST on /items is still a search (pygeoapi), not a creation
    query = client.post(
        "/ogc/collections/zones/items",
        params={"f": "json", "filter-lang": "cql2-json"},
        json={"op": "=", "args": [{"property": "zone_code"}, "Z1"]},
        headers={**planner, "Content-Type": "application/query-cql-json"},
    )
    assert query.status_code == 200 and [f["id"] for f in query.json()["features"]] == [ids["z1"]]


def test_writes_need_if_match_and_a_reason(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], planner: dict[str, str], db: Engine
) -> None:
    fid = edit_db[1]["draft_zone"]
    path = item("zones", fid)
    tag = etag(client, planner, "zones", fid)
    r = client.patch(path, headers=write_headers(planner), json={"properties": {"max_floors": 4}})
    assert r.status_code == 428 and "If-Match" in r.json()["description"]
    r = client.patch(path, headers={**planner, "If-Match": tag}, json={"properties": {"max_floors": 4}})
    assert r.status_code == 400 and "X-Change-Reason" in r.json()["description"]
    r = client.patch(path, headers=write_headers(planner, '"zones-1-v999"'), json={"properties": {"max_floors": 4}})
    assert r.status_code == 412
    r = client.patch(
        path,
        headers={  # type: ignore[arg-type]
            **planner,
            "If-Match": tag,
            "X-Change-Reason": "QĐ%2006%2F2024%20đi%E1%BB%81u%20chỉnh".encode(),
        },
        json={"properties": {"max_floors": 4}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["max_floors"] == 4 and r.headers["etag"] != tag
    with db.connect() as c:
        reason = c.execute(
            sa.text(
                "SELECT reason, changed_by FROM planning.change_history WHERE table_name = 'zones' "
                "AND feature_id = :i ORDER BY id DESC LIMIT 1"
            ),
            {"i": fid},
        ).one()
    assert tuple(reason) == ("QĐ 06/2024 điều chỉnh", "test-planner")
    # the old ETag is stale now
    r = client.patch(path, headers=write_headers(planner, tag), json={"properties": {"max_floors": 5}})
    assert r.status_code == 412 and "changed since you read it" in r.json()["description"]


def test_race_of_two_writers_one_wins_the_other_gets_412(
    edit_db: tuple[str, dict[str, Any]], planner: dict[str, str], db: Engine
) -> None:
    fid = edit_db[1]["publish_v2_zone"]
    with TestClient(create_app(Settings(database_url=edit_db[0]))) as client:
        tag = etag(client, planner, "zones", fid)
        entries = history_count(db, "zones", fid)
        barrier = threading.Barrier(2)
        results: dict[int, Any] = {}

        def writer(floors: int) -> None:
            barrier.wait()
            results[floors] = client.patch(
                item("zones", fid),
                headers=write_headers(planner, tag, reason=f"writer {floors}"),
                json={"properties": {"max_floors": floors}},
            )

        threads = [threading.Thread(target=writer, args=(n,)) for n in (7, 8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 412], {k: (v.status_code, v.text) for k, v in results.items()}
    winner = next(k for k, v in results.items() if v.status_code == 200)
    state = row(db, "zones", fid)
    assert state is not None and state["max_floors"] == winner
    assert history_count(db, "zones", fid) == entries + 1  # exactly the winner's change, nothing half-done


@pytest.mark.parametrize(
    ("content_crs", "vertex"),
    [
        (EPSG9214, (E0, N0)),
        (CRS84, CONTROL_LONLAT),
        ("<http://www.opengis.net/def/crs/EPSG/0/4326>", (CONTROL_LONLAT[1], CONTROL_LONLAT[0])),  # latitude first
    ],
)
def test_patch_geometry_in_any_offered_crs_lands_within_1_cm(
    client: TestClient,
    edit_db: tuple[str, dict[str, Any]],
    planner: dict[str, str],
    db: Engine,
    content_crs: str,
    vertex: tuple[float, float],
) -> None:
    fid = edit_db[1]["draft_zone"]
    x, y = vertex
    # a small triangle whose first vertex is the control point, in the CRS sent
    d = 20.0 if content_crs == EPSG9214 else 0.0002
    ring = (
        [[x, y], [x + d, y], [x + d, y + d], [x, y]]
        if "4326" not in content_crs
        else [[x, y], [x, y + d], [x + d, y + d], [x, y]]
    )
    r = client.patch(
        item("zones", fid),
        headers=write_headers(planner, etag(client, planner, "zones", fid), **{"Content-Crs": content_crs}),
        json={"geometry": {"type": "Polygon", "coordinates": [ring]}},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == content_crs.replace("EPSG/0/4326", "EPSG/0/4326")
    with db.connect() as c:
        off = c.execute(
            sa.text(
                "SELECT ST_Distance(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1), "
                "ST_SetSRID(ST_MakePoint(:e, :n), 9214)), ST_SRID(geom) FROM planning.zones WHERE id = :i"
            ),
            {"e": E0, "n": N0, "i": fid},
        ).one()
    assert off[1] == 9214
    assert off[0] < 0.01, f"control point stored {off[0]:.4f} m off"


def test_bad_input_is_400_and_changes_nothing(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], planner: dict[str, str], db: Engine
) -> None:
    fid = edit_db[1]["draft_zone"]
    before = row(db, "zones", fid)
    tag = etag(client, planner, "zones", fid)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[E0, N0], [E0 + 10, N0 + 10], [E0 + 10, N0], [E0, N0 + 10], [E0, N0]]],
    }
    cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
        ({"geometry": bowtie}, {"Content-Crs": EPSG9214}, "Self-intersection"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[E0, N0], [E0 + 1, N0]]}},
            {"Content-Crs": EPSG9214},
            "Polygon or MultiPolygon",
        ),
        ({"geometry": square(0, 0, 5)}, {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/2154>"}, "not offered"),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[107.57, 16.46], [107.58, 16.46], [107.58, 16.47], [107.57, 16.46]]],
                }
            },
            {"Content-Crs": EPSG9214},
            "outside Huế",
        ),  # lon/lat sent as VN-2000
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[16.46, 107.57], [16.46, 107.58], [16.47, 107.58], [16.46, 107.57]]],
                }
            },
            {},
            "axes in its order",
        ),  # latitude first in CRS84
        ({"properties": {"max_density_pct": 140}}, {}, "max_density_pct"),
        ({"properties": {"no_such_field": 1}}, {}, "no_such_field"),
        ({"properties": {"max_floors": [1, 2]}}, {}, "max_floors"),
        ({"properties": {"max_floors": "nhiều"}}, {}, "integer"),
        ({"properties": {"min_floors": 9, "max_floors": 2}}, {}, "zones_floors_order"),
        ({"properties": {"land_use_code": "XYZ"}}, {}, "land_use_code"),
    ]
    for body, extra, expected in cases:
        r = client.patch(item("zones", fid), headers=write_headers(planner, tag, **extra), json=body)
        assert r.status_code == 400, (body, r.text)
        assert expected in r.json()["description"], (expected, r.text)
    r = client.patch(
        item("zones", fid),
        headers={**write_headers(planner, tag), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 400 and "not JSON" in r.json()["description"]
    huge = client.patch(item("zones", 2**70), headers=write_headers(planner, tag), json={"properties": {}})
    assert huge.status_code == 400
    assert row(db, "zones", fid) == before


def test_approved_versions_are_read_only(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], planner: dict[str, str], db: Engine
) -> None:
    ids = edit_db[1]
    tag = etag(client, {}, "zones", ids["z1"])
    r = client.patch(
        item("zones", ids["z1"]), headers=write_headers(planner, tag), json={"properties": {"max_floors": 1}}
    )
    assert r.status_code == 409 and "read-only" in r.json()["description"]
    r = client.post(
        "/ogc/collections/zones/items",
        headers=write_headers(planner, **{"Content-Crs": EPSG9214}),
        json={
            "type": "Feature",
            "geometry": square(0, 0, 10),
            "properties": {"plan_id": ids["plan"], "land_use_code": "ODT"},
        },
    )
    assert r.status_code == 409
    assert row(db, "zones", ids["z1"])["max_floors"] == 3  # type: ignore[index]


def test_create_replace_delete_and_restore_through_the_api(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], planner: dict[str, str], db: Engine
) -> None:
    ids = edit_db[1]
    created = client.post(
        "/ogc/collections/zones/items",
        headers=write_headers(planner, reason="thêm ô mới", **{"Content-Crs": EPSG9214}),
        json={
            "type": "Feature",
            "geometry": square(-100, -100, 40),
            "properties": {
                "plan_id": ids["draft"],
                "zone_code": "D9",
                "land_use_code": "DGD",
                "max_floors": 2,
                "attributes": {"maHoSoQH": "46QPK0000003", "ghiChu": "a"},
            },
        },
    )
    assert created.status_code == 201, created.text
    fid = created.json()["id"]
    assert created.headers["location"].endswith(item("zones", fid))
    assert created.headers["etag"] == f'"zones-{fid}-v1"'
    assert abs(created.json()["properties"]["geom_area_m2"] - 1600) < 1e-6
    v1 = row(db, "zones", fid)

    replaced = client.put(
        item("zones", fid),
        headers=write_headers(planner, created.headers["etag"], **{"Content-Crs": EPSG9214}),
        json={
            "type": "Feature",
            "geometry": square(-100, -100, 50),
            "properties": {"plan_id": ids["draft"], "zone_code": "D9", "land_use_code": "DVH"},
        },
    )
    assert replaced.status_code == 200, replaced.text
    props = replaced.json()["properties"]
    assert props["land_use_code"] == "DVH" and props["max_floors"] is None and props["attributes"] == {}  # cleared

    patched = client.patch(
        item("zones", fid),
        headers=write_headers(planner, replaced.headers["etag"]),
        json={"properties": {"attributes": {"ghiChu": "b", "x": {"y": 1}}}},
    )
    assert patched.json()["properties"]["attributes"] == {"ghiChu": "b", "x": {"y": 1}}
    patched = client.patch(
        item("zones", fid),
        headers=write_headers(planner, patched.headers["etag"]),
        json={"properties": {"attributes": {"ghiChu": None, "x": {"z": 2}}}},
    )
    assert patched.json()["properties"]["attributes"] == {"x": {"y": 1, "z": 2}}  # RFC 7396 merge

    deleted = client.delete(item("zones", fid), headers=write_headers(planner, patched.headers["etag"], reason="xoá"))
    assert deleted.status_code == 204
    assert client.get(item("zones", fid), headers=planner).status_code == 404
    assert row(db, "zones", fid) is None

    history = client.get(item("zones", fid) + "/history", headers=planner)
    assert history.status_code == 200, history.text
    changes = history.json()["changes"]
    assert [c["operation"] for c in changes] == ["insert", "update", "update", "update", "delete"]
    assert [c["changed_by"] for c in changes] == ["test-planner"] * 5
    assert changes[0]["reason"] == "thêm ô mới" and changes[-1]["reason"] == "xoá"
    assert changes[0]["after"]["geometry"]["coordinates"][0][0][0] == [E0 - 100, N0 - 100]  # every digit kept

    gone = client.get("/ogc/collections/zones/deleted", headers=planner).json()["deleted"]
    assert {"id": fid, "version": 4, "deleted_by": "test-planner", "reason": "xoá"}.items() <= gone[0].items()

    restored = client.post(
        item("zones", fid) + "/history/1/restore", headers=write_headers(planner, reason="khôi phục")
    )
    assert restored.status_code == 200, restored.text
    now = row(db, "zones", fid)
    assert now is not None and v1 is not None
    bookkeeping = {"row_version", "updated_at", "updated_by"}
    assert {k: v for k, v in now.items() if k not in bookkeeping} == {
        k: v for k, v in v1.items() if k not in bookkeeping
    }, "the restored row is exactly version 1 (geometry EWKB included)"
    assert now["row_version"] == 5 and restored.headers["etag"] == f'"zones-{fid}-v5"'  # after v4 deleted
    assert fid not in [d["id"] for d in client.get("/ogc/collections/zones/deleted", headers=planner).json()["deleted"]]
    last = client.get(item("zones", fid) + "/history", headers=planner).json()["changes"][-1]
    assert last["operation"] == "restore" and last["restored_from"] == changes[0]["id"]

    # restoring an existing feature needs its ETag
    r = client.post(item("zones", fid) + "/history/2/restore", headers=write_headers(planner))
    assert r.status_code == 428
    r = client.post(
        item("zones", fid) + "/history/99/restore", headers=write_headers(planner, restored.headers["etag"])
    )
    assert r.status_code == 404 and "known versions" in r.json()["description"]


def test_history_is_for_staff_only(
    client: TestClient, edit_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    url, ids = edit_db
    path = item("zones", ids["z1"]) + "/history"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth_headers("public", database_url=url)).status_code == 403
    r = client.get(path, headers=auth_headers("permit_officer", database_url=url))
    assert r.status_code == 200 and r.json()["changes"][0]["operation"] == "insert"


def test_the_openapi_document_describes_the_bodies_of_the_writes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    items = "/ogc/collections/{collection_id}/items"
    for method, path, media in (
        ("post", items, "application/geo+json"),
        ("put", items + "/{feature_id}", "application/geo+json"),
        ("patch", items + "/{feature_id}", "application/merge-patch+json"),
    ):
        body = paths[path][method]["requestBody"]
        assert body["required"] and {"application/json", media} == set(body["content"]), (method, body)
        schema = body["content"]["application/json"]["schema"]
        assert {"geometry", "properties"} <= set(schema["properties"]), (method, schema)
