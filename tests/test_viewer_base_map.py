"""The base map in the viewer (headless Chromium): river, walls, moat and street names around the zones, offline.

The demo's sample dossier is imported and published as ``./run.sh demo`` does; when it has no base map of its own
(``HoSoGIS/NenDiaHinh.gpkg``), the tests' small one is imported with it. The view is the citadel's south-east face:
between its walls and the river. Screenshots: ``test-artifacts/viewer_base_map_*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from base_map_sample import write_base_map
from conftest import DatabaseServer
from test_viewer import Watched, browser, wait_2d
from viewer_served import DOSSIER, load_published_sample, serve

from converters import ImportOptions, import_path
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade

__all__ = ["browser"]  # the browser fixture of test_viewer, shared
DEFAULT_WALL_HEIGHT_M = 6.0  # a wall without a height stands this high in 3D (basemap.js)

# A point between the citadel's south-east face and the river: halfway from the Kỳ Đài (the flag tower in the middle
# of that face; without it, the walls' point nearest the river) to the river's point nearest it.
FACE_SQL = """
WITH walls AS (SELECT ST_Collect(geom_4326) AS g FROM planning.map_features WHERE kind = 'wall'),
river AS (SELECT geom_4326 AS g FROM planning.map_features WHERE kind = 'water' AND subkind = 'song'
          ORDER BY ST_Area(geom) DESC LIMIT 1),
anchor AS (SELECT coalesce(
    (SELECT geom_4326 FROM planning.map_features WHERE kind = 'landmark' AND name = 'Kỳ Đài' LIMIT 1),
    (SELECT ST_ClosestPoint(walls.g, ST_ClosestPoint(river.g, ST_Centroid(walls.g))) FROM walls, river)) AS p)
