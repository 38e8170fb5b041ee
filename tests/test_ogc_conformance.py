"""Every conformance class ``/ogc/conformance`` declares is exercised here, and nothing else is declared.

One check per class (:data:`CHECKS`), over the plans of tests/plan_pair_sample.py (a zoning plan approved, a
detailed plan in draft): a class added to ``ogc/conformance.py`` without a check fails
:func:`test_declared_classes_are_exactly_those_checked`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from plan_pair_sample import E0, N0, load_plan_pair

from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings
from ogc.conformance import CONFORMANCE

ITEMS = "/ogc/collections/zones/items"
EPSG9214 = "http://www.opengis.net/def/crs/EPSG/0/9214"


class Ctx:
    """The client, the ids of the sample, a planner's headers."""

    def __init__(self, client: TestClient, ids: dict[str, int], planner: dict[str, str]) -> None:
        self.client, self.ids, self.planner = client, ids, planner

    def json(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params={"f": "json", **params})
        assert r.status_code == 200, (path, params, r.text)
        return r.json()

    def codes(self, **params: Any) -> list[str]:
        return sorted(f["properties"]["zone_code"] for f in self.json(ITEMS, **params)["features"])


def _landing(c: Ctx) -> None:
    rels = {link["rel"] for link in c.json("/ogc")["links"]}
    assert {"conformance", "data", "service-desc"} <= rels


def _json(c: Ctx) -> None:
    assert c.client.get("/ogc", params={"f": "json"}).headers["content-type"].startswith("application/json")


