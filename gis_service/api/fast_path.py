"""The citizens' hot reads of published plans, answered before FastAPI's routing: a published vector tile (a file
written at publication) and a prepared lookup (one row written at publication).

Pure ASGI, inside the guards (security headers, CORS, limits, the time limit): a request in its common form, with
no parameter but the ones it needs, is answered here with the same bytes and headers as its route would send.
Prepared answers are kept in the process while the data version holds (:mod:`gis_service.hot_answers`): a
parcel's lookup asked again is answered without the database. Anything else (another parameter, a bad value, a
date, a draft, a parcel not prepared, a tile drawn live, the database unreachable) passes on to the routes, which
answer it or say what is wrong. Routing through FastAPI cost
a lookup about as much as its database query; docs/ogc.md, "Serving published plans", has the figures.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from starlette.types import ASGIApp, Receive, Scope, Send

from gis_service.api.lookup import LOOKUP_HEADERS, LOOKUP_PARAMS, PREPARED_TRIED
from gis_service.api.point_batches import PointBatches
from gis_service.api.read_routing import ANONYMOUS_READ, ReadRouter, reads_own_writes
from gis_service.api.tiles import PUBLISHED_CACHE_CONTROL, TILE_MEDIA_TYPE
from gis_service.errors import PlanningError
from gis_service.hot_answers import HotAnswers
from gis_service.lookup import LookupQuery
from gis_service.lookup_prepared import compose_answer, prepared_answer_async, prepared_tail_async
from gis_service.parcel_index import ParcelIndex
from gis_service.published_tiles import PublishedTiles
from gis_service.vector_tiles import TILE_LAYERS, check_tile

__all__ = ["PublishedFastPath"]

_COLLECTION_TILE = re.compile(
    r"^/ogc/collections/(" + "|".join(TILE_LAYERS) + r")/tiles/WebMercatorQuad/(\d{1,2})/(\d{1,9})/(\d{1,9})$"
)
_MAP_TILE = re.compile(r"^/ogc/tiles/WebMercatorQuad/(\d{1,2})/(\d{1,9})/(\d{1,9})$")
_PARCEL = re.compile(r"^/lookup/parcels/(\d{1,18})$")


class PublishedFastPath:
    """Pure ASGI middleware answering published tiles and prepared lookups without routing (see the module doc).

    Parameters
    ----------
    app
        The application behind it, which answers everything else.
    tiles
        The folder of published vector tiles (the same object the tile routes read).
    """

    def __init__(self, app: ASGIApp, tiles: PublishedTiles) -> None:
        self.app = app
        self.tiles = tiles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a published tile or a prepared lookup; pass every other request on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith("/lookup"):
                answered = await self._lookup(scope, send, path)
            elif path.startswith("/ogc/") and "/tiles/WebMercatorQuad/" in path:
                answered = await self._tile(scope, send, path)
            else:
                answered = False
            if answered:
                return
        await self.app(scope, receive, send)

    async def _lookup(self, scope: Scope, send: Send, path: str) -> bool:
        query = _lookup_query(path, scope["query_string"])
        if query is None:
            return False
        try:
            mode = query.mode()
        except PlanningError:
            return False  # the route says what is wrong
        app_state = scope["app"].state
        hot: HotAnswers | None = app_state.hot_answers
        if hot is not None and (hot.version is None or reads_own_writes(scope)):
            hot = None  # not listening (or turned off), or the request must see its own writes
        kept = hot.get(query.parcel_id) if hot is not None and mode == "parcel" and query.parcel_id else None
        if kept is not None:
            body: bytes | None = compose_answer(query, None, kept)
        elif hot is not None and mode in ("lonlat", "en"):
            x, y = (query.lon, query.lat) if mode == "lonlat" else (query.e, query.n)
            assert x is not None and y is not None  # set in these modes
            try:
                body = await self._point(app_state, hot, query, mode, x, y)
            except psycopg.Error:
                return False
        else:
            router: ReadRouter = app_state.read_router  # a replica's connection, as the route would take
            try:
                async with router.connection(scope) as conn:
                    body = await prepared_answer_async(conn, query, mode, hot)
            except psycopg.Error:
                return False  # the route answers the database's trouble in the project's words
        if body is None:
            scope.setdefault("state", {})[PREPARED_TRIED] = True  # the route need not ask again
            return False
        await _send(send, 200, body, [*LOOKUP_HEADERS, (b"content-type", b"application/json")])
        return True

    async def _point(
        self, app_state: Any, hot: HotAnswers, query: LookupQuery, mode: str, x: float, y: float
    ) -> bytes | None:
        """The prepared answer at a point: its parcel found in the process when it can be, else by the database."""
        index: ParcelIndex = app_state.parcel_index
        if index.ready(hot.parcels_epoch):
            found = index.find(mode, x, y)
            if found is None:
                return None  # no parcel there: the zones at the point are answered live
            if isinstance(found, tuple):  # else UNSURE: only the database can say
                parcel_id, location = found
                tail = hot.get(parcel_id)
                if tail is None:
                    router: ReadRouter = app_state.read_router
                    async with router.connection(ANONYMOUS_READ) as conn:
                        tail = await prepared_tail_async(conn, parcel_id, hot)
                return None if tail is None else compose_answer(query, location, tail)
        else:
            index.refresh(hot.parcels_epoch)
        batches: PointBatches = app_state.point_batches
        point = await batches.find(mode, x, y)
        return None if point is None else compose_answer(query, point.location, point.tail)

    async def _tile(self, scope: Scope, send: Send, path: str) -> bool:
        if scope["query_string"]:
            return False  # a date or a draft: drawn live
        if match := _COLLECTION_TILE.match(path):
            layer_set, (z, y, x) = match.group(1), map(int, match.groups()[1:])
        elif match := _MAP_TILE.match(path):
            layer_set, (z, y, x) = "map", map(int, match.groups())
        else:
            return False
        try:
            check_tile(z, x, y)
        except PlanningError:
            return False
        found = self.tiles.read_tagged(layer_set, z, x, y)
        if found is None:
            return False
        body, tag = found
        headers = [
            (b"etag", tag.encode()),
            (b"cache-control", PUBLISHED_CACHE_CONTROL.encode()),
            (b"access-control-allow-origin", b"*"),
        ]
        if tag in _header(scope, b"if-none-match"):
            await _send(send, 304, b"", headers)
        else:
            await _send(send, 200, body, [*headers, (b"content-type", TILE_MEDIA_TYPE.encode())])
        return True


def _lookup_query(path: str, query_string: bytes) -> LookupQuery | None:
    """The lookup asked in its common form, or None for the route to read (and, if need be, refuse)."""
    if match := _PARCEL.match(path):
        return None if query_string else LookupQuery(parcel_id=int(match.group(1)))
    if path != "/lookup" or not query_string:
        return None
    values: dict[str, Any] = {}
    for name, raw in _query_pairs(query_string.decode("latin-1")):
        spec = LOOKUP_PARAMS.get(name)
        if spec is None or name in values or len(raw) > 200:
            return None
        try:
            values[name] = raw if spec[0] is str else spec[0](raw)
        except ValueError:
            return None
        if spec[0] is float and not math.isfinite(values[name]):
            return None
    return LookupQuery(**values)


def _query_pairs(text: str) -> list[tuple[str, str]]:
    """The query's pairs, as Starlette reads a route's ``query_params`` (``parse_qsl`` keeping blank values).

    Without escapes (``%``, ``+``), as the map and the apps send coordinates, the pairs are split directly.
    """
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def _header(scope: Scope, name: bytes) -> str:
    return ", ".join(v.decode("latin-1") for k, v in scope["headers"] if k == name)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    if status != 304:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