SELECT ST_X(m), ST_Y(m)
FROM (SELECT ST_Centroid(ST_MakeLine(anchor.p, ST_ClosestPoint(river.g, anchor.p))) AS m FROM anchor, river) q
"""


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = db_server.create("basemapviewer")
    try:
        upgrade(url)
        work = tmp_path_factory.mktemp("basemap-viewer")
        load_published_sample(url, work / "tiles")
        engine = create_db_engine(url, pool_size=1)
        try:
            if not (DOSSIER / "HoSoGIS" / "NenDiaHinh.gpkg").exists():
                write_base_map(work / "NenDiaHinh.gpkg")
                import_path(work / "NenDiaHinh.gpkg", engine, ImportOptions(user="lan.nguyen"))
            with engine.connect() as c:
                face = c.execute(sa.text(FACE_SQL)).one()
                walls = {
                    (n or "", float(h) if h is not None else DEFAULT_WALL_HEIGHT_M)
                    for n, h in c.execute(
                        sa.text("SELECT name, height_m FROM planning.map_features WHERE kind = 'wall'")
                    ).all()
                }
                river = c.execute(
                    sa.text(
                        "SELECT name FROM planning.map_features WHERE kind = 'water' AND subkind = 'song' "
                        "ORDER BY ST_Area(geom) DESC LIMIT 1"
                    )
                ).scalar_one()
        finally:
            engine.dispose()
        with serve(url, work / "tiles") as base:
            yield {"base": base, "face": (face[0], face[1]), "walls": walls, "river": river}
    finally:
        db_server.drop(url)


def rendered(page: Any, layers: list[str]) -> list[dict[str, Any]]:
    """The base-map features MapLibre drew in these layers at the current view (kind, name, layer)."""
    found: list[dict[str, Any]] = page.evaluate(
        """(layers) => window.viewerApp.map2d.map.queryRenderedFeatures({layers}).map((f) => ({
             kind: f.properties.kind, name: f.properties.name || null, layer: f.layer.id }))""",
        layers,
    )
    return found


def test_2d_shows_the_river_walls_moat_and_street_names_around_the_zones(served: dict[str, Any], browser: Any) -> None:
    w = Watched(browser, served["base"], {"width": 1200, "height": 800})
    page = w.page
    try:
        lon, lat = served["face"]
        page.goto(served["base"] + f"/#v=2d&lang=vi&lon={lon}&lat={lat}&z=16")
        wait_2d(page)
        page.wait_for_function("() => window.viewerApp.map2d.map.areTilesLoaded()", timeout=30_000)
        page.wait_for_function("() => window.viewerApp.map2d.map.loaded()", timeout=30_000)
        page.wait_for_timeout(500)  # labels are placed after the tiles: let the placement settle
        assert page.evaluate("window.viewerApp.map2d.map.getStyle().glyphs") is None  # nothing fetched for text
        areas = rendered(page, ["base-water", "base-walls", "base-streets", "zones-fill"])
        kinds = {f["kind"] for f in areas if f["kind"]}
        assert {"water", "wall", "street"} <= kinds, kinds
        assert any(f["layer"] == "zones-fill" for f in areas), "the zones are drawn over the base map"
        water = {f["name"] for f in areas if f["kind"] == "water"}
        assert served["river"] in water and len(water) >= 2, water  # the river and the moat
        # names on the map: the river's and at least one street's, drawn (placed) at this view
        labels = rendered(page, ["base-water-names", "base-street-names", "base-landmark-names"])
        assert served["river"] in {f["name"] for f in labels if f["kind"] == "water"}, labels
        streets = {f["name"] for f in labels if f["kind"] in ("street", "alley")}
        assert streets, labels
        # the base map lies under the zones, its names over them
        order = page.evaluate("window.viewerApp.map2d.map.getStyle().layers.map((l) => l.id)")
        assert order.index("base-walls") < order.index("zones-fill") < order.index("base-street-names")
        # the legend names the base map in both languages
        page.get_by_role("button", name="Chú giải").click()
        assert "Tường thành" in page.locator("#legend-base").inner_text()
        w.shot("base_map_2d_vi")
        page.get_by_role("button", name="EN").click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        assert "Citadel walls" in page.locator("#legend-base").inner_text()
        page.wait_for_timeout(500)
        english = rendered(page, ["base-water-names"])
        assert english and all(f["kind"] == "water" for f in english)
        w.shot("base_map_2d_en")
        w.check()
    finally:
        w.close()


def test_3d_shows_walls_at_their_height_water_and_names(served: dict[str, Any], browser: Any) -> None:
    w = Watched(browser, served["base"], {"width": 1200, "height": 800})
    page = w.page
    try:
        lon, lat = served["face"]
        page.goto(served["base"] + f"/#v=2d&lang=vi&lon={lon}&lat={lat}&z=16.3")
        wait_2d(page)
        page.get_by_role("button", name="3D").click()
        page.wait_for_function(
            "() => (window.viewerApp.ready.tileset3d && window.viewerApp.ready.baseMap3d)"
            " || window.viewerApp.errors.length",
            timeout=120_000,
        )
        assert page.evaluate("window.viewerApp.errors") == []
        page.wait_for_function(
            "() => window.viewerApp.map3d.tileset.tilesLoaded && window.viewerApp.map3d.viewer.dataSourceDisplay.ready",
            timeout=60_000,
        )
        scene = page.evaluate(
            """() => {
              const m = window.viewerApp.map3d, C = m.Cesium, now = C.JulianDate.now();
              const value = (p) => (p && p.getValue ? p.getValue(now) : p);
              const walls = [], water = [], labels = [];
              for (const e of m.baseMap.entities.values) {
                const kind = value(e.properties.kind);
                if (kind === 'wall' && e.polygon) {
                  walls.push({name: value(e.properties.name) || "",
                              height: value(e.polygon.extrudedHeight) - value(e.polygon.height)});
                } else if (kind === 'water' && e.polygon) {
                  water.push({height: value(e.polygon.height), extruded: value(e.polygon.extrudedHeight) ?? null});
                }
                if (e.label) {
                  const p = C.SceneTransforms.worldToWindowCoordinates(m.viewer.scene, e.position.getValue(now));
                  const c = m.viewer.scene.canvas;
                  labels.push({kind, text: value(e.label.text),
                               onScreen: !!p && p.x > 0 && p.y > 0 && p.x < c.clientWidth && p.y < c.clientHeight});
                }
              }
              return {walls, water, labels};
            }"""
        )
        page.wait_for_timeout(1000)
        w.shot("base_map_3d")
        walls = {(x["name"], round(x["height"], 2)) for x in scene["walls"]}
        assert walls == served["walls"], "each wall stands to its own height above the ground"
        assert scene["water"] and all(x["extruded"] is None and abs(x["height"]) < 1 for x in scene["water"])
        shown = {(x["kind"], x["text"]) for x in scene["labels"] if x["onScreen"]}
        assert ("water", served["river"]) in shown, shown
        assert any(k in ("street", "alley") for k, _ in shown), shown
        w.check()
    finally:
        w.close()
