"""The plan on a date (``as_of``): the lookup, the OGC items and process, the vector tiles, on both sides of a
publication, on the demo's sample plans (the 2019 version, superseded by the one decided on 2024-06-15, and the
detailed plan decided on 2024-09-20)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sample_plans_db import fill_with_sample_plans

from gis_service.api.app import create_app
from gis_service.as_of import plans_in_force, today_in_hue
from gis_service.db import create_db_engine
from gis_service.editing import publish_with_decision, start_draft
from gis_service.errors import ValidationError
from gis_service.lookup import LookupQuery, lookup_json
from gis_service.lookup_answer import LookupAnswer
from gis_service.settings import Settings

ZONING, DETAILED = "46QPK0000001", "46QCT0000001"
#: The day before and the day of the 2024 version's decision; before the 2019 version's.
BEFORE, AFTER, NO_PLAN = "2024-06-14", "2024-06-15", "2019-12-19"
#: Phú Xuân, tờ 13, thửa 4: in KT-19 and KT-20, where the 2019 version allowed a floor more.
STRADDLING: dict[str, Any] = {"sheet_no": 13, "parcel_no": 4, "ward": "Phú Xuân"}


@pytest.fixture(scope="module")
def sample_db(db_server: Any) -> Iterator[str]:
    url = db_server.create("asof")
    fill_with_sample_plans(url)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def client(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(database_url=sample_db, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("o"))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def pg(sample_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(sample_db, autocommit=True) as conn:
        yield conn


def lookup(client: TestClient, path: str = "/lookup", **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    LookupAnswer.model_validate(body)
    return body


def floors(answer: dict[str, Any]) -> dict[str, tuple[int, int, str]]:
    """Each zone's code -> (max floors, plan version, decision number)."""
    return {
        z["zone_code"]: (z["rules"]["max_floors"], z["plan"]["version"], z["plan"]["decision_no"])
        for z in answer["zones"]
    }


def test_the_versions_in_force_follow_the_decision_dates(pg: psycopg.Connection[Any]) -> None:
    def versions(day: date) -> dict[str, int]:
        return {p.code: p.version for p in plans_in_force(pg, day).plans}

    assert versions(date(2019, 12, 19)) == {}
    assert versions(date(2019, 12, 20)) == {ZONING: 1}
    assert versions(date(2024, 6, 14)) == {ZONING: 1}
    assert versions(date(2024, 6, 15)) == {ZONING: 2}
    assert versions(date(2024, 9, 20)) == {ZONING: 2, DETAILED: 1}
    approved = dict(pg.execute("SELECT code, version FROM planning.plans WHERE status = 'approved'").fetchall())
    assert versions(today_in_hue()) == approved
    later = plans_in_force(pg, date(2099, 1, 1))
    assert later.day == today_in_hue() and later.requested == date(2099, 1, 1)
    assert {p.code: p.version for p in later.plans} == approved


def test_lookup_before_and_after_the_publication(client: TestClient) -> None:
    before = lookup(client, **STRADDLING, as_of=BEFORE)
    after = lookup(client, **STRADDLING, as_of=AFTER)
    assert floors(before) == {"KT-19": (3, 1, "DEMO-00/QĐ-UBND"), "KT-20": (4, 1, "DEMO-00/QĐ-UBND")}
    assert floors(after) == {"KT-19": (2, 2, "DEMO-01/QĐ-UBND"), "KT-20": (3, 2, "DEMO-01/QĐ-UBND")}
    assert before["as_of"]["date"] == BEFORE and [p["version"] for p in before["as_of"]["plans"]] == [1]
    assert after["as_of"]["date"] == AFTER and [p["version"] for p in after["as_of"]["plans"]] == [2]
    # the envelope is drawn from the version in force: two floors allowed on KT-19's part in 2024, three in 2019
    assert before["envelope"]["capacity"] != after["envelope"]["capacity"]
    by_id = lookup(client, f"/lookup/parcels/{after['parcel']['id']}", as_of=BEFORE)
    assert floors(by_id) == floors(before)
    assert floors(lookup(client, **STRADDLING)) == floors(after)  # the default: today's plan


