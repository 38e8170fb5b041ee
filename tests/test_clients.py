"""Real clients over real HTTP: OWSLib, GDAL's OAPIF driver (ogrinfo, ogr2ogr), QGIS's OAPIF provider.

The service runs as ``planning serve`` (uvicorn) on a free port over the sample plan of ``tests/ogc_sample.py``.
schemathesis fuzzes the service in ``tests/test_fuzz.py``, over a copy of the sample of its own.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyproj
import pytest
from planning_served import PlanningServer


@pytest.fixture(scope="module")
def server(sample_plan: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with PlanningServer(sample_plan[0], tmp_path_factory.mktemp("serve")) as served:
        yield served.url


def test_owslib_lists_collections_and_reads_items(server: str, sample_plan: tuple[str, dict[str, Any]]) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{server}/ogc")
    names = {c["id"] for c in api.collections()["collections"]}
    assert {"plans", "zones", "parcels", "buildings", "red_lines", "building_lines"} <= names
    zones = api.collection_items("zones", limit=100)
    codes = {f["properties"]["zone_code"] for f in zones["features"]}
    assert {"Z1", "Z2"} <= codes and "D1" not in codes
    one = api.collection_item("parcels", str(sample_plan[1]["p1"]))
    assert one["properties"]["parcel_no"] == 35
    filtered = api.collection_items("parcels", sheet_no=12, parcel_no=34)
    assert [f["id"] for f in filtered["features"]] == [sample_plan[1]["p2"]]


def test_gdal_ogrinfo_reads_the_landing_page(server: str, gdal_bin: str) -> None:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{server}/ogc"], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    for layer in ("plans", "zones", "parcels", "buildings", "red_lines", "building_lines"):
        assert layer in out.stdout
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{server}/ogc", "zones"], capture_output=True, text=True, timeout=120
    )
    assert summary.returncode == 0, summary.stderr
    assert "Feature Count: 2" in summary.stdout or "zone_code" in summary.stdout


def test_gdal_ogr2ogr_copies_zones_to_geopackage_within_1_cm(
    server: str, sample_plan: tuple[str, dict[str, Any]], tmp_path: Path, gdal_bin: str
) -> None:
    import pyogrio

    out = tmp_path / "zones.gpkg"
    run = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}/ogc", "zones"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    df = pyogrio.read_dataframe(out)
    assert set(df["zone_code"]) >= {"Z1", "Z2"} and "D1" not in set(df["zone_code"])
    # back to VN-2000 with the official shift, every vertex within 1 cm of the database's geometry
    to_vn2000 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:9214", always_xy=True)
    with psycopg.connect(sample_plan[0]) as conn:
        stored: dict[str, Any] = dict(
            conn.execute(
                "SELECT zone_code, ST_AsGeoJSON(geom, 4)::json FROM planning.zones WHERE zone_code = ANY(%s)",
                [list(df["zone_code"])],
            ).fetchall()
        )
    worst = 0.0
    for code, geom in zip(df["zone_code"], df.geometry, strict=True):
        served = list(geom.geoms[0].exterior.coords) if geom.geom_type == "MultiPolygon" else list(geom.exterior.coords)
        expected = stored[code]["coordinates"][0][0]
        assert len(served) == len(expected)
        for (lon, lat), (e, n) in zip(served, expected, strict=True):
            x, y = to_vn2000.transform(lon, lat)
            worst = max(worst, math.hypot(x - e, y - n))
    assert worst < 0.01, f"a vertex is {worst:.4f} m off after the round trip"


QGIS_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(f"url='{sys.argv[1]}' typename='zones'", "zones", "OAPIF")
out = {"valid": layer.isValid(), "error": layer.error().summary() if not layer.isValid() else ""}
if layer.isValid():
    feats = list(layer.getFeatures())
    out["count"] = len(feats)
    out["codes"] = sorted(f["zone_code"] for f in feats)
    out["crs"] = layer.crs().authid()
print(json.dumps(out), flush=True)
import os
os._exit(0)  # QGIS 3.22 segfaults in exitQgis() after network requests in an offscreen session

"""


def test_qgis_loads_the_zones_layer(server: str, tmp_path: Path, qgis_python: str) -> None:
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    run = subprocess.run(
        [qgis_python, "-c", QGIS_SCRIPT, f"{server}/ogc"], capture_output=True, text=True, timeout=180, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["valid"], result
    assert {"Z1", "Z2"} <= set(result["codes"]) and "D1" not in result["codes"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/plans?code=A%00B", "code"),
        ("/lookup?sheet_no=3&parcel_no=9&ward=Kim%00Long", "ward"),
        ("/ogc/collections/zones/items?filter=code%3D%27Z%001%27", "filter"),
        ("/ogc/collections/zones/items?f=json&na%00me=1", "na\\0me"),
    ],
)
def test_a_nul_character_in_the_address_is_a_400_that_names_the_parameter(
    server: str, path: str, parameter: str
) -> None:
    response = httpx.get(f"{server}{path}", timeout=30)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert f"'{parameter}'" in body["description"] and "NUL" in body["description"]


def test_a_nul_character_in_a_json_body_is_a_400(server: str) -> None:
    ring = [[107.56, 16.46], [107.5601, 16.46], [107.5601, 16.4601], [107.56, 16.46]]
    square = {"type": "Polygon", "coordinates": [ring]}
    response = httpx.post(
        f"{server}/permits/check",
        json={"sheet_no": 3, "parcel_no": 9, "ward": "Kim\u0000Long", "footprint": square, "use": "ODT", "floors": 3},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["description"]
