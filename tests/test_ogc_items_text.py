"""The items built as GeoJSON text by PostgreSQL (gis_service.api.ogc_items) equal pygeoapi's answers.

The same request is sent twice: as it is (answered from PostgreSQL's text) and with ``Accept-Language: en-US``,
which changes nothing in the answer but leaves the request to pygeoapi. The two must hold the same features, in the
same order, with the same properties, coordinates within 1 cm, the same links, counts and headers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ogc_sample import CONTROL_LONLAT

from gis_service.api.app import create_app
from gis_service.settings import Settings
from ogc.layers import LAYERS
from ogc.provider import CRS84, EPSG, OUTPUT_CRS

PYGEOAPI = {"Accept-Language": "en-US"}
#: the answers from PostgreSQL's text are written with ", " and ": " (pygeoapi's have no spaces)
FROM_TEXT = (b'{"type": "FeatureCollection"', b'{"type" : "Feature"')
COMPARED_HEADERS = ("content-type", "content-crs", "content-language", "etag")


@pytest.fixture(scope="module")
def client(sample_plan: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url, _ = sample_plan
    settings = Settings(database_url=url, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("ogc"))
    with TestClient(create_app(settings)) as c:
        yield c


def _coordinates(value: Any) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)]
    return [c for v in value for c in _coordinates(v)]


def _same_feature(ours: dict[str, Any], theirs: dict[str, Any], crs: str) -> None:
    assert ours["id"] == theirs["id"] and ours["properties"] == theirs["properties"], (ours, theirs)
    assert ours.get("links") == theirs.get("links")
    if theirs["geometry"] is None:
        assert ours["geometry"] is None
        return
    assert ours["geometry"]["type"] == theirs["geometry"]["type"]
    a, b = _coordinates(ours["geometry"]["coordinates"]), _coordinates(theirs["geometry"]["coordinates"])
    assert len(a) == len(b)
    tolerance = 0.01 if crs in (EPSG + "9214", EPSG + "3857") else 1e-7  # 1e-7 degree is about 1 cm
    assert max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0) <= tolerance


def _compare(client: TestClient, path: str, params: dict[str, str]) -> dict[str, Any]:
    """Both answers of one request, compared; pygeoapi's answer is returned."""
    fast = client.get(path, params=params)
    slow = client.get(path, params=params, headers=PYGEOAPI)
    assert fast.status_code == slow.status_code == 200, (path, params, fast.text[:300], slow.text[:300])
    assert fast.content.startswith(FROM_TEXT), f"{path} {params} was not answered from PostgreSQL's text"
    assert not slow.content.startswith(FROM_TEXT)
    for name in COMPARED_HEADERS:
        assert fast.headers.get(name) == slow.headers.get(name), (name, path, params)
    ours, theirs = fast.json(), slow.json()
    crs = params.get("crs", CRS84)
    if theirs["type"] == "Feature":
        _same_feature(ours, theirs, crs)
        return dict(theirs)
    for key in ("numberReturned", "numberMatched", "links"):
        assert ours.get(key) == theirs.get(key), (key, path, params)
    assert [f["id"] for f in ours["features"]] == [f["id"] for f in theirs["features"]]
    for a, b in zip(ours["features"], theirs["features"], strict=True):
        _same_feature(a, b, crs)
    return dict(theirs)


def test_pages_bboxes_crs_and_filters_equal_pygeoapi(client: TestClient) -> None:
    lon, lat = CONTROL_LONLAT
    d = 0.002
    requests: list[tuple[str, dict[str, str]]] = []
    for name in LAYERS:
        path = f"/ogc/collections/{name}/items"
        for limit in ("1", "2", "10"):
            for offset in ("0", "1", "3"):
                requests.append((path, {"f": "json", "limit": limit, "offset": offset}))
        requests.append((path, {}))
        for crs in OUTPUT_CRS:
            requests.append((path, {"f": "json", "crs": crs, "limit": "5"}))
        for k in range(-3, 4):
            box = [lon + k * d, lat + k * d / 2, lon + (k + 2) * d, lat + (k / 2 + 1) * d]
            requests.append((path, {"f": "json", "bbox": ",".join(f"{v:.6f}" for v in box)}))
            requests.append(
                (
                    path,
                    {
                        "bbox": ",".join(f"{v:.6f}" for v in (box[1], box[0], box[3], box[2])),
                        "bbox-crs": EPSG + "4326",
                        "limit": "1",
                        "offset": "1",
                    },
                )
            )
        first = LAYERS[name].columns[0].name
        requests.append((path, {"f": "json", "properties": f"{first},row_version"}))
        requests.append((path, {"f": "json", "limit": "3", "unknown_parameter": "x"}))
        if LAYERS[name].consultation_filter is not None:
            requests.append((path, {"f": "json", "view": "consultation"}))
    requests.append(("/ogc/collections/zones/items", {"f": "json", "land_use_code": "TMD"}))
    requests.append(("/ogc/collections/parcels/items", {"f": "json", "ward": "Phú Hậu", "sheet_no": "12"}))

    features = 0
    item_ids: dict[str, set[int]] = {name: set() for name in LAYERS}
    for path, params in requests:
        answer = _compare(client, path, params)
        features += len(answer["features"])
        item_ids[path.split("/")[3]].update(f["id"] for f in answer["features"])
    items = 0
    for name, ids in item_ids.items():
        for fid in sorted(ids):
            for crs_param in ({}, {"crs": EPSG + "9214"}):
                _compare(client, f"/ogc/collections/{name}/items/{fid}", {"f": "json"} | crs_param)
                items += 1
    print(f"{len(requests)} pages ({features} features) and {items} single items equal pygeoapi's answers")
    assert features > 100 and items > 20


def test_what_it_does_not_take_goes_to_pygeoapi(client: TestClient) -> None:
    """Errors, other formats and the rarer options keep pygeoapi's answers."""
    path = "/ogc/collections/parcels/items"
    for params, status in (
        ({"limit": "0"}, 400),
        ({"limit": "x"}, 400),
        ({"offset": "-1"}, 400),
        ({"bbox": "1,2,3"}, 400),
        ({"crs": EPSG + "2154"}, 400),
        ({"properties": "nope"}, 400),
        ({"sheet_no": "twelve"}, 400),
        ({"sortby": "-sheet_no"}, 200),
        ({"f": "html"}, 200),
        ({"filter": "sheet_no = 12"}, 200),
    ):
        r = client.get(path, params=params)
        assert r.status_code == status, (params, r.text[:300])
        assert not r.content.startswith(FROM_TEXT), params
    r = client.get(f"{path}/999999", params={"f": "json"})
    assert r.status_code == 404 and "999999" in r.text
    huge = client.get(path, params={"f": "json", "limit": "100000"})
    assert huge.status_code == 200 and huge.content.startswith(FROM_TEXT)
    assert math.isfinite(huge.json()["numberReturned"])
