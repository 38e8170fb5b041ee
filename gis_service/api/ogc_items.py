"""The items of the published layers as GeoJSON built by PostgreSQL, in front of pygeoapi at ``/ogc``.

pygeoapi turns every feature into a Python dict and back into JSON, which cost more than the SQL (issue 21: 543
items pages a second against QGIS Server's 926 on the 1,000,000-parcel benchmark, for 0.45 ms of SQL). This
layer answers the common requests itself: ``GET .../collections/{layer}/items`` with ``f=json`` (or no format),
``limit``, ``offset``, ``bbox`` (CRS84 or EPSG:4326), ``crs``, ``properties`` and property filters or
``view``, and ``GET .../items/{id}``; PostgreSQL returns the features as one text (:mod:`ogc.geojson_text`),
this module adds pygeoapi's links and headers. Whatever it does not take exactly as pygeoapi would (another format
or language, CQL2, sortby, as_of, a value that does not parse, an error, a missing feature) goes to pygeoapi
untouched, so every error and every rarer option keeps pygeoapi's answer, documented in its OpenAPI.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import psycopg
import psycopg_pool
from pygeoapi.provider.base import ProviderGenericError

from gis_service.api.ogc_drafts import PLAN, VERSION, problem_body, with_plan_version
from gis_service.editing.features import EDITABLE_LAYERS, etag_of
from gis_service.errors import PlanningError
from ogc.geojson_text import ItemsQuery, Statement, item_statement, items_statement
from ogc.layers import LAYERS
from ogc.provider import CRS84, EPSG, OUTPUT_CRS, PLAN_VERSION

__all__ = ["GeoJsonItems"]

LOGGER = logging.getLogger(__name__)

_PATH = re.compile(r"^/collections/([a-z_]+)/items(?:/(\d{1,18}))?$")
#: pygeoapi's parameters this layer leaves to pygeoapi (CQL2, sorting, counting, dates, languages...)
_LEFT_TO_PYGEOAPI = frozenset(
    ("lang", "resulttype", "datetime", "sortby", "skipGeometry", "q", "filter", "filter-lang", "filter-crs", "as_of")
)
_HANDLED = frozenset(("f", "limit", "offset", "bbox", "bbox-crs", "crs", "properties"))
_JSON, _GEOJSON, _HTML, _JSONLD = "application/json", "application/geo+json", "text/html", "application/ld+json"


class _NotHere(Exception):
    """The request is left to pygeoapi."""


class GeoJsonItems:
    """ASGI app: answers the common items requests of ``/ogc`` itself and hands the rest to pygeoapi.

    Parameters
    ----------
    app
        pygeoapi's app (with the app's guards around it).
    base_url
        The public URL of ``/ogc``, as pygeoapi's configuration has it (the links are built on it).
    max_items, default_items
        pygeoapi's page limits (a larger ``limit`` is cut to ``max_items``, as pygeoapi's ``throttle``).
    """

    def __init__(self, app: Any, *, base_url: str, max_items: int, default_items: int = 10) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.max_items = max_items
        self.default_items = default_items

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer an items request from PostgreSQL's text, or pass the request on to pygeoapi."""
        if scope["type"] == "http":
            try:  # a plan version asked for with plan/version, checked (gis_service.api.ogc_drafts)
                scope = await with_plan_version(scope)
            except PlanningError as exc:
                status, headers, body = problem_body(exc)
                headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        if scope["type"] == "http" and scope["method"] == "GET" and b"cql2-json" in scope.get("query_string", b""):
            rewritten = _cql2_json_as_post(scope)
            if rewritten is not None:
                await self.app(rewritten[0], rewritten[1], send)
                return
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):  # Starlette keeps the mount's prefix in the path
                path = path[len(root) :]
            match = _PATH.match(path)
            if match is not None and match.group(1) in LAYERS:
                try:
                    status, headers, body = await self._answer(scope, match.group(1), match.group(2))
                except _NotHere:
                    pass
                else:
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    # -- the answers -------------------------------------------------------------------------------------------
    async def _answer(self, scope: Any, collection: str, feature_id: str | None) -> tuple[int, list[Any], bytes]:
        request_headers = dict(scope["headers"])
        if b"accept-language" in request_headers or b"origin" in request_headers:
            raise _NotHere  # another language or CORS: pygeoapi's translations and CORS headers
        params = _query(scope)
        fmt = params.get("f")
        if fmt is None:
            if request_headers.get(b"accept", b"*/*") != b"*/*":
                raise _NotHere  # a content negotiation: pygeoapi's
        elif fmt != "json":
            raise _NotHere
        crs = params.get("crs", CRS84)
        if crs not in OUTPUT_CRS:
            raise _NotHere
        if feature_id is not None:
            return await self._item(scope, collection, int(feature_id), params, crs, fmt)
        return await self._items(scope, collection, params, crs, fmt)

    async def _item(
        self, scope: Any, collection: str, feature_id: int, params: dict[str, str], crs: str, fmt: str | None
    ) -> tuple[int, list[Any], bytes]:
        if set(params) - {"f", "crs", PLAN, VERSION, PLAN_VERSION}:
            raise _NotHere
        version = int(params[PLAN_VERSION]) if PLAN_VERSION in params else None
        rows = await _fetch(scope, item_statement(collection, feature_id, crs, plan_version=version))
        if not rows:
            raise _NotHere  # pygeoapi's 404
        text, row_version = rows[0]
        uri = f"{self.base_url}/collections/{collection}/items/{feature_id}"
        links = [
            {"type": _JSON, "rel": "root", "title": "The landing page of this server as JSON",
             "href": f"{self.base_url}?f=json"},
            {"type": _HTML, "rel": "root", "title": "The landing page of this server as HTML",
             "href": f"{self.base_url}?f=html"},
            {"rel": "self", "type": _GEOJSON, "title": "This document as JSON", "href": f"{uri}?f=json"},
            {"rel": "alternate", "type": _JSONLD, "title": "This document as RDF (JSON-LD)",
             "href": f"{uri}?f=jsonld"},
            {"rel": "alternate", "type": _HTML, "title": "This document as HTML", "href": f"{uri}?f=html"},
            {"rel": "collection", "type": _JSON, "title": LAYERS[collection].title_en,
             "href": f"{self.base_url}/collections/{collection}"},
        ]  # fmt: skip
        body = f'{text[:-1]}, "links": {json.dumps(links)}}}'.encode()
        headers = _headers(crs)
        if collection in EDITABLE_LAYERS:  # as gis_service.api.features gives every editable item
            headers.append((b"etag", etag_of(collection, feature_id, int(row_version)).encode()))
        return 200, headers, body

    async def _items(
        self, scope: Any, collection: str, params: dict[str, str], crs: str, fmt: str | None
    ) -> tuple[int, list[Any], bytes]:
        if _LEFT_TO_PYGEOAPI & params.keys():
            raise _NotHere
        limit = min(_natural(params.get("limit"), self.default_items), self.max_items)
        offset = _natural(params.get("offset"), 0, zero=True)
        bbox = _bbox(params.get("bbox"), params.get("bbox-crs"))
        select = tuple(params["properties"].split(",")) if "properties" in params else ()
        if any(p not in LAYERS[collection].column_map for p in select):
            raise _NotHere  # pygeoapi's 400
        query = ItemsQuery(
            collection,
            limit,
            offset,
            bbox,
            crs,
            select,
            tuple((k, v) for k, v in params.items() if k not in _HANDLED),
        )
        try:
            statement = items_statement(query)
        except ProviderGenericError:
            raise _NotHere from None  # a bad property value: pygeoapi's 400
        ((returned, features),) = await _fetch(scope, statement)
        # the links, as pygeoapi writes them (its self link leaves the offset out)
        uri = f"{self.base_url}/collections/{collection}/items"
        kept = "".join(
            f"&{quote(k, safe='')}={quote(v, safe=',')}"
            for k, v in params.items()
            if k not in ("f", "offset", PLAN_VERSION)
        )
        links: list[dict[str, str]] = [
            {"type": _GEOJSON, "rel": "self", "title": "This document as GeoJSON", "href": f"{uri}?f=json{kept}"},
            {"rel": "alternate", "type": _JSONLD, "title": "This document as RDF (JSON-LD)",
             "href": f"{uri}?f=jsonld{kept}"},
            {"type": _HTML, "rel": "alternate", "title": "This document as HTML", "href": f"{uri}?f=html{kept}"},
            {"type": "text/csv; charset=utf-8", "rel": "alternate", "title": "This document as CSV",
             "href": f"{uri}?f=csv{kept}"},
        ]  # fmt: skip
        page = f"f={fmt}&" if fmt is not None else ""
        if offset > 0:
            links.append({"type": _GEOJSON, "rel": "prev", "title": "Items (prev)",
                          "href": f"{uri}?{page}offset={max(0, offset - limit)}{kept}"})  # fmt: skip
        if returned == limit:
            links.append({"type": _GEOJSON, "rel": "next", "title": "Items (next)",
                          "href": f"{uri}?{page}offset={offset + limit}{kept}"})  # fmt: skip
        links.append({"type": _JSON, "title": LAYERS[collection].title_en, "rel": "collection",
                      "href": f"{self.base_url}/collections/{collection}"})  # fmt: skip
        matched = ""
        if returned < limit and (returned or offset == 0):  # the last page: the count is free (as the provider)
            matched = f', "numberMatched": {offset + returned}'
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = (
            f'{{"type": "FeatureCollection", "features": [{features}], "numberReturned": {returned}{matched}, '
            f'"links": {json.dumps(links)}, "timeStamp": "{stamp}"}}'
        )
        return 200, _headers(crs), body.encode()


