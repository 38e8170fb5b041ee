"""The draft under consultation shown to the public (``view=consultation``): the lookup, the OGC items and the
vector tiles show only the drafts under consultation today, marked as such, and never mix them with the approved
plan; without the view nothing changes. On the demo's sample plans, with a draft of the zoning plan where KT-20
allows 7 floors (3 in the approved version) and a draft of the detailed plan that is never put to consultation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sample_plans_db import fill_with_sample_plans

from gis_service.api.app import create_app
from gis_service.as_of import today_in_hue
from gis_service.consultation.periods import close_consultation, open_consultation
from gis_service.consultation.view import NOTICE_EN, NOTICE_VI
from gis_service.db import create_db_engine
from gis_service.editing import start_draft, update_feature
from gis_service.lookup import LookupQuery, lookup_json
from gis_service.lookup_answer import LookupAnswer
from gis_service.settings import Settings

ZONING, DETAILED = "46QPK0000001", "46QCT0000001"
#: Phú Xuân, tờ 13, thửa 4: in KT-19 and KT-20.
STRADDLING: dict[str, Any] = {"sheet_no": 13, "parcel_no": 4, "ward": "Phú Xuân"}
CONSULT: dict[str, Any] = {"view": "consultation"}


@pytest.fixture(scope="module")
def sample_db(db_server: Any) -> Iterator[str]:
    url = db_server.create("consultview")
    fill_with_sample_plans(url)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def engine(sample_db: str) -> Iterator[sa.Engine]:
    eng = create_db_engine(sample_db, pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def pg(sample_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(sample_db, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def client(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(database_url=sample_db, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("o"))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def approved_answers(pg: psycopg.Connection[Any]) -> dict[int, str]:
    """Every parcel's lookup before any draft exists: what the public must keep seeing without the view."""
    ids = [r[0] for r in pg.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall()]
    return {pid: lookup_json(pg, LookupQuery(parcel_id=pid)) for pid in ids}


@pytest.fixture(scope="module")
def drafts(engine: sa.Engine, approved_answers: dict[int, str]) -> dict[str, int]:
    """A draft of each plan (KT-20: 7 floors in the zoning plan's draft); none is under consultation yet."""
    ids = {}
    with engine.begin() as conn:
        for code in (ZONING, DETAILED):
            ids[code] = start_draft(conn, code, user="planner", reason="dự thảo điều chỉnh").id
        kt20 = conn.execute(
            sa.text("SELECT id FROM planning.zones WHERE plan_id = :p AND zone_code = 'KT-20'"), {"p": ids[ZONING]}
        ).scalar_one()
        update_feature(conn, "zones", kt20, {"max_floors": 7}, user="planner", reason="tăng tầng cao")
    return ids


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == status, (path, params, r.text)
    return r


