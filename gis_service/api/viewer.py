"""The web viewer's routes: the page at ``/`` (a 2D map with MapLibre GL JS, a 3D globe with CesiumJS), its files.

The page and its own modules live in :mod:`gis_service.viewer` (``static/``); CesiumJS and MapLibre come from
the npm packages installed by the set-up and only their build files are served (``/vendor/cesium/``,
``/vendor/maplibre/``). Nothing is fetched from the internet: the base map is a configurable tile URL
(``GIS_VIEWER__BASE_MAP_URL``), else the page uses the Natural Earth imagery packaged with CesiumJS in 3D and a
plain background in 2D.

``/viewer/config.json`` tells the page where the plans are (extent), the legend (land-use codes of the approved
zones with their official names and colours) and the base map.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gis_service.api.deps import read_connection
from gis_service.model.layers import ZONES
from gis_service.model.visibility import APPROVED_PLAN_IDS
from gis_service.settings import Settings
from gis_service.viewer import STATIC_DIR

__all__ = ["install_api_docs", "install_viewer", "viewer_config_sql"]

# Huế's Kinh thành: where the map opens when no plan is approved yet.
DEFAULT_CENTER = (107.5790, 16.4698)

# The only files of maplibre-gl's dist/ the page needs (the .mjs imports its worker by URL).
MAPLIBRE_FILES = frozenset({"maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"})
# The parts of cesium's Build/Cesium the page needs (not the 6 MB index.js/index.cjs copies).
CESIUM_PARTS = frozenset({"Cesium.js", "Assets", "ThirdParty", "Widgets", "Workers"})
# Knockout 3.5.1, bundled in CesiumJS, finds the global object with an eval, which the Content-Security-Policy
# forbids (and CesiumJS then fails to load); 'unsafe-eval' would allow every eval: Cesium.js is served with that one
# expression replaced by the same object (gis_service/api/headers.py).
CESIUM_PATCHES = {"Cesium.js": (b'(0,eval)("this")', b"globalThis")}
# The files of swagger-ui-dist /docs needs (not its ES bundles, source maps or sample index).
SWAGGER_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "oauth2-redirect.html", "oauth2-redirect.js", "favicon-32x32.png"}
)
SWAGGER = "/vendor/swagger-ui/"
# /docs: no inline script (the Content-Security-Policy allows none): Swagger UI is started by /docs/init.js.
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="icon" type="image/png" href="{swagger}favicon-32x32.png">
<link rel="stylesheet" href="{swagger}swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{swagger}swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
# The OpenAPI document of the same origin, no validator badge (it would load an image from validator.swagger.io).
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  oauth2RedirectUrl: window.location.origin + "/vendor/swagger-ui/oauth2-redirect.html",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

NO_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"


def viewer_config_sql() -> str:
    """One statement answering the extent (lon/lat) and the legend of the approved plans as JSON."""
    # APPROVED_PLAN_IDS is a constant clause of the project; nothing of the request reaches this SQL.
    return f"""