def test_before_any_plan_no_plan_was_in_force(client: TestClient) -> None:
    answer = lookup(client, **STRADDLING, as_of=NO_PLAN)
    assert answer["plan_data"] == "no_plan_in_force" and answer["zones"] == [] and answer.get("envelope") is None
    assert answer["as_of"] == {"date": NO_PLAN, "requested": NO_PLAN, "plans": []}
    assert answer["parcel"]["sheet_no"] == 13  # the parcel is still found (the cadastre as it is today)


def test_a_later_date_answers_for_today_and_bad_dates_name_the_parameter(client: TestClient) -> None:
    later = (today_in_hue() + timedelta(days=400)).isoformat()
    answer = lookup(client, **STRADDLING, as_of=later)
    assert answer["as_of"]["date"] == today_in_hue().isoformat() and answer["as_of"]["requested"] == later
    for bad in ("2024-13-01", "01/07/2024", "20240701", "2024-W27-1", "yesterday", ""):
        r = client.get("/lookup", params={**STRADDLING, "as_of": bad})
        assert r.status_code == 400 and "as_of" in r.json()["description"], (bad, r.text)
        r = client.get("/lookup/parcels/1", params={"as_of": bad})
        assert r.status_code == 400 and "as_of" in r.json()["description"], (bad, r.text)


def test_zoning_lookup_process_takes_as_of(client: TestClient) -> None:
    url = "/ogc/processes/zoning-lookup/execution"
    r = client.post(url, json={"inputs": {**STRADDLING, "as_of": BEFORE}})
    assert r.status_code == 200, r.text
    assert floors(r.json())["KT-20"] == (4, 1, "DEMO-00/QĐ-UBND")
    r = client.post(url, json={"inputs": {**STRADDLING, "as_of": "15/06/2024"}})
    assert r.status_code == 400 and "as_of" in r.json()["description"]
    assert "as_of" in client.get("/ogc/processes/zoning-lookup", params={"f": "json"}).json()["inputs"]


