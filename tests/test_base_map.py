"""The base map (NenDiaHinh: water, walls, streets, alleys, landmarks): import, OGC API collection, vector tiles."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from base_map_sample import base_map_layers, write_base_map
from conftest import DatabaseServer
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point
from sqlalchemy.engine import Engine

from converters import ImportOptions, import_path
from converters.errors import ConverterError
from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def database(db_server: DatabaseServer) -> Iterator[str]:
    """A database of its own: the dossier tests may bring the sample's own base map into the session's."""
    url = db_server.create("basemap")
    upgrade(url)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def engine(database: str) -> Iterator[Engine]:
    eng = create_db_engine(database, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def dossier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dossier folder holding only its base map (HoSoGIS/NenDiaHinh.gpkg)."""
    folder = tmp_path_factory.mktemp("dossier")
    (folder / "HoSoGIS").mkdir()
    write_base_map(folder / "HoSoGIS" / "NenDiaHinh.gpkg")
    return folder


@pytest.fixture(scope="module")
def imported(engine: Engine, dossier: Path) -> Any:
    return import_path(dossier, engine, ImportOptions(user="lan.nguyen", reason="nền địa hình"))


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).scalar_one()


def history_count(engine: Engine) -> int:
    return int(scalar(engine, "SELECT count(*) FROM planning.change_history WHERE table_name = 'map_features'"))


def test_the_dossier_base_map_goes_to_map_features_by_kind(engine: Engine, imported: Any) -> None:
    layers = {lr.source.rsplit(":", 1)[1]: lr for lr in imported.layers}
    assert set(layers) == {"ThuyHe_A", "TuongThanh_A", "TimDuong_L", "DiaDanh_P"}
    assert {lr.table for lr in layers.values()} == {"map_features"}
    assert {name: lr.written for name, lr in layers.items()} == {
        "ThuyHe_A": 4,
        "TuongThanh_A": 2,
        "TimDuong_L": 17,
        "DiaDanh_P": 5,
    }
    assert layers["TimDuong_L"].fields == {"subkind": "loai", "name": "tenDuong", "width_m": "loGioi"}
    assert "TimDuong_L → map_features: 17 read, 17 written" in imported.summary()
    with engine.connect() as c:
        by_kind = "SELECT kind, count(*) FROM planning.map_features GROUP BY 1"
        kinds: dict[str, int] = dict(c.execute(sa.text(by_kind)).all())
        assert kinds == {"water": 4, "wall": 2, "street": 13, "alley": 4, "landmark": 5}
        river = c.execute(
            sa.text(
                "SELECT subkind, name_en, GeometryType(geom), attributes->>'maDoiTuong', attributes->>'maHoSoQH', "
                "attributes ? 'ten', created_by FROM planning.map_features WHERE name = 'Sông Hương'"
            )
        ).one()
        assert tuple(river) == ("song", "Perfume River", "POLYGON", "TH-0001", "46QPK0000001", False, "lan.nguyen")
        moat = c.execute(sa.text("SELECT kind, name_en FROM planning.map_features WHERE subkind = 'ho_thanh'")).one()
        assert tuple(moat) == ("water", "Citadel moat")
        heights = "SELECT name, height_m FROM planning.map_features WHERE kind = 'wall'"
        walls: dict[str, Any] = dict(c.execute(sa.text(heights)).all())
        assert {k: float(v) for k, v in walls.items()} == {"Tường thành Kinh thành Huế": 6.6, "Kỳ Đài": 17.4}
        # what the rule model reads: the alleys near a lot, with their name and width
        alleys = c.execute(
            sa.text(
                "SELECT name, width_m, GeometryType(geom) FROM planning.map_features WHERE kind = 'alley' ORDER BY name"
            )
        ).all()
        assert len(alleys) == 4 and alleys[0][0].startswith("Kiệt ") and float(alleys[0][1]) == 3.0
        assert {a[2] for a in alleys} == {"LINESTRING"}
        le_duan = c.execute(sa.text("SELECT width_m FROM planning.map_features WHERE name = 'Lê Duẩn'")).scalar_one()
        assert float(le_duan) == 26.0
        flag = c.execute(
            sa.text(
                "SELECT GeometryType(geom), height_m, subkind FROM planning.map_features WHERE name_en = 'Flag Tower' "
                "AND kind = 'landmark'"
            )
        ).one()
        assert (flag[0], float(flag[1]), flag[2]) == ("POINT", 37.0, "di_tich")
    # one history entry per feature, naming the importing user and the reason
    assert history_count(engine) == 28
    assert (
        scalar(
            engine,
            "SELECT count(*) FROM planning.change_history WHERE table_name = 'map_features' AND operation = 'insert' "
            "AND changed_by = 'lan.nguyen' AND reason = 'nền địa hình'",
        )
        == 28
    )


