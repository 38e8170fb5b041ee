"""The buildable envelope through its routes, and what every answer says of missing data (real PostGIS, real HTTP).

The plan of tests/permits_sample.py, plus three zones east of it that answer for item 6 of the rules: zone D leaves
its floor area ratio open (``khongGioiHan``: no limit), zone C (the sample's) has no values at all (no data), zone E
was read from a scanned map (a draft, with its confidence); and a parcel in each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from permits_sample import E0, N0, box, box_geojson, load_permit_plan
from pyproj import Transformer

from gis_service.api.app import create_app
from gis_service.settings import Settings

TO_9214 = Transformer.from_crs("OGC:CRS84", "EPSG:9214", always_xy=True)


@pytest.fixture(scope="module")
def envelope_db(db_server: Any) -> Iterator[tuple[str, dict[str, int]]]:
    from gis_service.db.migrate import upgrade

    url = db_server.create("envelope")
    upgrade(url)
    ids = load_permit_plan(url)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('planning.user', 'test', false)")

        def one(sql: str, *args: Any) -> int:
            row = conn.execute(sql, args).fetchone()
            assert row is not None
            return int(row[0])

        zone_sql = (
            "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_density_pct, max_floors, max_height_m, "
            "max_far, min_setback_m, min_ground_elev_m, source, attributes, geom) "
            "VALUES (%s, %s, 'ODT', %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::geometry) RETURNING id"
        )
        ids["D"] = one(
            zone_sql,
            ids["plan"],
            "D",
            80,
            4,
            16,
            None,
            3,
            3.6,
            None,
            '{"khongGioiHan": "max_far"}',
            box(1000, 0, 1500, 1000),
        )
        ids["E"] = one(
            zone_sql,
            ids["plan"],
            "E",
            None,
            None,
            None,
            None,
            None,
            None,
            "scan",
            '{"digitized_from": "scan", "confidence": 0.82}',
            box(1500, 0, 2000, 1000),
        )
        parcel_sql = (
            "INSERT INTO planning.parcels (ward, sheet_no, parcel_no, area_m2, land_use_code, attributes, geom) "
            "VALUES ('Phú Xuân', 9, %s, 300, 'ODT', %s::jsonb, %s::geometry) RETURNING id"
        )
        ids["parcel_D"] = one(parcel_sql, 1, '{"tenDuong": "Nguyễn Trãi"}', box(1100, 980, 1115, 1000))
        ids["parcel_C"] = one(parcel_sql, 2, "{}", box(-1100, 980, -1085, 1000))
        ids["parcel_E"] = one(parcel_sql, 3, "{}", box(1600, 980, 1615, 1000))
        ids["parcel_A"] = one(parcel_sql, 4, '{"tenDuong": "Lê Duẩn"}', box(-60, 0, -48, 25))
        conn.execute(
            "INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) "
            "VALUES (%s, 'Nguyễn Trãi', 12, %s::geometry)",
            (ids["plan"], f"SRID=9214;MULTILINESTRING(({E0 + 1000} {N0 + 1000}, {E0 + 2000} {N0 + 1000}))"),
        )
        conn.commit()
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def client(envelope_db: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = envelope_db[0]
    settings = Settings(database_url=url, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("o"))
    with TestClient(create_app(settings)) as c:
        yield c


def test_envelope_of_a_town_lot_behind_its_building_line(
    client: TestClient, envelope_db: tuple[str, dict[str, int]]
) -> None:
    pid = envelope_db[1]["parcel_A"]
    r = client.get(f"/parcels/{pid}/envelope", params={"crs": "EPSG:9214"})
    assert r.status_code == 200, r.text
    env = r.json()
    assert env["status"] == "buildable" and env["use"] == "ODT" and env["category"] == "detached_house"
    # 12 x 25 m lot on Lê Duẩn (building line 3 m): 12 x 22 m buildable; density min(95 %, Table 2.8 at 300 m²: 60 %)
    assert env["buildable_area_m2"] == pytest.approx(264.0, abs=0.01)
    cap = env["capacity"]
    assert cap["footprint_m2"]["value"] == pytest.approx(180.0, abs=0.05) and cap["footprint_m2"]["rule"] == "density"
    assert cap["footprint_m2"]["basis"] == "qcvn" and "Bảng 2.8" in cap["footprint_m2"]["source"]
    assert cap["floors"]["value"] == 5 and cap["floors"]["basis"] == "plan" and "77/QĐ-UBND" in cap["floors"]["source"]
    assert cap["height_m"]["value"] == 18 and cap["floor_area_m2"]["rule"] == "far"
    assert cap["floor_area_m2"]["value"] == pytest.approx(4 * 300, abs=0.01)  # FAR 4 on the whole 300 m² lot
    (front,) = env["fronts"]
    assert front["road_name"] == "Lê Duẩn" and front["rule"] == "building_line" and front["frontage_m"] == 12.0
    # the largest footprint stands on the building line, 3 m behind the red line, and reaches back only as far as
    # the density allows: 180 m² / 12 m = 15 m deep
    fp = env["geometry"]["max_footprint"]["coordinates"][0]
    ys = [p[1] - N0 for p in fp]
    assert min(ys) == pytest.approx(3.0, abs=0.001) and max(ys) == pytest.approx(18.0, abs=0.02)
    # the solid: the buildable area up to the zone's height
    (part,) = env["solid"]["features"]
    assert part["properties"]["top_m"] == 18 and part["properties"]["zone_code"] == "A"
    # and the check calls the largest proposal compliant
    proposal = env["max_proposal"]
    answer = client.post("/permits/check", json=proposal).json()
    assert answer["verdict"] == "compliant", [x for x in answer["rules"] if x["status"] not in ("pass",)]


def test_envelope_in_crs84_lands_where_the_lot_is(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    pid = envelope_db[1]["parcel_A"]
    env = client.get(f"/parcels/{pid}/envelope").json()
    assert env["crs"].endswith("CRS84")
    lon, lat = (
        env["geometry"]["lot"]["coordinates"][0][0][0][:2]
        if env["geometry"]["lot"]["type"] == "MultiPolygon"
        else (env["geometry"]["lot"]["coordinates"][0][0])
    )
    e, n = TO_9214.transform(lon, lat)
    corners = {(round(E0 + x, 2), round(N0 + y, 2)) for x in (-60, -48) for y in (0, 25)}
    assert (round(e, 2), round(n, 2)) in corners  # through the official VN-2000 shift, to the centimetre


def test_envelope_glb_is_a_valid_model(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    pid = envelope_db[1]["parcel_A"]
    r = client.get(f"/parcels/{pid}/envelope.glb")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    data = r.content
    assert data[:4] == b"glTF" and int.from_bytes(data[8:12], "little") == len(data)
    chunk = int.from_bytes(data[12:16], "little")
    gltf = json.loads(data[20 : 20 + chunk])
    assert gltf["meshes"] and gltf["extensionsUsed"]
    lon, lat, _h = (float(v) for v in r.headers["x-envelope-origin"].split(","))
    assert abs(lon - 107.579) < 0.01 and abs(lat - 16.47) < 0.01


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/parcels/999999/envelope", 404, "no parcel with id 999999"),
        ("/parcels/0/envelope", 400, "parcel_id"),
        ("/parcels/1/envelope?crs=EPSG:3857", 400, "unknown CRS"),
        ("/parcels/1/envelope?use=XYZ", 400, "neither a land-use code"),
    ],
)
def test_envelope_bad_input(client: TestClient, path: str, status: int, words: str) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert words in r.text


# -- item 6: no limit, no data, scanned draft, in the lookup, the check and the envelope ---------------------------


def test_no_limit_is_not_no_data(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    ids = envelope_db[1]
    # lookup: zone D leaves the FAR open, zone C has no values
    d = client.get("/lookup", params={"e": E0 + 1200, "n": N0 + 500}).json()
    assert d["plan_data"] == "plan" and d["zones"][0]["zone_code"] == "D"
    assert d["zones"][0]["basis"]["max_far"] == "no_limit" and d["zones"][0]["basis"]["max_floors"] == "plan"
    c = client.get("/lookup", params={"e": E0 - 1200, "n": N0 + 500}).json()
    assert c["zones"][0]["zone_code"] == "C" and c["zones"][0]["basis"]["max_far"] == "no_data"
    # check: the same footprint passes the FAR in D (no limit), needs review in C (no data)
    body = {
        "footprint": box_geojson(0, 0, 0, 0),
        "crs": "EPSG:9214",
        "use": "ODT",
        "floors": 3,
        "height_m": 11,
        "total_floor_area_m2": 500,
        "ground_floor_elev_m": 4,
    }
    in_d = client.post(
        "/permits/check", json={**body, "parcel_id": ids["parcel_D"], "footprint": box_geojson(1101, 983, 1114, 995)}
    ).json()
    far = [x for x in in_d["rules"] if x["id"] == "far"]
    assert [(x["status"], x["basis"]) for x in far] == [("pass", "no_limit")], far
    in_c = client.post(
        "/permits/check", json={**body, "parcel_id": ids["parcel_C"], "footprint": box_geojson(-1099, 983, -1086, 995)}
    ).json()
    far = [x for x in in_c["rules"] if x["id"] == "far"]
    assert [(x["status"], x["basis"]) for x in far] == [("needs_review", "no_data")], far
    assert in_c["verdict"] == "needs_review" and "far" in in_c["needs_review"]
    # envelope: D's floor area is bounded by its floors (no FAR limit); C's figures need review
    env_d = client.get(f"/parcels/{ids['parcel_D']}/envelope").json()
    assert env_d["status"] == "buildable" and env_d["capacity"]["floor_area_m2"]["rule"] == "floors"
    env_c = client.get(f"/parcels/{ids['parcel_C']}/envelope").json()
    assert env_c["status"] == "needs_review"
    assert env_c["capacity"]["floors"]["basis"] == "no_data" and env_c["capacity"]["floors"]["value"] is None


def test_scanned_zones_are_drafts_everywhere(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    ids = envelope_db[1]
    look = client.get("/lookup", params={"e": E0 + 1700, "n": N0 + 500}).json()
    assert look["plan_data"] == "scanned_draft"
    zone = look["zones"][0]
    assert zone["basis"]["max_floors"] == "scanned_draft" and zone["confidence"] == pytest.approx(0.82)
    answer = client.post(
        "/permits/check",
        json={
            "parcel_id": ids["parcel_E"],
            "footprint": box_geojson(1601, 983, 1614, 995),
            "crs": "EPSG:9214",
            "use": "ODT",
            "floors": 2,
            "height_m": 8,
            "total_floor_area_m2": 200,
        },
    ).json()
    land = [x for x in answer["rules"] if x["id"] == "land_use"]
    assert land[0]["status"] == "needs_review" and land[0]["basis"] == "scanned_draft"
    assert land[0]["confidence"] == pytest.approx(0.82) and "scanned map" in land[0]["message_en"]
    assert answer["verdict"] == "needs_review"
    env = client.get(f"/parcels/{ids['parcel_E']}/envelope").json()
    assert env["status"] == "needs_review" and env["capacity"]["floors"]["basis"] == "scanned_draft"


def test_no_plan_here_is_said(client: TestClient) -> None:
    far = client.get("/lookup", params={"e": E0 + 5000, "n": N0 + 5000}).json()
    assert far["plan_data"] == "no_data" and far["zones"] == []
    answer = client.post(
        "/permits/check",
        json={
            "lot": box_geojson(5000, 5000, 5020, 5020),
            "footprint": box_geojson(5002, 5002, 5010, 5010),
            "crs": "EPSG:9214",
            "use": "ODT",
            "floors": 2,
            "height_m": 8,
            "total_floor_area_m2": 100,
        },
    ).json()
    assert answer["verdict"] == "needs_review"
    land = [x for x in answer["rules"] if x["id"] == "land_use"]
    assert land[0]["basis"] == "no_data" and "no data" in land[0]["message_en"]


def test_lookup_carries_the_envelope(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    pid = envelope_db[1]["parcel_A"]
    with_env = client.get(f"/lookup/parcels/{pid}").json()
    assert with_env["envelope"]["status"] == "buildable" and with_env["envelope"]["href"] == f"/parcels/{pid}/envelope"
    assert with_env["envelope"]["capacity"]["floors"]["value"] == 5
    without = client.get(f"/lookup/parcels/{pid}", params={"envelope": "false"}).json()
    assert "envelope" not in without
    assert client.get(f"/lookup/parcels/{pid}", params={"envelope": "maybe"}).status_code == 400
    process = client.post("/ogc/processes/zoning-lookup/execution", json={"inputs": {"parcel_id": pid}}).json()
    assert process["envelope"]["capacity"]["height_m"]["value"] == 18


def test_a_change_to_the_plan_is_seen_at_once(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    """Sites are kept between requests; any change to what they hold (here in SQL, as QGIS would) is seen next time."""
    url, ids = envelope_db
    pid = ids["parcel_D"]
    body = {
        "parcel_id": pid,
        "footprint": box_geojson(1101, 983, 1114, 995),
        "crs": "EPSG:9214",
        "use": "ODT",
        "floors": 4,
        "height_m": 14,
        "total_floor_area_m2": 300,
        "ground_floor_elev_m": 4,
    }
    assert client.get(f"/parcels/{pid}/envelope").json()["capacity"]["floors"]["value"] == 4
    assert client.post("/permits/check", json=body).json()["verdict"] in ("compliant", "needs_review")
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE planning.zones SET max_floors = 3 WHERE id = %s", (ids["D"],))
        conn.commit()
    try:
        assert client.get(f"/parcels/{pid}/envelope").json()["capacity"]["floors"]["value"] == 3
        assert client.get(f"/lookup/parcels/{pid}").json()["envelope"]["capacity"]["floors"]["value"] == 3
        answer = client.post("/permits/check", json=body).json()
        assert answer["verdict"] == "not_compliant" and answer["failed"] == ["floors"]
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE planning.zones SET max_floors = 4 WHERE id = %s", (ids["D"],))
            conn.commit()


def test_answers_match_their_documented_shape(client: TestClient, envelope_db: tuple[str, dict[str, int]]) -> None:
    """The envelope, lookup envelope and check answers validate against the models /docs shows, field by field."""
    from gis_service.rules.answers import CheckAnswer, EnvelopeAnswer, EnvelopeSummary

    ids = envelope_db[1]
    for key in ("parcel_A", "parcel_C", "parcel_D", "parcel_E"):
        for crs in ("CRS84", "EPSG:9214"):
            env = client.get(f"/parcels/{ids[key]}/envelope", params={"crs": crs}).json()
            EnvelopeAnswer.model_validate(env)
        summary = client.get(f"/lookup/parcels/{ids[key]}").json()["envelope"]
        summary.pop("href")
        EnvelopeSummary.model_validate(summary)
        proposal = client.get(f"/parcels/{ids[key]}/envelope").json()["max_proposal"]
        if proposal is not None:
            CheckAnswer.model_validate(client.post("/permits/check", json=proposal).json())
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "EnvelopeAnswer" in schemas and "CheckAnswer" in schemas and "Figure" in schemas
    figure = schemas["Figure"]["properties"]
    assert figure["basis"]["description"] == "Where the limit comes from" and "source" in figure
    envelope_route = doc["paths"]["/parcels/{parcel_id}/envelope"]["get"]["responses"]["200"]
    assert envelope_route["content"]["application/json"]["schema"]["$ref"].endswith("/EnvelopeAnswer")
    check_route = doc["paths"]["/permits/check"]["post"]["responses"]["200"]
    assert check_route["content"]["application/json"]["schema"]["$ref"].endswith("/CheckAnswer")
