"""The viewer's HTTP side without a browser: the page, its configuration, and only the needed npm build files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.settings import Settings, ViewerSettings


@pytest.fixture(scope="module")
def client(sample_plan: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url, _ = sample_plan
    settings = Settings(
        database_url=url,
        ogc_dir=tmp_path_factory.mktemp("ogc"),
        viewer=ViewerSettings(base_map_url="http://127.0.0.1:9/{z}/{x}/{y}.png", base_map_attribution="© local"),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_page_and_landing(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text and "/viewer/app.js" in r.text
    assert r.headers["cache-control"] == "no-cache"
    api = client.get("/api").json()
    assert {"/", "/docs", "/healthz"} <= {link["href"] for link in api["links"]}
    for path in ("/viewer/app.js", "/viewer/map2d.js", "/viewer/map3d.js", "/viewer/i18n/vi.json", "/viewer/style.css"):
        assert client.get(path).status_code == 200, path
    vi = client.get("/viewer/i18n/vi.json").json()
    en = client.get("/viewer/i18n/en.json").json()
    assert vi.keys() == en.keys(), "every label in both languages"
    assert vi["title"] != en["title"]


def test_config_has_the_approved_plans_extent_legend_in_official_colours_and_base_map(
    client: TestClient, sample_plan: tuple[str, dict[str, Any]]
) -> None:
    config = client.get("/viewer/config.json").json()
    url, _ = sample_plan
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as c:
            expected = {
                row[0]: row[1]
                for row in c.execute(
                    sa.text(
                        "SELECT DISTINCT c.code, c.color_hex FROM planning.zones z "
                        "JOIN planning.plans p ON p.id = z.plan_id AND p.status = 'approved' "
                        "JOIN planning.land_use_codes c ON c.code = z.land_use_code"
                    )
                )
            }
            box = c.execute(
                sa.text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(z.geom_4326) e "
                    "FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id AND p.status = 'approved') q"
                )
            ).one()
    finally:
        engine.dispose()
    assert {item["code"]: item["color"] for item in config["legend"]} == expected
    assert all(item["name_vi"] and item["name_en"] for item in config["legend"])
    assert config["extent"] == pytest.approx(list(box), abs=1e-6)
    assert config["base_map"] == {"url": "http://127.0.0.1:9/{z}/{x}/{y}.png", "attribution": "© local"}
    assert all(p["decision_no"] for p in config["plans"])


def test_only_the_needed_npm_build_files_are_served_compressed(client: TestClient) -> None:
    r = client.get("/vendor/maplibre/maplibre-gl.mjs", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert r.headers["content-encoding"] == "gzip" and "max-age" in r.headers["cache-control"]
    assert client.get("/vendor/maplibre/maplibre-gl-worker.mjs").status_code == 200
    assert client.get("/vendor/maplibre/maplibre-gl-dev.mjs").status_code == 404
    assert client.get("/vendor/cesium/Cesium.js", headers={"Accept-Encoding": "gzip"}).status_code == 200
    assert client.get("/vendor/cesium/Widgets/widgets.css").status_code == 200
    assert client.get("/vendor/cesium/Assets/Textures/NaturalEarthII/tilemapresource.xml").status_code == 200
    assert client.get("/vendor/cesium/index.js").status_code == 404  # a 6 MB copy the page does not need
    assert client.get("/vendor/cesium/../package.json").status_code == 404


def test_the_patched_cesium_is_whole_on_every_request(client: TestClient) -> None:
    # the gzip middleware once rewrote the cached response's headers: the second answer was cut short
    bodies = []
    for _ in range(3):
        r = client.get("/vendor/cesium/Cesium.js", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        bodies.append(r.content)
    plain = client.get("/vendor/cesium/Cesium.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and int(plain.headers["content-length"]) == len(plain.content)
    assert bodies[0] == bodies[1] == bodies[2] == plain.content and b"globalThis" in plain.content


def test_missing_npm_packages_are_named(sample_plan: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    settings = Settings(
        database_url=sample_plan[0], ogc_dir=tmp_path / "ogc", viewer=ViewerSettings(node_modules=tmp_path / "none")
    )
    with TestClient(create_app(settings)) as c:
        r = c.get("/vendor/cesium/Cesium.js")
    assert r.status_code == 404
    assert "npm package cesium is not installed" in r.json()["description"]
    assert "./run.sh setup" in r.json()["description"]
