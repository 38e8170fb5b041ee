"""A new zone attribute end to end, run as its own process: ``python catalogue_extension.py URL WORKDIR``.

The database at URL has had the migration (``max_basement_floors``); this adds the one catalogue entry before any
consumer of the catalogue is imported, as the entry in ``gis_service/model/layers.py`` would be, then imports a
GeoPackage holding ``soTangHamToiDa``, publishes it and reads the attribute back from every place it should reach.
It prints what it found as JSON (``tests/test_catalogue_extension.py`` asserts on it).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import gis_service.model.layers as catalogue
from gis_service.model import Column

NEW = Column(
    "max_basement_floors",
    "integer",
    "Số tầng hầm tối đa",
    "Max basement floors",
    range=(0, 20),
    rule=True,
    vector_tiles=True,
    tiles_3d=True,
    source_fields=("soTangHamToiDa", "max_basement_floors"),
)
catalogue.ZONES = replace(catalogue.ZONES, columns=(*catalogue.ZONES.columns, NEW))
catalogue.LAYERS["zones"] = catalogue.ZONES

PLAN = "46QPK0000009"
E, N = 561625.0, 1821650.0  # the control point (Kinh thành), VN-2000 EPSG:9214


def write_dossier(path: Path, basement: Any) -> None:
    """One zone and one parcel inside it, with the TT 16/2025 field names."""
    import geopandas as gpd
    from shapely.geometry import box

    zone = gpd.GeoDataFrame(
        {"kyHieuO": ["B1"], "maSDD": ["ODT"], "tangCaoToiDa": [4], "soTangHamToiDa": [basement]},
        geometry=[box(E - 100, N - 100, E + 100, N + 100)],
        crs="EPSG:9214",
    )
    parcel = gpd.GeoDataFrame(
        {"phuongXa": ["Thuận Thành"], "soTo": [7], "soThua": [11]},
        geometry=[box(E - 10, N - 10, E + 10, N + 10)],
        crs="EPSG:9214",
    )
    zone.to_file(path, layer="ChucNangSuDungDat_A", driver="GPKG")
    parcel.to_file(path, layer="ThuaDat_A", driver="GPKG", mode="a")


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The WebMercatorQuad tile (z, x, y) holding a point."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def main(url: str, work: Path) -> dict[str, Any]:
    """Import, publish and read back; what each place shows of the new attribute."""
    import mapbox_vector_tile
    from fastapi.testclient import TestClient

    from converters import ImportOptions, import_path
    from converters.errors import ConverterError
    from converters.mapping import builtin_profile
    from gis_service.api.app import create_app
    from gis_service.db import create_db_engine
    from gis_service.editing.plans import publish_plan
    from gis_service.settings import Settings
    from tiles import build_tilesets

    found: dict[str, Any] = {"profile": builtin_profile().fields["zones"].get(NEW.name)}
    engine = create_db_engine(url, pool_size=1)
    options = ImportOptions(plan=PLAN, plan_name="Thử", decision_no="1/QĐ-UBND", decision_date=date(2026, 1, 2))
    write_dossier(work / "bad.gpkg", 99)
    try:
        import_path(work / "bad.gpkg", engine, options)
        found["out_of_range"] = "accepted"
    except ConverterError as exc:
        found["out_of_range"] = str(exc)
    write_dossier(work / "plan.gpkg", 2)
    import_path(work / "plan.gpkg", engine, options)
    with engine.begin() as conn:
        publish_plan(conn, PLAN, user="test", reason="thử thuộc tính mới")

    settings = Settings(database_url=url, public_url="http://testserver", ogc_dir=work / "ogc")
    with TestClient(create_app(settings)) as client:
        items = client.get("/ogc/collections/zones/items", params={"f": "json"}).json()
        found["ogc_items"] = [f["properties"].get(NEW.name) for f in items["features"]]
        queryables = client.get("/ogc/collections/zones/queryables", params={"f": "json"}).json()
        found["queryable"] = queryables["properties"].get(NEW.name)
        filtered = client.get(
            "/ogc/collections/zones/items",
            params={"f": "json", "filter": f"{NEW.name} > 1", "filter-lang": "cql2-text"},
        ).json()
        found["filtered"] = len(filtered["features"])
        answer = client.get("/lookup", params={"sheet_no": 7, "parcel_no": 11}).json()
        found["lookup_rule"] = answer["zones"][0]["rules"].get(NEW.name)
        found["lookup_basis"] = answer["zones"][0]["basis"].get(NEW.name)
        location = answer["parcel"]["centroid"]
        z, x, y = tile_of(location["lon"], location["lat"], 16)
        tile = client.get(f"/ogc/collections/zones/tiles/WebMercatorQuad/{z}/{y}/{x}")
        features = mapbox_vector_tile.decode(tile.content)["zones"]["features"]
        found["vector_tile"] = [f["properties"].get(NEW.name) for f in features]
        config = client.get("/viewer/config.json").json()
        found["legend"] = [r for r in config["zone_rules"] if r["name"] == NEW.name]
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        found["openapi"] = schemas.get("ZoneRules", {}).get("properties", {}).get(NEW.name)

    build_tilesets(engine, work / "3d", layers=("zones",))
    found["tiles_3d"] = _tileset_property(work / "3d", NEW.name)
    engine.dispose()
    return found


def _tileset_property(root: Path, name: str) -> Any:
    """The property ``name`` of the zones' metadata schema, from the tileset or its first glb."""
    import struct

    for path in sorted(root.rglob("*")):
        if path.suffix == ".json" and "schema" in (data := json.loads(path.read_text())):
            return data["schema"]["classes"]["zone"]["properties"].get(name)
        if path.suffix == ".glb":
            raw = path.read_bytes()
            (length,) = struct.unpack_from("<I", raw, 12)
            gltf = json.loads(raw[20 : 20 + length])
            schema = gltf["extensions"]["EXT_structural_metadata"]["schema"]
            return schema["classes"]["zone"]["properties"].get(name)
    return None


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2])), ensure_ascii=False, default=str))