def _cql2_json_as_post(scope: Any) -> tuple[Any, Any] | None:
    """``GET .../items?filter-lang=cql2-json&filter={...}`` as pygeoapi takes CQL2 JSON: a POST of the filter with
    the other parameters kept (pygeoapi parses a GET's ``filter`` as CQL2 text whatever ``filter-lang`` says)."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if params.get("filter-lang") != "cql2-json" or "filter" not in params or "/items" not in scope["path"]:
        return None
    body = params["filter"].encode("utf-8")
    query = urlencode([(k, v) for k, v in pairs if k not in ("filter", "filter-lang")])
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/query-cql-json"), (b"content-length", str(len(body)).encode())]
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return {**scope, "method": "POST", "query_string": query.encode("latin-1"), "headers": headers}, receive


def _query(scope: Any) -> dict[str, str]:
    """The query parameters; a repeated one is left to pygeoapi."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        raise _NotHere
    return params


def _natural(raw: str | None, default: int, *, zero: bool = False) -> int:
    """``limit`` or ``offset``: plain digits (pygeoapi answers anything else, with its error)."""
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise _NotHere
    value = int(raw)
    if value == 0 and not zero:
        raise _NotHere
    return value


def _bbox(raw: str | None, crs: str | None) -> tuple[float, float, float, float] | None:
    """The bbox's lon/lat corners; a 3D box, another CRS or anything pygeoapi would refuse is left to it."""
    if raw is None:
        if crs is not None:
            raise _NotHere
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise _NotHere from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _NotHere
    if crs == EPSG + "4326":  # latitude first
        values = [values[1], values[0], values[3], values[2]]
    elif crs not in (None, CRS84):
        raise _NotHere
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise _NotHere
    return x0, y0, x1, y1


def _headers(crs: str) -> list[tuple[bytes, bytes]]:
    """pygeoapi's headers of a JSON answer in ``crs``."""
    return [
        (b"content-type", _JSON.encode()),
        (b"content-language", b"en-US"),
        (b"content-crs", f"<{crs}>".encode()),
        (b"vary", b"Origin"),
    ]


async def _fetch(scope: Any, statement: Statement) -> list[tuple[Any, ...]]:
    """Run a statement on a replica or the primary (the app's read router); any trouble leaves the request to
    pygeoapi (and its error)."""
    app = scope.get("app")
    router = getattr(getattr(app, "state", None), "read_router", None)
    if router is None:
        raise _NotHere
    try:
        async with router.connection(scope) as conn:
            cur = await conn.execute(statement.sql, statement.params)
            return list(await cur.fetchall())
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        LOGGER.info("items from PostgreSQL's text failed, pygeoapi answers: %s", str(exc).splitlines()[0])
        raise _NotHere from None
