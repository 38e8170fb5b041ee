"""The public read path of the web app: pygeoapi at ``/ogc``, vector tiles, the zoning lookup.

:func:`install_read_path` is called by ``create_app`` (writes the pygeoapi configuration, mounts it, adds the
routes); :func:`open_read_path` runs in the app's lifespan (connection pools).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool

from gis_service.errors import ValidationError
from gis_service.lookup import LookupQuery, lookup_with_envelope_async
from gis_service.settings import Settings
from gis_service.vector_tiles import MAX_ZOOM, TILE_LAYERS, tile_async
from ogc import provider
from ogc.config import DATABASE_KEY, build_config, write_config
from ogc.permit_process import jobs_manager_config

__all__ = ["install_read_path", "open_read_path"]

LOGGER = logging.getLogger(__name__)

TILE_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"
LOOKUP_CACHE_CONTROL = "public, max-age=60"


@asynccontextmanager
async def open_read_path(app: FastAPI, settings: Settings, database_url: str) -> AsyncIterator[None]:
    """Register the database for pygeoapi's providers and open the asynchronous pool of the routes."""
    options = f"-c statement_timeout={settings.statement_timeout_ms}" if settings.statement_timeout_ms else ""
    # the routes' statements are prepared; re-planning the rules' site statement for each parcel cost more than
    # running it, and no statement of this pool gains from a plan made for its parameters (see the commit)
    options += " -c plan_cache_mode=force_generic_plan"
    provider.register_database(
        DATABASE_KEY,
        database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=settings.db_pool_size,  # opened in the background at start: no connection set-up under load
        max_size=settings.db_pool_size,
        kwargs={"autocommit": True, "options": options, "application_name": "hue-planning-api"},
        open=False,
        name="api",
    )
    await pool.open(wait=False)
    app.state.read_pool = pool
    # pygeoapi, pyproj and the app leave some 10^5 long-lived objects: moved out of the collector's sight, they no
    # longer make each full collection a pause of tens of milliseconds under load (the p99 of the lookup)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await pool.close()
        provider.close_databases()


def _mount_pygeoapi(app: FastAPI, settings: Settings) -> None:
    config = build_config(base_url=settings.base_url() + "/ogc", max_items=settings.ogc_max_items)
    try:
        config["server"]["manager"] = jobs_manager_config(settings.ogc_dir / "jobs")  # async processes (permit-check)
        files = write_config(config, settings.ogc_dir)
    except OSError as exc:  # e.g. a read-only install folder in a container: the files are derived, any folder does
        fallback = Path(tempfile.gettempdir()) / f"hue-planning-ogc-{os.getuid()}"
        LOGGER.warning("cannot write the pygeoapi configuration to %s (%s); using %s", settings.ogc_dir, exc, fallback)
        config["server"]["manager"] = jobs_manager_config(fallback / "jobs")
        files = write_config(config, fallback)
    # pygeoapi reads these two variables when its Starlette app is imported (there is no other way in).
    os.environ["PYGEOAPI_CONFIG"] = str(files.config)
    os.environ["PYGEOAPI_OPENAPI"] = str(files.openapi)
    module = sys.modules.get("pygeoapi.starlette_app")
    if module is not None and getattr(module, "_planning_config", None) != str(files.config):
        # pygeoapi keeps one configuration per process: a second app with other settings reloads it.
        module = importlib.reload(module)
    elif module is None:
        module = importlib.import_module("pygeoapi.starlette_app")
    module._planning_config = str(files.config)  # type: ignore[attr-defined]
    app.mount("/ogc", ExecutionBodyGuard(module.APP), name="ogc")


