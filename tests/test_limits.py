"""Limits of requests: bodies over their route family's limit are refused (413) before they are read, fast, and the
process keeps its memory; geometries of checks and filters have vertex and area limits; JSON nests only so deep."""

from __future__ import annotations

import json
import math
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from ogc_sample import DRAFT_CODE, E0, N0, load_sample
from viewer_served import serve_app

from gis_service.api.app import create_app
from gis_service.api.guard import json_depth
from gis_service.db.migrate import upgrade
from gis_service.settings import LimitSettings, Settings

MB = 1024 * 1024
#: A valid check of parcel P1 of the sample (tờ 12 thửa 35), footprint in VN-2000 metres.
CHECK: dict[str, Any] = {
    "sheet_no": 12,
    "parcel_no": 35,
    "ward": "Thuận Thành",
    "crs": "EPSG:9214",
    "footprint": {
        "type": "Polygon",
        "coordinates": [[[E0 - 20, N0 - 5], [E0, N0 - 5], [E0, N0 + 5], [E0 - 20, N0 + 5], [E0 - 20, N0 - 5]]],
    },
    "floors": 2,
    "use": "ODT",
}
CQL = "application/query-cql-json"
ROUTES = ("check", "process", "filter")


@pytest.fixture(scope="module")
def limits_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("limits")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def settings(limits_db: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=limits_db[0], public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("ogc"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def polygon_json(size: int) -> bytes:
    """A GeoJSON polygon of about ``size`` bytes (a million vertices for 30 MB), made without building a list."""
    vertex = b"[107.5837405,16.4673390],"
    n = size // len(vertex)
    return b'{"type":"Polygon","coordinates":[[' + vertex * n + b"[107.5837405,16.4673390]]]}"


def wrapped(route: str, geometry: bytes) -> bytes:
    """The body of ``route`` holding ``geometry`` as its footprint (checks) or filter geometry (CQL2-JSON)."""
    if route == "filter":
        return b'{"op":"s_intersects","args":[{"property":"geometry"},' + geometry + b"]}"
    check = json.dumps({**CHECK, "crs": "CRS84", "footprint": None}).encode().replace(b"null", geometry)
    return b'{"inputs":' + check + b"}" if route == "process" else check


def post(client: TestClient, route: str, body: bytes) -> Any:
    if route == "filter":
        return client.post("/ogc/collections/zones/items", content=body, headers={"Content-Type": CQL})
    path = "/ogc/processes/permit-check/execution" if route == "process" else "/permits/check"
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def rss_mb() -> float:
    """The resident memory of this process (the app runs in it), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def big_body() -> bytes:
    return polygon_json(30 * MB)


@pytest.mark.parametrize("route", ROUTES)
def test_a_30_mb_body_is_refused_at_once_and_memory_stays(client: TestClient, big_body: bytes, route: str) -> None:
    small = post(client, route, wrapped(route, json.dumps(CHECK["footprint"]).encode()))
    assert small.status_code < 500, small.text  # warmed up: the route answered once
    body = wrapped(route, big_body)
    assert len(body) > 30 * MB
    baseline = rss_mb()
    start = time.perf_counter()
    r = post(client, route, body)
    elapsed = time.perf_counter() - start
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "PayloadTooLarge" and "1 MB" in r.json()["description"]
    after = rss_mb()
    print(f"\n{route}: {len(body) / MB:.0f} MB refused in {elapsed * 1e3:.1f} ms; RSS {baseline:.0f} -> {after:.0f} MB")
    assert elapsed < 0.1, f"refused in {elapsed:.3f} s"
    assert after - baseline < 50, f"RSS grew from {baseline:.0f} MB to {after:.0f} MB"


def test_edits_keep_their_20_mb_limit(client: TestClient) -> None:
    r = client.post(
        "/ogc/collections/zones/items",
        content=b" " * (20 * MB + 1),
        headers={"Content-Type": "application/geo+json"},
    )
    assert r.status_code == 413 and "20 MB" in r.json()["description"]


def test_a_limit_is_a_setting(settings: Settings) -> None:
    settings = settings.model_copy(update={"limits": LimitSettings(check_body_bytes=2048)})
    with TestClient(create_app(settings)) as c:
        assert c.post("/permits/check", json=CHECK).status_code == 200
        r = c.post("/permits/check", json={**CHECK, "ward": "x" * 3000})
        assert r.status_code == 413 and "2 kB" in r.json()["description"]


@pytest.fixture(scope="module")
def live_url(settings: Settings) -> Iterator[str]:
    with serve_app(create_app(settings)) as url:
        yield url


def _head(path: str, host: str, length: int | None) -> bytes:
    kind = CQL if path.endswith("items") else "application/json"
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {kind}\r\n{framing}\r\n\r\n".encode()


PATHS = ("/permits/check", "/ogc/processes/permit-check/execution", "/ogc/collections/zones/items")


@pytest.mark.parametrize("path", PATHS)
def test_refused_before_the_body_is_sent_over_real_http(live_url: str, big_body: bytes, path: str) -> None:
    """On a live uvicorn: the 413 comes back after the headers and a first 64 kB; the rest is never sent."""
    host, port = live_url.removeprefix("http://").split(":")
    baseline = rss_mb()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        start = time.perf_counter()
        s.sendall(_head(path, host, len(big_body)) + big_body[: 64 * 1024])
        answer = s.recv(65536)
        elapsed = time.perf_counter() - start
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    print(f"\n{path} over HTTP: refused in {elapsed * 1000:.1f} ms")
    assert elapsed < 0.1, f"{path}: refused in {elapsed:.3f} s"
    assert rss_mb() - baseline < 50


@pytest.mark.parametrize("path", PATHS)
def test_a_streamed_body_is_cut_at_the_limit_over_real_http(live_url: str, big_body: bytes, path: str) -> None:
    """Chunked, without a length: the server counts and answers 413 once the limit (1 MB) is passed."""
    host, port = live_url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(_head(path, host, None))
        answer = b""
        while sent < len(big_body):
            piece = big_body[sent : sent + 64 * 1024]
            try:
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            except OSError:  # the server closed the connection after its answer
                break
            sent += len(piece)
            if select.select([s], [], [], 0)[0]:
                break
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 10 * MB, f"{sent / MB:.1f} MB sent before the refusal"


def test_an_anonymous_body_that_does_not_come_is_a_408(settings: Settings) -> None:
    quick = settings.model_copy(update={"limits": LimitSettings(anonymous_request_s=1)})
    with serve_app(create_app(quick)) as url:
        host, port = url.removeprefix("http://").split(":")
        head = _head("/permits/check", host, 100)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            start = time.perf_counter()
            s.sendall(head + b'{"use": ')  # and then nothing
            answer = s.recv(65536)
            elapsed = time.perf_counter() - start
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert 0.9 < elapsed < 3, elapsed
        # with credentials, no time limit (a bad token is judged once the body came)
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.sendall(head.replace(b"\r\n\r\n", b"\r\nAuthorization: Bearer x\r\n\r\n") + b'{"use": ')
            with pytest.raises(TimeoutError):
                s.recv(65536)
        # an anonymous request whose body comes in time is answered as always
        assert httpx.post(f"{url}/permits/check", json=CHECK, timeout=10).status_code == 200


def test_header_fields_have_a_count_and_size_limit(client: TestClient) -> None:
    many = {f"x-field-{i}": "1" for i in range(150)}
    r = client.get("/api", headers=many)
    assert r.status_code == 431 and r.json()["code"] == "RequestHeaderFieldsTooLarge"
    r = client.get("/api", headers={"Cookie": "a=" + "b" * 20_000})
    assert r.status_code == 431
    assert client.get("/api", headers={f"x-field-{i}": "1" for i in range(20)}).status_code == 200


# ---- geometry limits --------------------------------------------------------------------------------------
def circle(n: int, radius_m: float) -> dict[str, Any]:
    """A polygon of ``n`` vertices around the sample's parcel P1, in VN-2000 metres."""
    ring = [
        [E0 - 5 + radius_m * math.cos(2 * math.pi * i / n), N0 + radius_m * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_footprints_have_a_vertex_limit(client: TestClient) -> None:
    r = client.post("/permits/check", json={**CHECK, "footprint": circle(10_001, 4)})
    assert r.status_code == 400 and "footprint" in r.text and "10002 vertices" in r.text, r.text[:300]
    assert client.post("/permits/check", json={**CHECK, "footprint": circle(500, 4)}).status_code == 200


def test_footprints_and_lots_have_an_area_limit(client: TestClient) -> None:
    # the reviewer's footprint: 0.5° x 0.5° at Huế, about 2,956 km²
    lon, lat = 107.4, 16.3
    corners = [[lon, lat], [lon + 0.5, lat], [lon + 0.5, lat + 0.5], [lon, lat + 0.5], [lon, lat]]
    huge = {"type": "Polygon", "coordinates": [corners]}
    r = client.post("/permits/check", json={**CHECK, "crs": "CRS84", "footprint": huge})
    assert r.status_code == 400 and "footprint" in r.text and "km²" in r.text, r.text[:300]
    corners = [[E0, N0], [E0 + 1100, N0], [E0 + 1100, N0 + 1100], [E0, N0 + 1100], [E0, N0]]
    square = {"type": "Polygon", "coordinates": [corners]}
    r = client.post("/permits/check", json={**CHECK, "footprint": square})
    assert r.status_code == 400 and "1 km²" in r.text, r.text[:300]
    lot = circle(64, 2000)  # 12.6 km²
    del_parcel = {k: v for k, v in CHECK.items() if k not in ("sheet_no", "parcel_no", "ward")}
    r = client.post("/permits/check", json={**del_parcel, "lot": lot})
    assert r.status_code == 400 and "lot" in r.text and "10 km²" in r.text, r.text[:300]


def test_filter_geometries_have_a_vertex_limit(client: TestClient) -> None:
    lon, lat = 107.579, 16.4698
    ring = [
        [lon + 0.01 * math.cos(2 * math.pi * i / 10_001), lat + 0.01 * math.sin(2 * math.pi * i / 10_001)]
        for i in range(10_001)
    ]
    query = {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [ring]}]}
    r = client.post("/ogc/collections/zones/items", content=json.dumps(query), headers={"Content-Type": CQL})
    assert r.status_code == 400 and "10000 vertices" in r.text, r.text[:300]
    query["args"][1]["coordinates"] = [[*ring[::100], ring[0]]]  # type: ignore[index]
    r = client.post("/ogc/collections/zones/items", content=json.dumps(query), headers={"Content-Type": CQL})
    assert r.status_code == 200, r.text[:300]


# ---- JSON depth -------------------------------------------------------------------------------------------
def test_json_depth_counts_brackets_outside_strings() -> None:
    assert json_depth(b'{"a": [[1, 2], "]]]"]}') == 3
    assert json_depth(b'["\\"[[[[", {"b": "\\\\"}]') == 2
    assert json_depth(b"[" * 100_000) == 100_000
    assert json_depth(b"") == 0


def test_deeply_nested_json_is_a_400(
    client: TestClient, limits_db: tuple[str, dict[str, Any]], auth_headers: Callable[..., dict[str, str]]
) -> None:
    planner = auth_headers("planner", database_url=limits_db[0])
    zone = limits_db[1]["draft_zone"]
    deep = b"[" * 100_000
    edit = {**planner, "X-Change-Reason": "test", "If-Match": "*", "Content-Type": "application/json"}
    answers = [
        client.post("/ogc/processes/permit-check/execution", content=deep),
        client.post("/ogc/processes/zoning-lookup/execution", content=b'{"inputs": ' + deep),
        client.post("/permits/check", content=deep, headers={"Content-Type": "application/json"}),
        client.patch(f"/ogc/collections/zones/items/{zone}", content=deep, headers=edit),
        client.put(f"/ogc/collections/zones/items/{zone}", content=deep, headers=edit),
        client.post("/ogc/collections/zones/items", content=deep, headers=edit),
        client.post("/ogc/collections/zones/items", content=deep, headers={"Content-Type": CQL}),
        client.post(f"/plans/{DRAFT_CODE}/publish", content=deep, headers=edit),
    ]
    for r in answers:
        assert r.status_code == 400, (r.request.url, r.status_code, r.text[:300])
        assert r.json()["code"] == "InvalidParameterValue" and "deep" in r.json()["description"]
    # a body nested just within the limit is judged on its content
    inside = b"[" * 64 + b"]" * 64
    r = client.post("/ogc/processes/permit-check/execution", content=inside)
    assert r.status_code == 400 and "deep" not in r.text