def test_the_same_files_again_change_nothing_a_changed_feature_is_updated(
    engine: Engine, imported: Any, dossier: Path, tmp_path: Path
) -> None:
    before = history_count(engine)
    again = import_path(dossier, engine, ImportOptions(user="lan.nguyen"))
    assert [(lr.written, lr.updated, lr.unchanged) for lr in again.layers] == [(0, 0, n) for n in (4, 2, 17, 5)]
    assert history_count(engine) == before
    assert scalar(engine, "SELECT count(*) FROM planning.map_features") == 28

    layers = base_map_layers()
    layers["ThuyHe_A"][0]["tenTiengAnh"] = "Perfume River (Hương River)"
    layers["DiaDanh_P"].append({**layers["DiaDanh_P"][0], "maDoiTuong": "DD-0099", "ten": "Cửa Thượng Tứ",
                                "tenTiengAnh": "Thuong Tu Gate", "loai": "cong_thanh", "chieuCao": None,
                                "geometry": Point(layers["DiaDanh_P"][1]["geometry"].x + 600,
                                                  layers["DiaDanh_P"][1]["geometry"].y)})  # fmt: skip
    changed = tmp_path / "NenDiaHinh.gpkg"
    write_base_map(changed, layers)
    report = import_path(changed, engine, ImportOptions(user="lan.nguyen", reason="cập nhật"))
    counts = {lr.source.rsplit(":", 1)[1]: (lr.written, lr.updated, lr.unchanged) for lr in report.layers}
    assert counts == {"ThuyHe_A": (0, 1, 3), "TuongThanh_A": (0, 0, 2), "TimDuong_L": (0, 0, 17),
                      "DiaDanh_P": (1, 0, 5)}  # fmt: skip
    with engine.connect() as c:
        river = c.execute(
            sa.text(
                "SELECT name_en, row_version FROM planning.map_features WHERE attributes->>'maDoiTuong' = 'TH-0001'"
            )
        ).one()
        assert tuple(river) == ("Perfume River (Hương River)", 2)
        entries = c.execute(
            sa.text(
                "SELECT operation, count(*) FROM planning.change_history WHERE table_name = 'map_features' "
                "AND reason = 'cập nhật' GROUP BY 1 ORDER BY 1"
            )
        ).all()
        assert [tuple(e) for e in entries] == [("insert", 1), ("update", 1)]


def test_a_feature_of_the_wrong_geometry_type_is_refused_by_layer_and_feature(
    engine: Engine, imported: Any, tmp_path: Path
) -> None:
    layers = base_map_layers()
    water = layers["ThuyHe_A"]
    water.append({**water[0], "maDoiTuong": "TH-0042", "ten": "Sông An Cựu",
                  "geometry": LineString([(561000, 1821000), (561500, 1821100)])})  # fmt: skip
    bad = tmp_path / "NenDiaHinh.gpkg"
    write_base_map(bad, {"ThuyHe_A": water, "DiaDanh_P": layers["DiaDanh_P"]})
    before = scalar(engine, "SELECT count(*) FROM planning.map_features")
    with pytest.raises(ConverterError) as err:
        import_path(bad, engine, ImportOptions(user="lan.nguyen"))
    message = str(err.value)
    assert "ThuyHe_A" in message and "feature 5" in message and "LineString" in message
    assert "Polygon or MultiPolygon" in message and "nothing imported" in message
    assert scalar(engine, "SELECT count(*) FROM planning.map_features") == before


def test_a_bad_width_is_refused_and_a_street_layer_needs_its_name(engine: Engine, tmp_path: Path) -> None:
    layers = base_map_layers()
    layers["TimDuong_L"][2]["loGioi"] = -4.0
    bad = tmp_path / "NenDiaHinh.gpkg"
    write_base_map(bad, {"TimDuong_L": layers["TimDuong_L"]})
    with pytest.raises(ConverterError, match=r"TimDuong_L.*feature 3: loGioi = -4 is outside"):
        import_path(bad, engine, ImportOptions(user="lan.nguyen"))
    renamed = tmp_path / "streets.gpkg"
    write_base_map(renamed, {"streets": base_map_layers()["TimDuong_L"]})
    with pytest.raises(ConverterError, match="comes from its layer's TT 16/2025 name"):
        import_path(renamed, engine, ImportOptions(user="lan.nguyen", kind="map-features"))


