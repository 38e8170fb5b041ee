"""The tiles in a real CesiumJS (npm ``cesium``) in headless Chromium: they load, render, and a picked feature tells
its properties. Served by the app itself (``/tiles/3d/``) through a live uvicorn; no request leaves the machine."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DatabaseServer
from fastapi.responses import HTMLResponse, Response
from pyproj import Transformer
from tiles_sample import PLAN_CODE, E, N, make_sample
from viewer_served import CHROMIUM, CHROMIUM_ARGS, serve_app, watch_csp

from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings, TileSettings
from tiles import TileOptions, build_tilesets

ROOT = Path(__file__).resolve().parents[1]
CESIUM = ROOT / "node_modules" / "cesium" / "Build" / "Cesium"
# No inline script or style: the page runs under the service's Content-Security-Policy with the service's CesiumJS
# (/vendor/cesium/), as the viewer does.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>3D tiles test</title><link rel="icon" href="data:,">
<script src="/test-page-base.js"></script>
<script src="/vendor/cesium/Cesium.js"></script>
<link href="/vendor/cesium/Widgets/widgets.css" rel="stylesheet">
<link href="/test-page.css" rel="stylesheet">
</head><body><div id="map"></div>
<script src="/test-page.js"></script>
</body></html>
"""
PAGE_BASE = 'window.CESIUM_BASE_URL = "/vendor/cesium/";'
PAGE_CSS = "html, body, #map { margin: 0; width: 100%; height: 100%; overflow: hidden; }"
PAGE_JS = """
window.testState = { ready: false, error: null };
(async () => {
  try {
    Cesium.Ion.defaultAccessToken = "";
    const viewer = new Cesium.Viewer("map", {
      baseLayer: false, baseLayerPicker: false, geocoder: false, animation: false, timeline: false,
      homeButton: false, sceneModePicker: false, navigationHelpButton: false, fullscreenButton: false,
      infoBox: false, selectionIndicator: false, terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    });
    const tileset = await Cesium.Cesium3DTileset.fromUrl("/tiles/3d/tileset.json");
    viewer.scene.primitives.add(tileset);
    viewer.camera.setView({ destination: Cesium.Cartesian3.fromDegrees(__LON__, __LAT__, 900) });
    window.viewer = viewer;
    window.tileset = tileset;
    let frames = 0;
    viewer.scene.postRender.addEventListener(() => {
      frames += 1;
      if (frames > 20 && tileset.tilesLoaded) window.testState.ready = true;
    });
  } catch (e) {
    window.testState.error = String(e && e.stack || e);
  }
})();
"""

PICK = """([lon, lat, h]) => {
  const scene = window.viewer.scene;
  scene.render();
  const xy = Cesium.SceneTransforms.worldToWindowCoordinates(scene, Cesium.Cartesian3.fromDegrees(lon, lat, h));
  const picked = scene.pick(xy);
  if (!picked || !(picked instanceof Cesium.Cesium3DTileFeature)) return null;
  const out = {};
  for (const id of picked.getPropertyIds()) out[id] = picked.getProperty(id);
  return out;
}"""


def answering(text: str, media_type: str) -> Callable[[], Response]:
    """A route answering ``text``."""
    return lambda: Response(text, media_type=media_type)


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert (CESIUM / "Cesium.js").is_file(), "npm package cesium missing: run ./run.sh setup (npm ci)"
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), "Debian chromium missing: run ./run.sh setup"
    url = db_server.create("tiles_browser")
    upgrade(url)
    engine = create_db_engine(url, pool_size=2)
    out = tmp_path_factory.mktemp("browser") / "tiles"
    try:
        with engine.begin() as conn:
            make_sample(conn)
        build_tilesets(engine, out, options=TileOptions())
    finally:
        engine.dispose()
    app = create_app(Settings(database_url=url, tiles=TileSettings(out_dir=out)))
    lon, lat = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True).transform(E, N)
    script = PAGE_JS.replace("__LON__", f"{lon:.8f}").replace("__LAT__", f"{lat:.8f}")
    app.add_api_route("/test-page", lambda: HTMLResponse(PAGE), include_in_schema=False)
    for path, text, kind in (
        ("/test-page-base.js", PAGE_BASE, "text/javascript"),
        ("/test-page.js", script, "text/javascript"),
        ("/test-page.css", PAGE_CSS, "text/css"),
    ):
        app.add_api_route(path, answering(text, kind), include_in_schema=False)
    try:
        with serve_app(app) as base:
            yield base
    finally:
        db_server.drop(url)


def test_cesium_loads_the_tilesets_and_picks_features_with_their_properties(served: str) -> None:
    from playwright.sync_api import sync_playwright

    to_wgs84 = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True)
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 800})
            violations = watch_csp(context)
            page = context.new_page()
            local = (served, "blob:", "data:")
            page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            answer = page.goto(f"{served}/test-page")
            assert answer is not None and "script-src 'self'" in answer.headers["content-security-policy"]
            page.wait_for_function("() => window.testState.ready || window.testState.error", timeout=120_000)
            state = page.evaluate("window.testState")
            assert state["error"] is None, (state["error"], violations[:5], errors[:5])

            # The school zone (DGD, no height rule: the 12 m default envelope), picked on its roof.
            lon, lat = to_wgs84.transform(E - 115, N + 45)
            zone: Any = page.evaluate(PICK, [lon, lat, 11.9])
            assert zone is not None, "nothing picked on the school zone"
            assert zone["land_use_code"] == "DGD"
            assert zone["zone_code"] == "ÔQH-03"
            assert zone["plan_code"] == PLAN_CODE
            assert zone["envelope_height_m"] == pytest.approx(12.0)

            # A building of the grid, picked on its roof (3.5 m tall).
            lon, lat = to_wgs84.transform(E + 100 + 9, N + 30 + 4.5)
            building: Any = page.evaluate(PICK, [lon, lat, 3.45])
            assert building is not None, "nothing picked on the building"
            assert building["height_m"] == pytest.approx(3.5)
            assert building["ward"] == "Thuận Thành"

            # Beside the tiles there is nothing to pick.
            lon, lat = to_wgs84.transform(E + 400, N - 300)
            assert page.evaluate(PICK, [lon, lat, 0.0]) is None
            loaded = page.evaluate("window.tileset.root.children.length")
            assert loaded == 3
            # For people: what the test saw (test-artifacts/ is git-ignored).
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "test-artifacts" / "tiles_cesium.png"))
        finally:
            browser.close()
    assert not violations, f"Content-Security-Policy violations: {violations[:5]}"
    assert not errors, errors
    assert not outside, f"the page tried to reach the network: {json.dumps(outside[:5])}"