def items(client: TestClient, collection: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/ogc/collections/{collection}/items", params={"f": "json", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_ogc_items_before_and_after_the_publication(client: TestClient, pg: psycopg.Connection[Any]) -> None:
    ids = dict(pg.execute("SELECT version, id FROM planning.plans WHERE code = %s", [ZONING]).fetchall())

    def hits(collection: str, **params: Any) -> int:
        return int(items(client, collection, resulttype="hits", **params)["numberMatched"])

    assert hits("zones", as_of=BEFORE) == 89 and hits("zones", as_of=AFTER) == 97  # README: the 2019 version's 89
    assert hits("zones", as_of=NO_PLAN) == 0 and hits("red_lines", as_of=NO_PLAN) == 0
    assert hits("zones") == hits("zones", as_of=today_in_hue().isoformat())
    hs = items(client, "zones", zone_code="HS-01", as_of=BEFORE)["features"]
    assert [(f["properties"]["land_use_code"], f["properties"]["plan_id"]) for f in hs] == [("HNK", ids[1])]
    hs = items(client, "zones", zone_code="HS-01", as_of=AFTER)["features"]
    assert [(f["properties"]["land_use_code"], f["properties"]["plan_id"]) for f in hs] == [("ODT", ids[2])]
    page = items(client, "red_lines", as_of=BEFORE, limit=5)
    assert {f["properties"]["plan_id"] for f in page["features"]} == {ids[1]}
    assert any("as_of=" + BEFORE in link["href"] for link in page["links"] if link.get("rel") == "next")
    plans = items(client, "plans", as_of=BEFORE)["features"]
    assert [(f["properties"]["code"], f["properties"]["version"]) for f in plans] == [(ZONING, 1)]
    kt = items(client, "zones", filter="zone_code='KT-20'", as_of=BEFORE)["features"]
    assert [f["properties"]["max_floors"] for f in kt] == [4]


def test_ogc_items_refuse_a_bad_date_and_a_date_on_the_cadastre(client: TestClient) -> None:
    r = client.get("/ogc/collections/zones/items", params={"f": "json", "as_of": "2024-02-30"})
    assert r.status_code == 400 and "as_of" in r.json()["description"]
    r = client.get("/ogc/collections/parcels/items", params={"f": "json", "as_of": BEFORE})
    assert r.status_code == 400 and "as_of" in r.json()["description"] and "parcels" in r.json()["description"]
    # parameters pygeoapi does not know are still ignored (a cache buster, say)
    assert items(client, "parcels", limit=1, _="123")["numberReturned"] == 1


def test_openapi_documents_as_of(client: TestClient) -> None:
    ogc = client.get("/ogc/openapi", params={"f": "json"}).json()
    names = [p.get("name") for p in ogc["paths"]["/collections/zones/items"]["get"]["parameters"]]
    assert "as_of" in names
    assert "as_of" not in [p.get("name") for p in ogc["paths"]["/collections/parcels/items"]["get"]["parameters"]]
    app = client.get("/openapi.json").json()["paths"]
    for path in ("/lookup", "/lookup/parcels/{parcel_id}", "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}"):
        assert "as_of" in [p["name"] for p in app[path]["get"]["parameters"]], path


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_vector_tiles_before_and_after_the_publication(client: TestClient) -> None:
    # Hương Sơ, tờ 30, thửa 46: the new area, farmland (HS-01, HNK) in the 2019 version
    centroid = lookup(client, sheet_no=30, parcel_no=46, ward="Hương Sơ")["parcel"]["centroid"]
    x, y = tile_of(centroid["lon"], centroid["lat"], 15)

    def zone_uses(path: str, **params: Any) -> tuple[set[str], Any]:
        r = client.get(path, params=params)
        assert r.status_code == 200, r.text
        layers = mapbox_vector_tile.decode(r.content)
        uses = {f["properties"]["land_use_code"] for f in layers.get("zones", {"features": []})["features"]}
        return uses, r

    dataset, collection = (
        f"/ogc/tiles/WebMercatorQuad/15/{y}/{x}",
        f"/ogc/collections/zones/tiles/WebMercatorQuad/15/{y}/{x}",
    )
    before, r_before = zone_uses(dataset, as_of=BEFORE)
    after, r_after = zone_uses(dataset, as_of=AFTER)
    assert "HNK" in before and "HNK" not in after and before != after
    assert r_before.headers["etag"] != r_after.headers["etag"]  # a cache keys on the address and the body
    assert zone_uses(collection, as_of=BEFORE)[0] == before
    assert zone_uses(dataset)[0] == after == zone_uses(dataset, as_of=today_in_hue().isoformat())[0]
    nothing, _ = zone_uses(dataset, as_of=NO_PLAN)
    assert nothing == set()
    assert "parcels" in mapbox_vector_tile.decode(client.get(dataset, params={"as_of": NO_PLAN}).content)
    assert client.get(dataset, params={"as_of": "2024-6-1"}).status_code == 400
    r = client.get(f"/ogc/collections/parcels/tiles/WebMercatorQuad/15/{y}/{x}", params={"as_of": BEFORE})
    assert r.status_code == 400 and "as_of" in r.json()["description"]


def test_as_of_today_equals_the_default_on_every_parcel(client: TestClient, pg: psycopg.Connection[Any]) -> None:
    today = today_in_hue()
    ids = [r[0] for r in pg.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall()]
    with_zones = 0
    for pid in ids:  # every parcel, through the core (the zones, shares, rules and plans)
        default = json.loads(lookup_json(pg, LookupQuery(parcel_id=pid)))
        dated = json.loads(lookup_json(pg, LookupQuery(parcel_id=pid), as_of=today))
        assert dated.pop("as_of")["date"] == today.isoformat()
        assert dated == default, pid
        with_zones += bool(default["zones"])
    assert with_zones > 0.9 * len(ids)
    for pid in ids[::20]:  # a twentieth through HTTP, with the envelope (drawn from the versions in force)
        default = lookup(client, f"/lookup/parcels/{pid}")
        dated = lookup(client, f"/lookup/parcels/{pid}", as_of=today.isoformat())
        dated.pop("as_of")
        assert dated == default, pid


def test_publishing_refuses_decision_dates_that_would_change_the_plan_in_force_today(sample_db: str) -> None:
    engine = create_db_engine(sample_db, pool_size=1)
    try:
        for day, words in (
            (today_in_hue() + timedelta(days=1), "after today"),
            (date(2024, 6, 1), "before that of version 2"),
        ):
            with engine.connect() as conn, conn.begin() as tx:
                start_draft(conn, ZONING, user="test", reason="thử")
                with pytest.raises(ValidationError, match=words):
                    publish_with_decision(
                        conn, ZONING, decision_no="9/QĐ-UBND", decision_date=day, user="test", reason="thử"
                    )
                tx.rollback()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM planning.plans")).scalar_one() == 3
    finally:
        engine.dispose()