def test_the_command_line_imports_a_base_map_file(engine: Engine, database: str, dossier: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gis_service.cli import cli

    one = tmp_path / "nen.gpkg"
    shutil.copy(dossier / "HoSoGIS" / "NenDiaHinh.gpkg", one)
    result = CliRunner().invoke(
        cli, ["import", str(one), "--kind", "map-features", "--dry-run"], env={"GIS_DATABASE_URL": database}
    )
    assert result.exit_code == 0, result.output
    assert "→ map_features" in result.output


# ---------- serving ----------


@pytest.fixture(scope="module")
def client(database: str, imported: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(database_url=database, public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("ogc"))
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_ogc_collection_serves_the_base_map_read_only(client: TestClient, database: str, auth_headers: Any) -> None:
    cols = {c["id"]: c for c in client.get("/ogc/collections", params={"f": "json"}).json()["collections"]}
    assert "map_features" in cols and "Base map" in str(cols["map_features"]["title"])
    r = client.get("/ogc/collections/map_features/items", params={"f": "json", "kind": "wall", "limit": 50})
    assert r.status_code == 200, r.text
    walls = r.json()["features"]
    assert {f["properties"]["name"] for f in walls} == {"Tường thành Kinh thành Huế", "Kỳ Đài"}
    assert r.headers["content-crs"] == f"<{CRS84}>"
    lon, lat = walls[0]["geometry"]["coordinates"][0][0]
    assert 107.55 < lon < 107.61 and 16.45 < lat < 16.50
    streets = client.get(
        "/ogc/collections/map_features/items",
        params={"f": "json", "filter": "kind = 'alley' AND width_m < 5", "limit": 50},
    ).json()["features"]
    assert len(streets) == 4 and all(f["geometry"]["type"] == "LineString" for f in streets)
    schema = client.get("/ogc/collections/map_features/queryables", params={"f": "json"}).json()["properties"]
    assert {"kind", "name", "name_en", "width_m", "height_m"} <= set(schema)
    # base-map data is imported, not edited through the API, even by a planner
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.58, 16.47]}, "properties": {}}
    assert client.post("/ogc/collections/map_features/items", json=feature).status_code == 401
    planner = auth_headers("planner", database_url=database) | {"X-Change-Reason": "test"}
    write = client.post("/ogc/collections/map_features/items", json=feature, headers=planner)
    assert write.status_code == 404 and "cannot be edited" in write.text


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _tile_kinds(client: TestClient, engine: Engine, where: str, z: int) -> dict[str, set[str]]:
    """kind → names in the base-map layer of the tile at zoom ``z`` holding a point of the feature ``where``."""
    with engine.connect() as c:
        lon, lat = c.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom_4326) AS p FROM planning.map_features "
                f"WHERE {where} LIMIT 1) q"
            )
        ).one()
    x, y = _tile(lon, lat, z)
    r = client.get(f"/ogc/collections/map_features/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content).get("map_features", {"features": []})
    out: dict[str, set[str]] = {}
    for f in layer["features"]:
        out.setdefault(f["properties"]["kind"], set()).add(f["properties"].get("name", ""))
    return out


def test_vector_tiles_bring_in_the_base_map_by_kind_as_the_map_zooms_in(client: TestClient, engine: Engine) -> None:
    alley = "kind = 'alley'"
    assert _tile_kinds(client, engine, alley, 11) == {}
    z12 = _tile_kinds(client, engine, alley, 12)
    assert set(z12) == {"water", "wall"} and "Sông Hương" in z12["water"]
    z14 = _tile_kinds(client, engine, "name = 'Kỳ Đài' AND kind = 'landmark'", 14)
    assert {"street", "landmark", "wall"} <= set(z14) and "alley" not in z14 and "Kỳ Đài" in z14["landmark"]
    z16 = _tile_kinds(client, engine, alley, 16)
    assert "alley" in z16 and any(n.startswith("Kiệt") for n in z16["alley"])
    # the properties a map needs for its labels and line widths
    with engine.connect() as c:
        lon, lat = c.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom_4326) p FROM planning.map_features "
                "WHERE name = 'Lê Duẩn') q"
            )
        ).one()
    x, y = _tile(lon, lat, 15)
    body = client.get(f"/ogc/tiles/WebMercatorQuad/15/{y}/{x}").content
    features = mapbox_vector_tile.decode(body)["map_features"]["features"]
    le_duan = next(f["properties"] for f in features if f["properties"].get("name") == "Lê Duẩn")
    assert le_duan["kind"] == "street" and le_duan["subkind"] == "duong" and le_duan["width_m"] == 26.0
    meta = client.get("/ogc/collections/map_features/tiles/WebMercatorQuad").json()
    assert meta["layers"][0]["minTileMatrix"] == "12" and "geometryType" not in meta["layers"][0]
