"""Vector tile routes (OGC API - Tiles, WebMercatorQuad): tilesets and Mapbox vector tiles of the plan layers.

Registered before the pygeoapi mount at ``/ogc``, so they answer these paths; the tiles are built by
:mod:`gis_service.vector_tiles`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gis_service.api.deps import read_connection
from gis_service.as_of import parse_as_of
from gis_service.consultation.view import VIEW, parse_view
from gis_service.db import resolve_database_url
from gis_service.errors import LocalClusterError, NotFound
from gis_service.published_tiles import PublishedTiles, database_of, etag_of
from gis_service.settings import Settings
from gis_service.vector_tiles import (
    MAX_ZOOM,
    TILE_LAYERS,
    check_as_of_layers,
    check_consultation_layers,
    check_tile,
    tile_async,
)

__all__ = [
    "PUBLISHED_CACHE_CONTROL",
    "TILE_CACHE_CONTROL",
    "TILE_MEDIA_TYPE",
    "cached",
    "published_tiles",
    "tiles_router",
]

TILE_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TILE_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"
#: Published tiles change only at the next publication: a CDN keeps them an hour, then revalidates (a 304 is cheap).
PUBLISHED_CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"
#: The plan on a date; a cache keys on the whole address, so a tile of one date is never served for another.
AS_OF_PARAM = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Quy hoạch tại ngày: the zones and red lines of the plan versions in force on this date "
    "(YYYY-MM-DD); parcels and the base map stay as they are today; a later date answers for today",
    "schema": {"type": "string", "format": "date", "example": "2024-07-01"},
}
#: The drafts under consultation instead of the approved plans (not with as_of).
VIEW_PARAM = {
    "name": VIEW,
    "in": "query",
    "required": False,
    "description": "view=consultation: Dự thảo đang lấy ý kiến — only the zones and red lines of the drafts under "
    "consultation today, each marked plan_status draft (not in force; never mixed with the approved plan); parcels "
    "and the base map stay as they are. Not with as_of.",
    "schema": {"type": "string", "enum": ["consultation"]},
}


def cached(request: Request, body: bytes, media_type: str, cache_control: str, *, tag: str | None = None) -> Response:
    """An answer with a strong ETag of its body (``tag`` when known), or a 304 when the client has it already."""
    tag = tag or etag_of(body)
    headers = {"ETag": tag, "Cache-Control": cache_control, "Access-Control-Allow-Origin": "*"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def published_tiles(settings: Settings) -> PublishedTiles:
    """The folder of published vector tiles the service reads (``GIS_VECTOR_TILES__DIR``), of its own database."""
    return PublishedTiles(settings.vector_tiles.dir, _database(settings))


def tiles_router(settings: Settings, published: PublishedTiles) -> APIRouter:
    """The vector tile routes: tilesets and tiles of each collection and of the whole plan map.

    Parameters
    ----------
    settings
        The public base URL of the links.
    published
        The published tiles, answered from their files (:func:`published_tiles`).
    """
    router = APIRouter(tags=["Vector tiles (OGC API - Tiles)"])
    base = settings.base_url() + "/ogc"

    @router.get(
        "/ogc/collections/{collection_id}/tiles",
        summary="Vector tilesets of a collection (zones, parcels, red_lines, map_features)",
    )
    def collection_tilesets(collection_id: str) -> JSONResponse:
        _check_collection(collection_id)
        ts = _tileset(base, [collection_id], f"/collections/{collection_id}")
        ts["links"].insert(0, {"rel": "self", "href": f"{base}/collections/{collection_id}/tiles/WebMercatorQuad"})
        return JSONResponse({"tilesets": [ts]})

    @router.get("/ogc/collections/{collection_id}/tiles/WebMercatorQuad", summary="Vector tileset metadata")
    def collection_tileset(collection_id: str) -> JSONResponse:
        _check_collection(collection_id)
        return JSONResponse(_tileset(base, [collection_id], f"/collections/{collection_id}"))

    @router.get(
        "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
        summary="A Mapbox vector tile of one collection",
        response_class=Response,
        responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}, 304: {"description": "Not modified"}},
        openapi_extra={"parameters": [AS_OF_PARAM, VIEW_PARAM]},
    )
    async def collection_tile(request: Request, collection_id: str, z: int, y: int, x: int) -> Response:
        _check_collection(collection_id)
        if (answer := _published_tile(published, request, collection_id, z, y, x)) is not None:
            return answer
        consultation, as_of = _consultation(request), _as_of(request)
        if as_of is not None:
            check_as_of_layers([collection_id])
        if consultation:
            check_consultation_layers([collection_id])
        async with read_connection(request) as conn:
            body = await tile_async(conn, [collection_id], z, x, y, as_of=as_of, consultation=consultation)
        return cached(request, body, TILE_MEDIA_TYPE, TILE_CACHE_CONTROL)

    _dataset_tilesets_route(router, base)

    @router.get(
        "/ogc/tiles/WebMercatorQuad", summary="Vector tileset of the plan map (zones, parcels, red lines, base map)"
    )
    def dataset_tileset() -> JSONResponse:
        return JSONResponse(_tileset(base, list(TILE_LAYERS), ""))

    @router.get(
        "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}",
        summary="A Mapbox vector tile of the plan map: layers zones, parcels, red_lines, map_features",
        response_class=Response,
        responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}, 304: {"description": "Not modified"}},
        openapi_extra={"parameters": [AS_OF_PARAM, VIEW_PARAM]},
    )
    async def dataset_tile(request: Request, z: int, y: int, x: int) -> Response:
        if (answer := _published_tile(published, request, "map", z, y, x)) is not None:
            return answer
        consultation, as_of = _consultation(request), _as_of(request)
        async with read_connection(request) as conn:
            body = await tile_async(conn, list(TILE_LAYERS), z, x, y, as_of=as_of, consultation=consultation)
        return cached(request, body, TILE_MEDIA_TYPE, TILE_CACHE_CONTROL)

    return router


def _dataset_tilesets_route(router: APIRouter, base: str) -> None:
    """``GET /ogc/tiles``: the list of the plan map's tilesets (OGC API - Tiles, tilesets-list)."""

    @router.get("/ogc/tiles", summary="Vector tilesets of the plan map (one: WebMercatorQuad)")
    def dataset_tilesets() -> JSONResponse:
        ts = _tileset(base, list(TILE_LAYERS), "")
        ts["links"].insert(0, {"rel": "self", "href": f"{base}/tiles/WebMercatorQuad"})
        return JSONResponse({"tilesets": [ts]})