WITH z AS (SELECT geom_4326, land_use_code FROM planning.zones WHERE {APPROVED_PLAN_IDS}),
ext AS (SELECT ST_Extent(geom_4326) AS b FROM z)
SELECT json_build_object(
  'extent', (SELECT CASE WHEN b IS NULL THEN NULL ELSE json_build_array(
      round(ST_XMin(b)::numeric, 7), round(ST_YMin(b)::numeric, 7),
      round(ST_XMax(b)::numeric, 7), round(ST_YMax(b)::numeric, 7)) END FROM ext),
  'legend', coalesce((SELECT json_agg(json_build_object(
      'code', c.code, 'name_vi', c.name_vi, 'name_en', c.name_en, 'color', c.color_hex) ORDER BY c.code)
      FROM planning.land_use_codes c WHERE c.code IN (SELECT land_use_code FROM z)), '[]'::json),
  'plans', coalesce((SELECT json_agg(json_build_object(
      'id', p.id, 'code', p.code, 'name', p.name, 'version', p.version, 'decision_no', p.decision_no,
      'decision_date', to_char(p.decision_date, 'YYYY-MM-DD')) ORDER BY p.code)
      FROM planning.plans p WHERE p.status = 'approved'), '[]'::json)
)::text
"""  # noqa: S608


class _Vendor:
    """Static files of an npm package folder, limited to ``allowed`` top-level names, gzip-compressed, cached."""

    def __init__(
        self,
        directory: Path,
        allowed: frozenset[str],
        package: str,
        patches: dict[str, tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.directory = directory
        self.allowed = allowed
        self.package = package
        self.patches = patches or {}
        self.patched: dict[str, tuple[bytes, str]] = {}
        self.files = StaticFiles(directory=directory, check_dir=False, follow_symlink=True)

    def _patched(self, path: str) -> Response:
        """The file at ``path`` with its patch applied (read once), in a response of its own: the gzip middleware
        rewrites a response's headers in place, and a response served twice went out the second time uncompressed
        under the first one's compressed Content-Length (the browser then failed to load CesiumJS)."""
        if path not in self.patched:
            old, new = self.patches[path]
            content = (self.directory / path).read_bytes().replace(old, new)
            self.patched[path] = (content, hashlib.sha256(content).hexdigest()[:32])
        content, etag = self.patched[path]
        return Response(
            content, media_type="text/javascript", headers={"Cache-Control": VENDOR_CACHE, "ETag": f'"{etag}"'}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        path = (path[len(root) :] if root and path.startswith(root) else path).lstrip("/")
        top = path.split("/", 1)[0]
        if not self.directory.is_dir():
            message = (
                f"the npm package {self.package} is not installed ({self.directory} is missing): "
                "run './run.sh setup' (npm ci)"
            )
            await JSONResponse({"code": "NotFound", "description": message}, 404)(scope, receive, send)
            return
        if top not in self.allowed:
            await JSONResponse({"code": "NotFound", "description": "not found"}, 404)(scope, receive, send)
            return
        if path in self.patches:
            await self._patched(path)(scope, receive, send)
            return

        async def send_cached(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", VENDOR_CACHE.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.files(scope, receive, send_cached)


def _vendor_app(
    directory: Path, allowed: frozenset[str], package: str, patches: dict[str, tuple[bytes, bytes]] | None = None
) -> ASGIApp:
    return GZipMiddleware(_Vendor(directory, allowed, package, patches), minimum_size=1024)


def install_viewer(app: FastAPI, settings: Settings) -> None:
    """Serve the viewer at ``/``, its configuration, its own files and the needed npm build files."""
    viewer = settings.viewer
    modules = Path(viewer.node_modules)

    from gis_service.api.planner import ZONE_FIELDS, planner_router
    from gis_service.consultation.view import drafts_under_consultation_async

    app.include_router(planner_router())

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": NO_CACHE})

    @app.get("/viewer/config.json", summary="Viewer settings: extent of the approved plans, legend, base map")
    async def viewer_config(request: Request) -> Response:
        async with read_connection(request) as conn:
            cur = await conn.execute(viewer_config_sql())
            row = await cur.fetchone()
            drafts = await drafts_under_consultation_async(conn)
        data: dict[str, Any] = json.loads(row[0]) if row else {}
        # the banner of a draft under consultation needs no request more at start
        data["consultations"] = [d.as_dict() for d in drafts.drafts]
        data["default_center"] = list(DEFAULT_CENTER)
        # The ground the 3D tiles stand on (without a DEM): the base map's water and walls in 3D start there.
        data["ground_height_m"] = settings.tiles.ground_level_m + settings.tiles.geoid_offset_m
        data["base_map"] = (
            {"url": viewer.base_map_url, "attribution": viewer.base_map_attribution} if viewer.base_map_url else None
        )
        data["zone_rules"] = [
            {"name": c.name, "type": c.type, "unit": c.unit, "label": {"vi": c.label_vi, "en": c.label_en}}
            for c in ZONES.rules()
        ]
        data["zone_fields"] = [
            {"name": c.name, "type": c.type, "unit": c.unit, "label": {"vi": c.label_vi, "en": c.label_en}}
            for c in ZONE_FIELDS
            if c.name != "plan_id"
        ]
        data["links"] = {
            "api": "/api",
            "docs": "/docs",
            "ogc": "/ogc",
            "tileset_3d": "/tiles/3d/tileset.json",
            "vector_tiles": "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}",
            "lookup": "/lookup",
        }
        return JSONResponse(data, headers={"Cache-Control": NO_CACHE})

    app.mount(
        "/viewer",
        GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=1024),
        name="viewer-static",
    )
    app.mount(
        "/vendor/cesium",
        _vendor_app(modules / "cesium" / "Build" / "Cesium", CESIUM_PARTS, "cesium", CESIUM_PATCHES),
        name="vendor-cesium",
    )
    app.mount(
        "/vendor/maplibre",
        _vendor_app(modules / "maplibre-gl" / "dist", MAPLIBRE_FILES, "maplibre-gl"),
        name="vendor-maplibre",
    )


def install_api_docs(app: FastAPI, settings: Settings) -> None:
    """Serve Swagger UI at ``/docs`` from the npm package ``swagger-ui-dist``: no CDN, no inline script.

    Parameters
    ----------
    app
        The application (its title names the page).
    settings
        Where the npm packages are.
    """
    page = DOCS_PAGE.format(title=html.escape(app.title), swagger=SWAGGER)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": NO_CACHE})

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript", headers={"Cache-Control": NO_CACHE})

    app.mount(
        SWAGGER.rstrip("/"),
        _vendor_app(Path(settings.viewer.node_modules) / "swagger-ui-dist", SWAGGER_FILES, "swagger-ui-dist"),
        name="vendor-swagger-ui",
    )