def lookup(client: TestClient, path: str = "/lookup", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = get(client, path, **params).json()
    LookupAnswer.model_validate(body)
    return body


def hits(client: TestClient, collection: str, **params: Any) -> int:
    body = get(client, f"/ogc/collections/{collection}/items", f="json", resulttype="hits", **params).json()
    return int(body["numberMatched"])


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tile_zones(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    layers = mapbox_vector_tile.decode(get(client, path, **params).content)
    return [f["properties"] for f in layers.get("zones", {"features": []})["features"]]


def seen_in_view(client: TestClient, tile: str) -> dict[str, Any]:
    """What the public sees in view=consultation: the lookup, the OGC items' count, the tile's zones."""
    return {
        "lookup": lookup(client, **STRADDLING, **CONSULT),
        "zones": hits(client, "zones", **CONSULT),
        "red_lines": hits(client, "red_lines", **CONSULT),
        "plans": hits(client, "plans", **CONSULT),
        "tile": tile_zones(client, tile, **CONSULT),
        "viewer": get(client, "/viewer/config.json").json()["consultations"],
    }


def assert_nothing_seen(client: TestClient, tile: str) -> None:
    seen = seen_in_view(client, tile)
    answer = seen["lookup"]
    assert answer["view"] == "consultation" and answer["plan_data"] == "no_consultation", answer
    assert answer["zones"] == [] and answer["consultation"]["consultations"] == [] and answer.get("envelope") is None
    assert (seen["zones"], seen["red_lines"], seen["plans"], seen["tile"], seen["viewer"]) == (0, 0, 0, [], [])


@pytest.fixture(scope="module")
def tile(client: TestClient) -> str:
    centroid = lookup(client, **STRADDLING)["parcel"]["centroid"]
    x, y = tile_of(centroid["lon"], centroid["lat"], 16)
    return f"/ogc/tiles/WebMercatorQuad/16/{y}/{x}"


def test_a_draft_is_seen_only_while_under_consultation(
    client: TestClient, engine: sa.Engine, drafts: dict[str, int], tile: str, pg: psycopg.Connection[Any]
) -> None:
    today = today_in_hue()
    assert_nothing_seen(client, tile)  # drafts exist, none under consultation
    with engine.begin() as conn:  # scheduled: from tomorrow
        later = open_consultation(
            conn, ZONING, starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=30),
            explanation="Điều chỉnh tầng cao ô KT-20", user="planner",
        )  # fmt: skip
    assert_nothing_seen(client, tile)
    with engine.begin() as conn:  # ended yesterday (written directly: opening refuses a past period)
        close_consultation(conn, later.id, user="planner")
        conn.execute(
            sa.text(
                "INSERT INTO planning.consultations (plan_id, starts_on, ends_on, explanation, opened_by) "
                "VALUES (:p, :s, :e, 'đã hết hạn', 'planner')"
            ),
            {"p": drafts[ZONING], "s": today - timedelta(days=30), "e": today - timedelta(days=1)},
        )
    assert_nothing_seen(client, tile)

    with engine.begin() as conn:  # under consultation from today
        running = open_consultation(
            conn, ZONING, starts_on=today, ends_on=today + timedelta(days=30),
            explanation="Điều chỉnh tầng cao ô KT-20", user="planner",
        )  # fmt: skip
    seen = seen_in_view(client, tile)
    answer = seen["lookup"]
    assert answer["view"] == "consultation" and answer["plan_data"] == "plan"
    marker = answer["consultation"]
    assert (marker["notice_vi"], marker["notice_en"]) == (NOTICE_VI, NOTICE_EN)
    assert marker["consultations"] == [
        {
            "id": running.id,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
            "plan": {
                "id": drafts[ZONING], "code": ZONING, "name": running.name, "level": "zoning", "version": 3,
                "status": "draft",
            },
        }
    ]  # fmt: skip
    assert seen["viewer"] == marker["consultations"]  # the viewer's banner knows it from its settings
    zones = {z["zone_code"]: (z["rules"]["max_floors"], z["plan"]["id"]) for z in answer["zones"]}
    assert zones == {"KT-19": (2, drafts[ZONING]), "KT-20": (7, drafts[ZONING])}
    assert answer["envelope"] is not None  # drawn from the draft
    draft_zones = pg.execute("SELECT count(*) FROM planning.zones WHERE plan_id = %s", [drafts[ZONING]]).fetchone()
    assert draft_zones is not None and seen["zones"] == draft_zones[0] > 0 and seen["plans"] == 1
    assert seen["red_lines"] > 0
    assert seen["tile"] and {(p["plan_id"], p["plan_status"]) for p in seen["tile"]} == {(drafts[ZONING], "draft")}
    print(f"under consultation: {seen['zones']} zones, {seen['red_lines']} red lines, {len(seen['tile'])} in tile")

    # the OGC features say what they are
    feats = get(client, "/ogc/collections/zones/items", f="json", zone_code="KT-20", **CONSULT).json()["features"]
    marked = [(f["properties"]["max_floors"], f["properties"]["view"], f["properties"]["plan_status"]) for f in feats]
    assert marked == [(7, "consultation", "draft")]
    page = get(client, "/ogc/collections/red_lines/items", f="json", limit=5, **CONSULT).json()
    assert any("view=consultation" in link["href"] for link in page["links"] if link.get("rel") == "next")
    plans = get(client, "/ogc/collections/plans/items", f="json", **CONSULT).json()["features"]
    assert [(p["properties"]["code"], p["properties"]["version"], p["properties"]["status"]) for p in plans] == [
        (ZONING, 3, "draft")
    ]

    with engine.begin() as conn:  # closed early: gone again
        close_consultation(conn, running.id, user="planner")
    assert_nothing_seen(client, tile)
    with engine.begin() as conn:  # open again for the tests that follow
        open_consultation(
            conn, ZONING, starts_on=today, ends_on=today + timedelta(days=30), explanation="Mở lại", user="planner"
        )


def test_the_approved_plan_is_unchanged_and_never_mixed(
    client: TestClient,
    pg: psycopg.Connection[Any],
    approved_answers: dict[int, str],
    drafts: dict[str, int],
    tile: str,
) -> None:
    running = pg.execute("SELECT count(*) FROM planning.consultations WHERE closed_at IS NULL").fetchone()
    assert running == (1,)  # the zoning plan's draft is under consultation (left so by the test above)
    approved = {r[0] for r in pg.execute("SELECT id FROM planning.plans WHERE status = 'approved'").fetchall()}
    same = in_draft = outside = 0
    for pid, before in approved_answers.items():  # every parcel, through the core
        assert lookup_json(pg, LookupQuery(parcel_id=pid)) == before, pid
        same += 1
        viewed = json.loads(lookup_json(pg, LookupQuery(parcel_id=pid), consultation=True))
        plan_ids = {z["plan"]["id"] for z in viewed["zones"]}
        assert plan_ids <= {drafts[ZONING]}, pid  # never an approved zone, never the other draft's
        in_draft += bool(plan_ids)
        outside += not plan_ids
    print(f"{same} parcels answer as before; in the view {in_draft} lie in the draft, {outside} outside it")
    assert in_draft > 0.5 * len(approved_answers)
    ids = list(approved_answers)[::25]
    for pid in ids:  # through HTTP too, with the envelope
        default = lookup(client, f"/lookup/parcels/{pid}")
        assert "view" not in default and "consultation" not in default
        assert {z["plan"]["id"] for z in default["zones"]} <= approved
    default_tile = tile_zones(client, tile)
    assert default_tile and {p["plan_id"] for p in default_tile} <= approved
    assert all("plan_status" not in p for p in default_tile)
    approved_zones = pg.execute(
        "SELECT count(*) FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id WHERE p.status = 'approved'"
    ).fetchone()
    assert approved_zones is not None and hits(client, "zones") == approved_zones[0]


def test_zoning_lookup_process_takes_the_view(client: TestClient, drafts: dict[str, int]) -> None:
    url = "/ogc/processes/zoning-lookup/execution"
    r = client.post(url, json={"inputs": {**STRADDLING, **CONSULT}})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["view"] == "consultation" and {z["plan"]["id"] for z in answer["zones"]} == {drafts[ZONING]}
    r = client.post(url, json={"inputs": {**STRADDLING, **CONSULT, "as_of": "2024-07-01"}})
    assert r.status_code == 400 and "cannot go together" in r.json()["description"]
    assert "view" in client.get("/ogc/processes/zoning-lookup", params={"f": "json"}).json()["inputs"]


def test_bad_view_and_view_with_as_of_are_refused_in_plain_words(client: TestClient, tile: str) -> None:
    cases = [
        ("/lookup", {**STRADDLING, "view": "draft"}, "view must be"),
        ("/lookup", {**STRADDLING, **CONSULT, "as_of": "2024-07-01"}, "as_of"),
        ("/lookup/parcels/1", {**CONSULT, "as_of": "2024-07-01"}, "cannot go together"),
        (tile, {**CONSULT, "as_of": "2024-07-01"}, "cannot go together"),
        (tile, {"view": "approved"}, "view must be"),
        ("/ogc/collections/zones/items", {"f": "json", **CONSULT, "as_of": "2024-07-01"}, "cannot go together"),
        ("/ogc/collections/zones/items", {"f": "json", "view": "x"}, "view must be"),
        ("/ogc/collections/parcels/items", {"f": "json", **CONSULT}, "no plan layer"),
        ("/ogc/collections/parcels/tiles/WebMercatorQuad/16/0/0", CONSULT, "no plan layer"),
    ]
    for path, params, words in cases:
        r = client.get(path, params=params)
        assert r.status_code == 400, (path, params, r.text)
        assert words in r.json()["description"], (path, r.text)


def test_openapi_documents_the_view(client: TestClient) -> None:
    ogc = client.get("/ogc/openapi", params={"f": "json"}).json()
    assert "view" in [p.get("name") for p in ogc["paths"]["/collections/zones/items"]["get"]["parameters"]]
    assert "view" not in [p.get("name") for p in ogc["paths"]["/collections/parcels/items"]["get"]["parameters"]]
    app = client.get("/openapi.json").json()["paths"]
    for path in (
        "/lookup",
        "/lookup/parcels/{parcel_id}",
        "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}",
        "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
    ):
        assert "view" in [p["name"] for p in app[path]["get"]["parameters"]], path
