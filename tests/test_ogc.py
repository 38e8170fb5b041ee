"""OGC API - Features parts 1-3 at /ogc, on the sample plan, through the app (TestClient runs the lifespan)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pyproj
import pytest
from fastapi.testclient import TestClient
from ogc_sample import CONTROL_LONLAT, E0, N0

from gis_service.api.app import create_app
from gis_service.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def client(sample_plan: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url, _ = sample_plan
    settings = Settings(database_url=url, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("ogc"))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def ids(sample_plan: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return sample_plan[1]


def items(client: TestClient, collection: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/ogc/collections/{collection}/items", params={"f": "json", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_landing_page_and_collections(client: TestClient) -> None:
    r = client.get("/ogc", params={"f": "json"}, follow_redirects=True)
    assert r.status_code == 200, r.text
    assert any(link["href"].startswith("http://testserver/ogc") for link in r.json()["links"])
    cols = client.get("/ogc/collections", params={"f": "json"}).json()["collections"]
    names = {c["id"] for c in cols}
    assert names >= {"plans", "zones", "parcels", "buildings", "red_lines", "building_lines"}
    zones = next(c for c in cols if c["id"] == "zones")
    assert EPSG + "9214" in zones["crs"] and CRS84 in zones["crs"]
    conf = client.get("/ogc/conformance", params={"f": "json"}).json()["conformsTo"]
    assert any("ogcapi-features-2" in c for c in conf) and any("cql2-text" in c for c in conf)


def test_only_approved_plans_are_public(client: TestClient, ids: dict[str, Any]) -> None:
    zones = items(client, "zones", limit=100)["features"]
    plan_ids = {f["properties"]["plan_id"] for f in zones}
    assert ids["draft"] not in plan_ids
    # one version of 46QCT0000002 is public (which one depends on whether its publish test ran already)
    assert len({ids["publish_v1"], ids["publish_v2"]} & plan_ids) == 1
    assert ids["plan"] in plan_ids
    r = client.get(f"/ogc/collections/zones/items/{ids['draft_zone']}", params={"f": "json"})
    assert r.status_code == 404
    plans = {f["properties"]["code"] for f in items(client, "plans")["features"]}
    assert "46QPK0000003" not in plans and "46QPK0000001" in plans


def test_item_properties_and_links(client: TestClient, ids: dict[str, Any]) -> None:
    r = client.get(f"/ogc/collections/zones/items/{ids['z1']}", params={"f": "json"})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["id"] == ids["z1"] and f["properties"]["land_use_code"] == "ODT"
    assert f["properties"]["max_density_pct"] == 60.0 and f["properties"]["max_floors"] == 3
    assert math.isclose(f["properties"]["geom_area_m2"], 510 * 1000, rel_tol=1e-9)
    assert r.headers["content-crs"] == f"<{CRS84}>"


def test_paging_with_next_links(client: TestClient) -> None:
    first = items(client, "parcels", limit=2)
    assert first["numberReturned"] == 2
    assert "numberMatched" not in first  # a full page: no COUNT of the whole table on every page
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert "offset=2" in nxt and nxt.startswith("http://testserver/ogc/collections/parcels/items")
    assert items(client, "parcels", resulttype="hits")["numberMatched"] == 3  # counted when asked
    second = items(client, "parcels", limit=2, offset=2)
    assert second["numberReturned"] == 1 and second["numberMatched"] == 3
    assert not any(link["rel"] == "next" for link in second["links"])
    seen = [f["id"] for f in first["features"] + second["features"]]
    assert len(set(seen)) == 3


def test_property_filter_and_sortby(client: TestClient) -> None:
    got = items(client, "parcels", sheet_no=12, parcel_no=35, sortby="-ward")["features"]
    assert [f["properties"]["ward"] for f in got] == ["Thuận Thành", "Phú Hậu"]
    got = items(client, "parcels", sortby="parcel_no,-ward")["features"]
    assert [f["properties"]["parcel_no"] for f in got] == [34, 35, 35]


def test_bbox_in_crs84_and_in_vn2000(client: TestClient, ids: dict[str, Any]) -> None:
    # a box around the control point only: P1 (and not P2, P3)
    lon, lat = CONTROL_LONLAT
    got = items(client, "parcels", bbox=f"{lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}")
    assert [f["id"] for f in got["features"]] == [ids["p1"]]
    got = items(client, "parcels", bbox=f"{E0 - 5},{N0 - 5},{E0 + 5},{N0 + 5}", **{"bbox-crs": EPSG + "9214"})
    assert [f["id"] for f in got["features"]] == [ids["p1"]]


def _first_vertex(feature: dict[str, Any]) -> tuple[float, float]:
    x, y = feature["geometry"]["coordinates"][0][0][0][:2]
    return x, y


@pytest.mark.parametrize("crs", [None, CRS84, EPSG + "4326", EPSG + "9214", EPSG + "3857"])
def test_control_point_within_1_cm_in_every_crs(client: TestClient, ids: dict[str, Any], crs: str | None) -> None:
    params = {"f": "json"} | ({"crs": crs} if crs else {})
    r = client.get(f"/ogc/collections/buildings/items/{ids['b1']}", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == f"<{crs or CRS84}>"
    x, y = _first_vertex(r.json())
    listed = items(client, "buildings", **({"crs": crs} if crs else {}))
    assert _first_vertex(next(f for f in listed["features"] if f["id"] == ids["b1"])) == (x, y)
    lon, lat = CONTROL_LONLAT
    if crs in (None, CRS84):
        off = _metres_between_lonlat(x, y, lon, lat)
    elif crs == EPSG + "4326":
        off = _metres_between_lonlat(y, x, lon, lat)  # latitude first
    elif crs == EPSG + "9214":
        off = math.hypot(x - E0, y - N0)
    else:
        ex, ey = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
        off = math.hypot(x - ex, y - ey) * math.cos(math.radians(lat))  # Web Mercator metres -> ground metres
    assert off < 0.01, f"control point {off:.4f} m off in {crs}"


def _metres_between_lonlat(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


def test_unsupported_crs_is_400(client: TestClient) -> None:
    r = client.get("/ogc/collections/zones/items", params={"f": "json", "crs": EPSG + "32648"})
    assert r.status_code == 400 and "32648" in r.json()["description"]


def test_cql2_text_and_json(client: TestClient, ids: dict[str, Any]) -> None:
    got = items(client, "zones", filter="max_floors >= 5 AND land_use_code = 'TMD'", **{"filter-lang": "cql2-text"})
    assert [f["id"] for f in got["features"]] == [ids["z2"]]
    lon, lat = CONTROL_LONLAT
    got = items(client, "parcels", filter=f"S_INTERSECTS(geometry, POINT({lon} {lat}))")
    assert [f["id"] for f in got["features"]] == [ids["p1"]]
    # the same point given in VN-2000 (filter-crs EPSG:9214) and latitude first (EPSG:4326)
    got = items(client, "parcels", filter=f"S_INTERSECTS(geometry, POINT({E0} {N0}))", **{"filter-crs": EPSG + "9214"})
    assert [f["id"] for f in got["features"]] == [ids["p1"]]
    got = items(client, "parcels", filter=f"S_INTERSECTS(geom, POINT({lat} {lon}))", **{"filter-crs": EPSG + "4326"})
    assert [f["id"] for f in got["features"]] == [ids["p1"]]
    got = items(client, "parcels", filter="ward LIKE 'Phú%' OR parcel_no IN (34)")
    assert {f["id"] for f in got["features"]} == {ids["p2"], ids["p3"]}
    body = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "sheet_no"}, 12]},
            {"op": "<", "args": [{"property": "geom_area_m2"}, 2000]},
        ],
    }
    r = client.post(
        "/ogc/collections/parcels/items",
        params={"f": "json", "filter-lang": "cql2-json"},
        json=body,
        headers={"Content-Type": "application/query-cql-json"},
    )
    if r.status_code == 200:  # pygeoapi takes a CQL2 JSON body by POST on items
        assert {f["id"] for f in r.json()["features"]} == {ids["p1"]}  # P2, P3 are 2500 m²
    else:
        pytest.fail(f"CQL2 JSON by POST: {r.status_code} {r.text}")


def test_cql2_unknown_property_is_400_not_empty_200(client: TestClient) -> None:
    r = client.get("/ogc/collections/zones/items", params={"f": "json", "filter": "height_of_tree > 3"})
    assert r.status_code == 400
    assert "height_of_tree" in r.json()["description"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ogc/collections/zones/items", {"filter": "zone_code = 'Z1''; DROP TABLE planning.zones; --'"}),
        ("/ogc/collections/zones/items", {"sortby": "id;DROP TABLE planning.zones"}),
        ("/ogc/collections/zones/items", {"properties": "zone_code,(SELECT 1)"}),
        ("/ogc/collections/zones/items", {"zone_code": "Z1' OR '1'='1"}),
        ("/ogc/collections/zones/items/1;DROP TABLE planning.zones", {}),
        ("/ogc/collections/zones/items/1 OR 1=1", {}),
    ],
)
def test_injection_attempts_are_harmless(client: TestClient, path: str, params: dict[str, str]) -> None:
    r = client.get(path, params={"f": "json", **params})
    assert r.status_code in (200, 400, 404), r.text
    if r.status_code == 200 and "features" in r.json():
        assert r.json()["features"] == []
    assert items(client, "zones", limit=100)["numberReturned"] >= 2  # the table is still there


def test_bad_parameters_are_400_and_unknown_things_404(client: TestClient) -> None:
    for params in (
        {"limit": "abc"},
        {"offset": "-1"},
        {"bbox": "1,2,3"},
        {"max_floors": "three"},
        {"filter": "max_floors >>> 3"},
        {"sortby": "nothing_here"},
    ):
        r = client.get("/ogc/collections/zones/items", params={"f": "json", **params})
        assert r.status_code == 400, (params, r.status_code, r.text)
        assert r.json()["description"]
    assert client.get("/ogc/collections/nope/items", params={"f": "json"}).status_code == 404
    assert client.get("/ogc/collections/zones/items/999999", params={"f": "json"}).status_code == 404
    assert client.get("/ogc/collections/zones/items/abc", params={"f": "json"}).status_code == 404


def test_page_size_is_capped(client: TestClient) -> None:
    r = client.get("/ogc/collections/parcels/items", params={"f": "json", "limit": 100000})
    assert r.status_code == 200  # cut to the cap (1000 here; see test_ogc_limits.py), not refused
    assert r.json()["numberReturned"] == 3


def test_openapi_document_is_valid(client: TestClient) -> None:
    from pygeoapi.openapi import validate_openapi_document

    r = client.get("/ogc/openapi", params={"f": "json"})
    assert r.status_code == 200, r.text[:500]
    doc = r.json()
    assert validate_openapi_document(doc)
    assert "/collections/zones/items" in doc["paths"]
