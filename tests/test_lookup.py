"""Zoning lookup (REST and the OGC API Process) and vector tiles, on the sample plan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ogc_sample import CONTROL_LONLAT, E0, N0, PLAN_CODE

from gis_service.api.app import create_app
from gis_service.lookup_answer import LookupAnswer
from gis_service.settings import Settings


@pytest.fixture(scope="module")
def client(sample_plan: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        database_url=sample_plan[0], public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("o")
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def ids(sample_plan: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return sample_plan[1]


def lookup(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/lookup", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    LookupAnswer.model_validate(body)  # every answer has the shape /docs describes
    return body


def check_straddling_parcel(answer: dict[str, Any], ids: dict[str, Any]) -> None:
    parcel = answer["parcel"]
    assert parcel["id"] == ids["p1"] and parcel["sheet_no"] == 12 and parcel["parcel_no"] == 35
    assert parcel["ward"] == "Thuận Thành" and parcel["measured_area_m2"] == 1000.0
    assert parcel["land_use"] == {
        "code": "ODT",
        "name_vi": "Đất ở tại đô thị",
        "name_en": parcel["land_use"]["name_en"],
        "color": parcel["land_use"]["color"],
    }
    zones = answer["zones"]
    assert [(z["zone_code"], z["area_m2"], z["share_pct"]) for z in zones] == [("Z1", 800.0, 80.0), ("Z2", 200.0, 20.0)]
    z1 = zones[0]
    assert z1["land_use"]["code"] == "ODT" and z1["land_use"]["name_vi"] and z1["land_use"]["name_en"]
    assert z1["land_use"]["color"].startswith("#")
    assert z1["rules"]["max_density_pct"] == 60.0 and z1["rules"]["max_floors"] == 3
    assert z1["rules"]["max_height_m"] == 10.8 and z1["rules"]["max_far"] == 1.8 and z1["rules"]["min_setback_m"] == 3.0
    assert z1["plan"]["code"] == PLAN_CODE and z1["plan"]["decision_no"] == "1234/QĐ-UBND"
    assert z1["plan"]["decision_date"] == "2024-06-15"
    assert all(z["plan"]["code"] != "46QPK0000003" for z in zones)  # the draft plan is not public


def test_lookup_by_lonlat_gives_both_zones_with_shares(client: TestClient, ids: dict[str, Any]) -> None:
    lon, lat = CONTROL_LONLAT
    answer = lookup(client, lon=lon, lat=lat)
    check_straddling_parcel(answer, ids)
    # the position is echoed in both systems: VN-2000 within 1 cm of the control point
    assert abs(answer["location"]["e"] - E0) < 0.01 and abs(answer["location"]["n"] - N0) < 0.01


def test_lookup_by_vn2000_by_sheet_and_by_id(client: TestClient, ids: dict[str, Any]) -> None:
    check_straddling_parcel(lookup(client, e=E0, n=N0), ids)
    check_straddling_parcel(lookup(client, sheet_no=12, parcel_no=35, ward="Thuận Thành"), ids)
    r = client.get(f"/lookup/parcels/{ids['p1']}")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    check_straddling_parcel(r.json(), ids)


def test_parcel_inside_one_zone(client: TestClient, ids: dict[str, Any]) -> None:
    answer = lookup(client, sheet_no=12, parcel_no=34)
    assert answer["parcel"]["id"] == ids["p2"]
    assert [(z["zone_code"], z["area_m2"], z["share_pct"]) for z in answer["zones"]] == [("Z1", 2500.0, 100.0)]


def test_point_outside_every_parcel_still_gets_the_zone(client: TestClient) -> None:
    answer = lookup(client, e=E0 + 300, n=N0 - 300)
    assert answer["parcel"] is None
    assert [(z["zone_code"], z["area_m2"], z["share_pct"]) for z in answer["zones"]] == [("Z2", None, None)]
    far = lookup(client, lon=106.7, lat=10.77)  # Hồ Chí Minh City: nothing planned here
    assert far["parcel"] is None and far["zones"] == []


def test_same_numbers_in_two_wards_asks_for_the_ward(client: TestClient) -> None:
    r = client.get("/lookup", params={"sheet_no": 12, "parcel_no": 35})
    assert r.status_code == 400 and "ward" in r.json()["description"] and "Phú Hậu" in r.json()["description"]
    assert lookup(client, sheet_no=12, parcel_no=35, ward="Phú Hậu")["zones"][0]["zone_code"] == "Z2"


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "lon and lat"),
        ({"lon": 107.5}, 400, "lon and lat"),
        ({"lon": 16.4698, "lat": 107.579}, 400, "swapped"),
        ({"lon": "abc", "lat": 16}, 400, "lon"),
        ({"lon": 12, "lat": 0}, 400, "not in Vietnam"),  # found by schemathesis: the projection failed, a 500
        ({"lon": 179.9, "lat": 89.9}, 400, "not in Vietnam"),
        ({"e": 107.579, "n": 16.4698}, 400, "VN-2000"),
        ({"e": 1821650, "n": 561625}, 400, "swapped"),
        ({"sheet_no": 0, "parcel_no": 3}, 400, "sheet_no"),
        ({"sheet_no": 99, "parcel_no": 99}, 404, "tờ 99"),
        ({"lon": 107.5, "lat": 16.4, "sheet_no": 1}, 400, "Got"),
    ],
)
def test_bad_lookups_name_the_problem(client: TestClient, params: dict[str, Any], status: int, words: str) -> None:
    r = client.get("/lookup", params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["description"]


def test_unknown_parcel_id_is_404(client: TestClient) -> None:
    assert client.get("/lookup/parcels/987654").status_code == 404
    assert client.get("/lookup/parcels/abc").status_code == 400


def test_zoning_lookup_process(client: TestClient, ids: dict[str, Any]) -> None:
    desc = client.get("/ogc/processes/zoning-lookup", params={"f": "json"})
    assert desc.status_code == 200 and {"lon", "lat", "sheet_no", "parcel_id"} <= set(desc.json()["inputs"])
    lon, lat = CONTROL_LONLAT
    for inputs in (
        {"lon": lon, "lat": lat},
        {"sheet_no": 12, "parcel_no": 35, "ward": "Thuận Thành"},
        {"parcel_id": ids["p1"]},
    ):
        r = client.post("/ogc/processes/zoning-lookup/execution", json={"inputs": inputs})
        assert r.status_code == 200, r.text
        check_straddling_parcel(r.json(), ids)
    r = client.post("/ogc/processes/zoning-lookup/execution", json={"inputs": {"lon": "x", "lat": 1}})
    assert r.status_code == 400 and "lon" in r.json()["description"]
    r = client.post("/ogc/processes/zoning-lookup/execution", json={"inputs": {"parcel_id": 987654}})
    # pygeoapi's synchronous (Dummy) manager answers every failed execution with 400 InvalidParameterValue
    assert r.status_code == 400 and "no parcel with id 987654" in r.json()["description"]


def test_vector_tiles_with_cache_headers(client: TestClient) -> None:
    import mapbox_vector_tile as decoder

    # z14 tile holding the control point
    z, x, y = 14, 13088, 7431
    r = client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    layers = decoder.decode(r.content)
    assert set(layers) == {"zones", "parcels", "red_lines"}
    zone_codes = {f["properties"]["zone_code"] for f in layers["zones"]["features"]}
    assert {"Z1", "Z2"} <= zone_codes
    z1 = next(f for f in layers["zones"]["features"] if f["properties"]["zone_code"] == "Z1")["properties"]
    assert z1["land_use_code"] == "ODT" and z1["name_vi"] and z1["name_en"] and z1["color"].startswith("#")
    assert "D1" not in zone_codes  # the draft plan's zone
    again = client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    one = client.get(f"/ogc/collections/zones/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert set(decoder.decode(one.content)) == {"zones"}
    collection = client.get("/ogc/collections/zones", params={"f": "json"}).json()
    assert any(link["href"] == "http://testserver/ogc/collections/zones/tiles" for link in collection["links"])
    meta = client.get("/ogc/collections/zones/tiles").json()
    assert "{tileMatrix}/{tileRow}/{tileCol}" in meta["tilesets"][0]["links"][1]["href"]


def test_bad_tiles(client: TestClient) -> None:
    assert client.get("/ogc/tiles/WebMercatorQuad/3/8/1").status_code == 404
    assert client.get("/ogc/tiles/WebMercatorQuad/40/0/0").status_code == 400
    assert client.get("/ogc/collections/plans/tiles/WebMercatorQuad/1/0/0").status_code == 404
    assert client.get("/ogc/tiles/WebMercatorQuad/a/0/0").status_code == 400


def test_plans_list_and_publish_on_the_command_line(
    client: TestClient, sample_plan: tuple[str, dict[str, Any]], ids: dict[str, Any]
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")} | {"GIS_DATABASE_URL": sample_plan[0]}
    planning = str(Path(sys.executable).with_name("planning"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([planning, "plans", *args], env=env, capture_output=True, text=True, timeout=60)

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert "46QCT0000002" in listed.stdout and "draft" in listed.stdout and "1234/QĐ-UBND" in listed.stdout

    def public_zone_codes() -> set[str]:
        r = client.get("/ogc/collections/zones/items", params={"f": "json", "limit": 100})
        return {f["properties"]["zone_code"] for f in r.json()["features"]}

    assert "P1" in public_zone_codes() and "P2" not in public_zone_codes()
    missing = run("publish", "46QPK0000003")  # a draft without its decision
    assert missing.returncode == 1 and "decision" in missing.stderr and "Traceback" not in missing.stderr
    unknown = run("publish", "46QCT9999999")
    assert unknown.returncode == 1 and "no plan" in unknown.stderr
    future = run("publish", "46QPK0000003", "--decision-no", "5/QĐ-UBND", "--decision-date", "2999-01-01")
    assert future.returncode == 1 and "after today" in future.stderr and "Traceback" not in future.stderr
    bad_date = run("publish", "46QPK0000003", "--decision-no", "5/QĐ-UBND", "--decision-date", "1/2/2026")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    done = run(
        "publish", "46QCT0000002", "--decision-no", "22/QĐ-UBND", "--user", "lan.nguyen", "--reason", "QĐ 22/QĐ-UBND"
    )
    assert done.returncode == 0, done.stderr
    assert "version 2" in done.stderr and "version 1 superseded" in done.stderr and "22/QĐ-UBND" in done.stderr
    assert "rebuild queued as job" in done.stderr  # as through the API
    assert "P2" in public_zone_codes() and "P1" not in public_zone_codes()
    statuses = run("list", "--code", "46QCT0000002").stdout
    assert "superseded" in statuses and "approved" in statuses
    again = run("publish", "46QCT0000002")
    assert again.returncode == 1 and "no draft" in again.stderr


def test_docs_describe_the_lookup_answer_field_by_field(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in ("/lookup", "/lookup/parcels/{parcel_id}"):
        ref = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/LookupAnswer")
    schemas = doc["components"]["schemas"]
    assert {"LookupAnswer", "Zone", "ZoneRules", "ZoneBasis", "Parcel", "PlanRef", "LookupEnvelope"} <= set(schemas)
    rules = schemas["ZoneRules"]["properties"]
    assert "max_floors" in rules and all(r.get("description") for r in rules.values())
    assert {"PlanList", "PublishAnswer", "JobAnswer"} <= set(schemas)
