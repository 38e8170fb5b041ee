"""Web viewer: time to first 2D render and to the 3D tileset loaded in headless Chromium (software WebGL).

The published sample plan of Huế (97 zones, 1,362 parcels, 1,137 buildings) served by the app on a live uvicorn; each
run is a fresh browser context (cold cache). Baseline in the same run: the time to fetch the page's static assets
alone (page, modules, MapLibre, CesiumJS, gzip) without drawing anything. Targets: 2D <= 5 s, 3D <= 12 s.
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import uvicorn

from bench.common import throwaway_database
from converters import ImportOptions, import_path
from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.editing import publish_plan
from gis_service.settings import Settings, TileSettings, VectorTileSettings, project_root
from tiles import TileOptions, build_tilesets

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking"]
TARGET_2D_S = 5.0
TARGET_3D_S = 12.0
ASSETS = [
    "/",
    "/viewer/app.js",
    "/viewer/i18n.js",
    "/viewer/map2d.js",
    "/viewer/map3d.js",
    "/viewer/style.css",
    "/viewer/i18n/vi.json",
    "/viewer/config.json",
    "/vendor/maplibre/maplibre-gl.mjs",
    "/vendor/maplibre/maplibre-gl-worker.mjs",
    "/vendor/maplibre/maplibre-gl.css",
    "/vendor/cesium/Cesium.js",
    "/vendor/cesium/Widgets/widgets.css",
]


def _load_sample(url: str, tiles_dir: Path) -> None:
    engine = create_db_engine(url, pool_size=2)
    try:
        options = ImportOptions(
            plan="46QPK0000001",
            plan_name="Quy hoạch phân khu Kinh thành Huế",
            decision_no="1234/QĐ-UBND",
            decision_date=date(2025, 6, 30),
            user="bench",
        )
        import_path(project_root() / "sample_data" / "46QPK0000001", engine, options)
        with engine.begin() as conn:
            publish_plan(conn, "46QPK0000001", user="bench", reason="bench")
        build_tilesets(engine, tiles_dir, options=TileOptions())
    finally:
        engine.dispose()


@contextmanager
def _served(url: str, tiles_dir: Path, ogc_dir: Path, vector_tiles: VectorTileSettings | None = None) -> Iterator[str]:
    """The app on a live uvicorn; ``vector_tiles``: where its published vector tiles are (default: the settings')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(database_url=url, tiles=TileSettings(out_dir=tiles_dir), ogc_dir=ogc_dir)
    if vector_tiles is not None:
        settings = settings.model_copy(update={"vector_tiles": vector_tiles})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _assets_s(base: str) -> float:
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as client:
        for path in ASSETS:
            client.get(path).raise_for_status()
    return time.perf_counter() - t0


def _browser_run(browser: object, base: str) -> tuple[float, float]:
    """(seconds from navigation to the first 2D render, seconds from navigation to the 3D tileset loaded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # functions, not expressions: the page's Content-Security-Policy forbids eval of a bare expression
        page.goto(base + "/#v=3d")  # the permalink of the 3D view: both maps start at once
        page.wait_for_function("() => window.viewerApp && window.viewerApp.ready.map2d", timeout=120_000)
        page.wait_for_function(
            "() => window.viewerApp.ready.tileset3d || window.viewerApp.errors.length", timeout=300_000, polling=50
        )
        t = page.evaluate("() => window.viewerApp.timings")
        if errors or page.evaluate("() => window.viewerApp.errors"):
            raise RuntimeError(f"the viewer failed: {errors or page.evaluate('() => window.viewerApp.errors')}")
        return t["map2d"] / 1000, t["tileset3d"] / 1000
    finally:
        context.close()


def _first_2d_only(browser: object, base: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.wait_for_function("() => window.viewerApp && window.viewerApp.ready.map2d", timeout=120_000, polling=50)
        return float(page.evaluate("() => window.viewerApp.timings.map2d")) / 1000
    finally:
        context.close()


def run(scale: float = 1.0) -> None:
    """Time the viewer's first 2D render and 3D tileset in headless Chromium; print the report.

    Parameters
    ----------
    scale
        Multiplies the number of page loads the medians are taken over.
    """
    from playwright.sync_api import sync_playwright

    runs = max(1, round(3 * scale))
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp:
        tiles_dir, ogc_dir = Path(tmp) / "tiles", Path(tmp) / "ogc"
        _load_sample(url, tiles_dir)
        with _served(url, tiles_dir, ogc_dir) as base, sync_playwright() as p:
            _assets_s(base)  # warm the server (first imports, pools)
            assets = statistics.median(_assets_s(base) for _ in range(runs))
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                _first_2d_only(browser, base)  # warm-up: the browser's own start
                first_2d = statistics.median(_first_2d_only(browser, base) for _ in range(runs))
                both = [_browser_run(browser, base) for _ in range(runs)]
            finally:
                browser.close()
    first_2d_with_3d = statistics.median(b[0] for b in both)
    tileset = statistics.median(b[1] for b in both)
    load = os.getloadavg()[0]
    print(f"\nWeb viewer in headless Chromium, software WebGL (SwiftShader), median of {runs} cold page loads")
    print(f"  machine: {os.cpu_count()} cores, load average {load:.1f} at the end of the run")
    print(f"  {'case':<62} {'measured':>9} {'target':>8}")
    print(f"  {'baseline: fetch the static assets alone (13 files, gzip)':<62} {assets:>8.2f}s {'':>8}")
    print(f"  {'first 2D render (vector tiles drawn), 2D page':<62} {first_2d:>8.2f}s {TARGET_2D_S:>7.1f}s")
    print(f"  {'first 2D render, page opened in 3D (both maps at once)':<62} {first_2d_with_3d:>8.2f}s {'':>8}")
    print(f"  {'3D tileset loaded (all visible tiles), page opened in 3D':<62} {tileset:>8.2f}s {TARGET_3D_S:>7.1f}s")
    print(
        f"  2D: {'meets' if first_2d <= TARGET_2D_S else 'MISSES'} its target ({first_2d / assets:.1f}x the asset "
        f"fetch); 3D: {'meets' if tileset <= TARGET_3D_S else 'MISSES'} its target ({tileset / assets:.1f}x)"
    )