def _tileset(base: str, collections: list[str], path: str) -> dict[str, Any]:
    """The OGC API - Tiles tileset of ``collections`` under ``base`` + ``path``."""
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


def _published_tile(
    published: PublishedTiles, request: Request, layer_set: str, z: int, y: int, x: int
) -> Response | None:
    # the approved plans of today come from the files, without the database; dates and drafts are drawn live
    if "as_of" in request.query_params or VIEW in request.query_params:
        return None
    check_tile(z, x, y)
    found = published.read_tagged(layer_set, z, x, y)
    if found is None:
        return None
    body, tag = found
    return cached(request, body, TILE_MEDIA_TYPE, PUBLISHED_CACHE_CONTROL, tag=tag)


def _database(settings: Settings) -> str:
    # files written from another database (a test's, a copy's) must not answer for this one
    try:
        return database_of(resolve_database_url(settings))
    except LocalClusterError:  # no local cluster yet: then no folder can be ours
        return "(none)"


def _as_of(request: Request) -> date | None:
    raw = request.query_params.get("as_of")
    return None if raw is None else parse_as_of(raw)


def _consultation(request: Request) -> bool:
    params = request.query_params
    return parse_view(params.get(VIEW), as_of=params.get("as_of"))


def _check_collection(collection_id: str) -> None:
    if collection_id not in TILE_LAYERS:
        raise NotFound(f"collection {collection_id!r} has no vector tiles; tiled collections: {', '.join(TILE_LAYERS)}")