def _html(c: Ctx) -> None:
    for path in ("/ogc", ITEMS, "/ogc/conformance"):
        r = c.client.get(path, params={"f": "html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path


def _oas30(c: Ctx) -> None:
    doc = c.json("/ogc/openapi")
    assert doc["openapi"].startswith("3.0") and "/collections/zones/items" in doc["paths"]
    assert "/processes" in doc["paths"]


def _collections(c: Ctx) -> None:
    assert {"zones", "red_lines", "parcels"} <= {x["id"] for x in c.json("/ogc/collections")["collections"]}


def _features_core(c: Ctx) -> None:
    page = c.json(ITEMS, limit=2)
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 2
    assert any(link["rel"] == "next" for link in page["links"])
    one = c.json(f"{ITEMS}/{c.ids['A']}")
    assert one["properties"]["zone_code"] == "A"


def _geojson(c: Ctx) -> None:
    f = c.json(f"{ITEMS}/{c.ids['A']}")
    assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"


def _crs(c: Ctx) -> None:
    r = c.client.get(f"{ITEMS}/{c.ids['A']}", params={"f": "json", "crs": EPSG9214})
    assert r.headers["content-crs"] == f"<{EPSG9214}>"
    x, y = r.json()["geometry"]["coordinates"][0][0][0]
    assert abs(x - E0) < 0.01 and abs(y - N0) < 0.01


def _queryables(c: Ctx) -> None:
    props = c.json("/ogc/collections/zones/queryables")["properties"]
    assert {"land_use_code", "max_floors", "review_status", "position_error_m"} <= set(props)


def _queryable_parameters(c: Ctx) -> None:
    assert c.codes(land_use_code="DGD") == ["B"]
    assert c.codes(review_status="digitised") == ["A", "B", "R"]


def _filter(c: Ctx) -> None:
    assert c.codes(filter="max_floors > 3") == ["B"]


def _features_filter(c: Ctx) -> None:
    assert c.codes(filter="land_use_code <> 'SON'", limit=1) == ["A"]  # with the other parameters
    assert c.client.get(ITEMS, params={"filter": "nope = 1"}).status_code == 400


def _basic_cql2(c: Ctx) -> None:
    assert c.codes(filter="land_use_code = 'ODT' AND max_floors = 3") == ["A"]
    assert c.codes(filter="NOT (land_use_code = 'ODT') AND max_floors IS NULL") == ["R"]


def _cql2_text(c: Ctx) -> None:
    assert c.codes(**{"filter": "zone_code = 'R'", "filter-lang": "cql2-text"}) == ["R"]


def _cql2_json(c: Ctx) -> None:
    body = '{"op": "=", "args": [{"property": "land_use_code"}, "DGD"]}'
    assert c.codes(**{"filter": body, "filter-lang": "cql2-json"}) == ["B"]


def _advanced_comparison(c: Ctx) -> None:
    assert c.codes(filter="zone_code LIKE 'R%'") == ["R"]
    assert c.codes(filter="max_floors BETWEEN 3 AND 3") == ["A"]
    assert c.codes(filter="zone_code IN ('A', 'R')") == ["A", "R"]


def _spatial(c: Ctx) -> None:
    ring = c.json(f"{ITEMS}/{c.ids['B']}")["geometry"]["coordinates"][0][0]
    lon, lat = (sum(p[0] for p in ring[:-1]) / 4, sum(p[1] for p in ring[:-1]) / 4)
    assert c.codes(filter=f"S_INTERSECTS(geometry, POINT({lon} {lat}))") == ["B"]


def _create_replace_delete(c: Ctx) -> None:
    why = {**c.planner, "X-Change-Reason": "conformance check", "Content-Crs": f"<{EPSG9214}>"}
    square = [[[E0 + x, N0 + y] for x, y in ((5, 75), (15, 75), (15, 85), (5, 85), (5, 75))]]
    feature: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": square},
        "properties": {"plan_id": c.ids["detailed"], "zone_code": "c9", "land_use_code": "DKV"},
    }
    created = c.client.post(ITEMS, json=feature, headers=why)
    assert created.status_code == 201, created.text
    fid, tag = created.json()["id"], created.headers["etag"]
    feature["properties"]["zone_code"] = "c10"
    replaced = c.client.put(f"{ITEMS}/{fid}", json=feature, headers={**why, "If-Match": tag})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["properties"]["zone_code"] == "c10"
    gone = c.client.delete(f"{ITEMS}/{fid}", headers={**why, "If-Match": replaced.headers["etag"]})
    assert gone.status_code == 204


def _update(c: Ctx) -> None:
    path = f"{ITEMS}/{c.ids['a2']}"
    tag = c.client.get(path, params={"plan": "46QCT0009911"}, headers=c.planner).headers["etag"]
    r = c.client.patch(
        path,
        json={"properties": {"name": "Đường nội bộ"}},
        headers={**c.planner, "X-Change-Reason": "conformance check", "If-Match": tag},
    )
    assert r.status_code == 200 and r.json()["properties"]["name"] == "Đường nội bộ"


def _tile_of_zone_a(c: Ctx) -> tuple[int, int, int]:
    ring = c.json(f"{ITEMS}/{c.ids['A']}")["geometry"]["coordinates"][0][0]
    lon, lat = ring[0][0] + 0.0003, ring[0][1] + 0.0003
    z = 17
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def _tiles_core(c: Ctx) -> None:
    z, y, x = _tile_of_zone_a(c)
    r = c.client.get(f"/ogc/collections/zones/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.status_code == 200 and r.content


def _tileset(c: Ctx) -> None:
    ts = c.json("/ogc/collections/zones/tiles/WebMercatorQuad")
    assert ts["tileMatrixSetURI"].endswith("WebMercatorQuad") and ts["dataType"] == "vector"


def _tilesets_list(c: Ctx) -> None:
    for path in ("/ogc/collections/zones/tiles", "/ogc/tiles"):
        assert c.json(path)["tilesets"][0]["links"], path


def _dataset_tilesets(c: Ctx) -> None:
    assert "zones" in {layer["id"] for layer in c.json("/ogc/tiles/WebMercatorQuad")["layers"]}
    z, y, x = _tile_of_zone_a(c)
    assert "zones" in mapbox_vector_tile.decode(c.client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}").content)


def _geodata_tilesets(c: Ctx) -> None:
    assert c.json("/ogc/collections/red_lines/tiles")["tilesets"]


def _mvt(c: Ctx) -> None:
    z, y, x = _tile_of_zone_a(c)
    r = c.client.get(f"/ogc/collections/zones/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = mapbox_vector_tile.decode(r.content)["zones"]["features"]
    assert "A" in {f["properties"]["zone_code"] for f in features}


def _processes_core(c: Ctx) -> None:
    assert "zoning-lookup" in {p["id"] for p in c.json("/ogc/processes")["processes"]}


def _processes_json(c: Ctx) -> None:
    assert c.client.get("/ogc/processes", params={"f": "json"}).headers["content-type"].startswith("application/json")


def _process_description(c: Ctx) -> None:
    d = c.json("/ogc/processes/zoning-lookup")
    assert d["inputs"] and d["outputs"]


_C1 = "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/"
_F = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/"
_Q = "http://www.opengis.net/spec/cql2/1.0/conf/"
_T = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
_P = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CHECKS: dict[str, Callable[[Ctx], None]] = {
    _C1 + "core": _landing,
    _C1 + "landing-page": _landing,
    _C1 + "json": _json,
    _C1 + "html": _html,
    _C1 + "oas30": _oas30,
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections": _collections,
    _F.format(1) + "core": _features_core,
    _F.format(1) + "geojson": _geojson,
    _F.format(1) + "html": _html,
    _F.format(1) + "oas30": _oas30,
    _F.format(2) + "crs": _crs,
    _F.format(3) + "queryables": _queryables,
    _F.format(3) + "queryables-query-parameters": _queryable_parameters,
    _F.format(3) + "filter": _filter,
    _F.format(3) + "features-filter": _features_filter,
    _F.format(4) + "create-replace-delete": _create_replace_delete,
    _F.format(4) + "update": _update,
    _Q + "basic-cql2": _basic_cql2,
    _Q + "cql2-text": _cql2_text,
    _Q + "cql2-json": _cql2_json,
    _Q + "advanced-comparison-operators": _advanced_comparison,
    _Q + "basic-spatial-functions": _spatial,
    _T + "core": _tiles_core,
    _T + "tileset": _tileset,
    _T + "tilesets-list": _tilesets_list,
    _T + "dataset-tilesets": _dataset_tilesets,
    _T + "geodata-tilesets": _geodata_tilesets,
    _T + "mvt": _mvt,
    _P + "core": _processes_core,
    _P + "json": _processes_json,
    _P + "oas30": _oas30,
    _P + "ogc-process-description": _process_description,
}


@pytest.fixture(scope="module")
def ctx(db_server: Any, auth_headers: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    url = db_server.create("conformance")
    upgrade(url)
    eng = create_db_engine(url, pool_size=1)
    with eng.begin() as c:
        ids = load_plan_pair(c)
    eng.dispose()
    out = tmp_path_factory.mktemp("conformance")
    settings = Settings(database_url=url, ogc_dir=out, tiles={"out_dir": out / "tiles"})  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        yield Ctx(client, ids, auth_headers("planner", database_url=url))
    db_server.drop(url)


def test_declared_classes_are_exactly_those_checked(ctx: Ctx) -> None:
    declared = ctx.json("/ogc/conformance")["conformsTo"]
    assert declared == list(CONFORMANCE)
    assert sorted(declared) == sorted(CHECKS), "a declared class without a check, or a check of an undeclared one"


@pytest.mark.parametrize("cls", sorted(CHECKS))
def test_each_declared_class(ctx: Ctx, cls: str) -> None:
    CHECKS[cls](ctx)