class ExecutionBodyGuard:
    """Refuses (400) a process execution request whose body is not a JSON object, before pygeoapi sees it.

    pygeoapi 0.24 calls ``data.get('inputs')`` on whatever JSON the body holds: a list, a number or ``null`` ends
    in an AttributeError and a 500 (found by schemathesis). Everything else passes through untouched.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/execution"):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = None
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                problem = 'the execution request must be a JSON object: {"inputs": {...}}'
            elif not isinstance(data.get("inputs", {}), dict):
                problem = '"inputs" of the execution request must be a JSON object: {"lon": ..., "lat": ...}'
        except ValueError as exc:
            problem = f"the execution request is not valid JSON: {exc}"
        if problem is not None:
            response = JSONResponse({"code": "InvalidParameterValue", "description": problem}, status_code=400)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _cached(request: Request, body: bytes, media_type: str, cache_control: str) -> Response:
    tag = _etag(body)
    headers = {"ETag": tag, "Cache-Control": cache_control, "Access-Control-Allow-Origin": "*"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def tiles_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["Vector tiles (OGC API - Tiles)"])
    base = settings.base_url() + "/ogc"

    def tileset(collections: list[str], path: str) -> dict[str, Any]:
        return {
            "title": ", ".join(TILE_LAYERS[c].title_en for c in collections),
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
            "links": [
                {
                    "rel": "item",
                    "type": "application/vnd.mapbox-vector-tile",
                    "title": "Mapbox vector tile",
                    "href": f"{base}{path}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                    "templated": True,
                },
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                    "href": "https://schemas.opengis.net/tms/2.0/json/examples/tilematrixset/WebMercatorQuad.json",
                },
            ],
            "layers": [
                {
                    "id": c,
                    "title": TILE_LAYERS[c].title_en,
                    "description": TILE_LAYERS[c].title_vi,
                    "minTileMatrix": str(TILE_LAYERS[c].min_zoom),
                    "maxTileMatrix": str(MAX_ZOOM),
                    **({"geometryType": t} if (t := TILE_LAYERS[c].geometry_type) else {}),
                }
                for c in collections
            ],
        }

    @router.get(
        "/ogc/collections/{collection_id}/tiles",
        summary="Vector tilesets of a collection (zones, parcels, red_lines, map_features)",
    )
    def collection_tilesets(collection_id: str) -> JSONResponse:
        _check_collection(collection_id)
        ts = tileset([collection_id], f"/collections/{collection_id}")
        ts["links"].insert(0, {"rel": "self", "href": f"{base}/collections/{collection_id}/tiles/WebMercatorQuad"})
        return JSONResponse({"tilesets": [ts]})

    @router.get("/ogc/collections/{collection_id}/tiles/WebMercatorQuad", summary="Vector tileset metadata")
    def collection_tileset(collection_id: str) -> JSONResponse:
        _check_collection(collection_id)
        return JSONResponse(tileset([collection_id], f"/collections/{collection_id}"))

    @router.get(
        "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
        summary="A Mapbox vector tile of one collection",
        response_class=Response,
        responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}},
    )
    async def collection_tile(request: Request, collection_id: str, z: int, y: int, x: int) -> Response:
        _check_collection(collection_id)
        async with request.app.state.read_pool.connection() as conn:
            body = await tile_async(conn, [collection_id], z, x, y)
        return _cached(request, body, "application/vnd.mapbox-vector-tile", TILE_CACHE_CONTROL)

    @router.get(
        "/ogc/tiles/WebMercatorQuad", summary="Vector tileset of the plan map (zones, parcels, red lines, base map)"
    )
    def dataset_tileset() -> JSONResponse:
        return JSONResponse(tileset(list(TILE_LAYERS), ""))

    @router.get(
        "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}",
        summary="A Mapbox vector tile of the plan map: layers zones, parcels, red_lines, map_features",
        response_class=Response,
        responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}},
    )
    async def dataset_tile(request: Request, z: int, y: int, x: int) -> Response:
        async with request.app.state.read_pool.connection() as conn:
            body = await tile_async(conn, list(TILE_LAYERS), z, x, y)
        return _cached(request, body, "application/vnd.mapbox-vector-tile", TILE_CACHE_CONTROL)

    return router


def _check_collection(collection_id: str) -> None:
    from gis_service.errors import NotFound

    if collection_id not in TILE_LAYERS:
        raise NotFound(f"collection {collection_id!r} has no vector tiles; tiled collections: {', '.join(TILE_LAYERS)}")


LOOKUP_PARAMS: dict[str, tuple[type, str]] = {
    "lon": (float, "WGS84 longitude, degrees (with lat)"),
    "lat": (float, "WGS84 latitude, degrees (with lon)"),
    "e": (float, "VN-2000 EPSG:9214 easting, metres (with n)"),
    "n": (float, "VN-2000 EPSG:9214 northing, metres (with e)"),
    "sheet_no": (int, "Số tờ: map sheet number (with parcel_no)"),
    "parcel_no": (int, "Số thửa: parcel number (with sheet_no)"),
    "ward": (str, "Phường/xã: ward name or code, when the numbers exist in several wards"),
}


ENVELOPE_PARAM = {
    "name": "envelope",
    "in": "query",
    "required": False,
    "description": "Add the parcel's buildable envelope (what may be built: area, floors, height, floor area)",
    "schema": {"type": "boolean", "default": True},
}


def _query_parameter(name: str, kind: type, text: str) -> dict[str, Any]:
    schema = {float: {"type": "number"}, int: {"type": "integer"}, str: {"type": "string", "maxLength": 200}}[kind]
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


def _lookup_query(request: Request) -> LookupQuery:
    values: dict[str, Any] = {}
    for name, raw in request.query_params.items():
        spec = LOOKUP_PARAMS.get(name)
        if spec is None:  # e.g. f=json or a cache buster; a misspelt lon/lat is caught by LookupQuery.mode()
            continue
        kind = spec[0]
        if kind is str:
            if len(raw) > 200:
                raise ValidationError(f"{name} is longer than 200 characters")
            values[name] = raw
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            noun = "a number" if kind is float else "a whole number"
            raise ValidationError(f"{name} must be {noun}, not {raw!r}") from None
    return LookupQuery(**values)


def _envelope_wanted(request: Request) -> bool:
    raw = request.query_params.get("envelope", "true").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError(f"envelope must be true or false, not {raw!r}")
    return raw in ("true", "1")


def lookup_router() -> APIRouter:
    router = APIRouter(tags=["Zoning lookup (tra cứu quy hoạch)"])

    @router.get(
        "/lookup",
        summary="Zoning of a point (lon/lat or VN-2000 e/n) or of a sheet and parcel number",
        openapi_extra={
            "parameters": [
                *(_query_parameter(name, kind, text) for name, (kind, text) in LOOKUP_PARAMS.items()),
                ENVELOPE_PARAM,
            ]
        },
    )
    async def lookup_route(request: Request) -> Response:
        """The parcel at the point, every zone of the approved plans it intersects (area m², share %), rules, plan.

        The parameters are read by hand (documented through ``openapi_extra``): the citizens' hot path, where
        FastAPI's per-parameter validation was a noticeable share of the time of a request.
        """
        return await _answer(request, _lookup_query(request))

    @router.get(
        "/lookup/parcels/{parcel_id}",
        summary="Zoning of a parcel by its id",
        openapi_extra={"parameters": [ENVELOPE_PARAM]},
    )
    async def lookup_parcel(request: Request, parcel_id: int) -> Response:
        return await _answer(request, LookupQuery(parcel_id=parcel_id))

    return router


async def _answer(request: Request, query: LookupQuery) -> Response:
    query.mode()  # bad input is refused before a connection is taken
    envelope = _envelope_wanted(request)
    async with request.app.state.read_pool.connection() as conn:
        text = await lookup_with_envelope_async(conn, query, envelope=envelope, cache=request.app.state.site_cache)
    return Response(
        content=text.encode(),
        media_type="application/json",
        headers={"Cache-Control": LOOKUP_CACHE_CONTROL, "Access-Control-Allow-Origin": "*"},
    )


def install_read_path(app: FastAPI, settings: Settings) -> None:
    """Add the lookup and tile routes, then mount pygeoapi at ``/ogc`` (routes first: they win over the mount)."""
    app.include_router(lookup_router())
    app.include_router(tiles_router(settings))
    _mount_pygeoapi(app, settings)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        """Malformed parameters of the read path are a 400 naming the parameter, as OGC APIs answer.

        So are those of the permit checks (their acceptance asks for it). Other routes keep FastAPI's default (422).
        """
        if not request.url.path.startswith(("/ogc", "/lookup", "/permits", "/parcels")):
            return await request_validation_exception_handler(request, exc)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
            problems.append(f"{where}: {err.get('msg', 'invalid')} (got {err.get('input')!r})")
        return JSONResponse({"code": ValidationError.code, "description": "; ".join(problems)}, status_code=400)
