"""OGC API - Features Part 4 (create, replace, update, delete) on the editable collections, feature history and
restore. Routes registered before the pygeoapi mount at ``/ogc``, so they take the write methods while pygeoapi
keeps serving reads.

Every write needs a planner's bearer token (admins pass too), an ``X-Change-Reason`` header (percent-encoded UTF-8,
or plain), and, except creations, ``If-Match`` with the ETag the client read. A ``GET`` of an item carries its
``ETag``; with a planner's token it also finds features of draft plans (which the public read path hides).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Connection, Engine
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.api.deps import (
    ContentCrsHeader,
    EngineDep,
    IfMatchHeader,
    Planner,
    ReasonHeader,
    Staff,
    change_reason,
    in_thread,
    in_transaction,
    oauth2_scheme,
    optional_user,
)
from gis_service.api.errors import problem
from gis_service.auth import Role, User
from gis_service.editing import feature_history
from gis_service.editing.features import (
    EDITABLE_LAYERS,
    create_item,
    delete_item,
    deleted_items,
    etag_of,
    history_geometry,
    output_crs,
    parse_content_crs,
    patch_item,
    render_item,
    replace_item,
    restore_item,
)
from gis_service.errors import NotFound, PlanningError, ValidationError
from gis_service.settings import Settings

__all__ = ["ItemETag", "features_router", "install_features"]

GEOJSON = "application/geo+json"

FeatureId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Feature id")]

# The bodies are read by hand (any CRS, a merge patch): described here for /docs, clients and the fuzzing.
_GEOMETRY = {
    "type": "object",
    "description": "A GeoJSON geometry in the CRS of Content-Crs (CRS84 when absent): Polygon or MultiPolygon for "
    "zones, parcels and buildings; LineString or MultiLineString for red lines and building lines",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"enum": ["Polygon", "MultiPolygon", "LineString", "MultiLineString"]},
        "coordinates": {"type": "array"},
    },
}
_PROPERTIES = {
    "type": "object",
    "description": "The layer's editable properties (its queryables); zones, red lines and building lines need the "
    "plan_id of a draft plan",
}
_FEATURE_BODY = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {"type": {"enum": ["Feature"]}, "geometry": _GEOMETRY, "properties": _PROPERTIES},
}
_PATCH_BODY = {
    "type": "object",
    "description": "A JSON merge patch (RFC 7396) of the Feature: given properties change, null clears one",
    "properties": {"geometry": _GEOMETRY, "properties": _PROPERTIES},
}


def _body(schema: dict[str, Any], *media_types: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in media_types}}}


def _check_layer(layer: str) -> None:
    if layer not in EDITABLE_LAYERS:
        raise NotFound(f"collection {layer!r} cannot be edited; editable: {', '.join(EDITABLE_LAYERS)}")


async def _change_existing(
    request: Request,
    engine: Engine,
    collection_id: str,
    feature_id: int,
    change: Callable[..., Any],
    *,
    user: User,
    reason: str | None,
    if_match: str | None,
    content_crs: str | None,
) -> Response:
    """PUT and PATCH: check the request, apply ``change`` (replace or merge patch) and answer the committed feature."""
    _check_layer(collection_id)
    why = change_reason(reason)
    crs = parse_content_crs(content_crs)
    body = await _json_body(request)

    def work(conn: Connection) -> Response:
        change(conn, collection_id, feature_id, body, crs=crs, if_match=if_match, user=user.name, reason=why)
        return _rendered(conn, collection_id, feature_id, crs.uri)

    return await in_transaction(engine, work)  # answered only once committed


async def _json_body(request: Request) -> Any:
    raw = await request.body()  # its size and nesting are bounded by the app's BodyLimit (settings.limits)
    if not raw:
        raise ValidationError("the body is empty: send a GeoJSON Feature")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise ValidationError("the body nests arrays and objects too deeply") from None


def _feature_response(
    engine: Engine, layer: str, feature_id: int, crs_value: str | None, *, status: int = 200, base: str = ""
) -> JSONResponse:
    with engine.connect() as conn:
        return _rendered(conn, layer, feature_id, crs_value, status=status, base=base)


def _rendered(
    conn: Connection, layer: str, feature_id: int, crs_value: str | None, *, status: int = 200, base: str = ""
) -> JSONResponse:
    """The feature as it is in ``conn`` (a write renders its result in its own transaction, sent after commit)."""
    crs = output_crs(crs_value)
    feature = render_item(conn, layer, feature_id, crs)
    headers = {
        "ETag": etag_of(layer, feature_id, int(feature["properties"]["row_version"])),
        "Content-Crs": f"<{crs.uri}>",
        "Cache-Control": "no-cache",
    }
    if status == 201:
        headers["Location"] = f"{base}/ogc/collections/{layer}/items/{feature_id}"
    return JSONResponse(feature, status_code=status, headers=headers, media_type=GEOJSON)


def _is_cql_query(scope: Scope) -> bool:
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return False
    content_type = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), b"")
    return b"query-cql" in content_type.lower()


class EditRoute(APIRoute):
    """A route that leaves the POST of a CQL2 JSON query (``Content-Type: application/query-cql-json``) on
    ``/items`` to pygeoapi's search, mounted behind: the same method and path create a feature in Part 4."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for a CQL2 JSON query, else as any route."""
        if _is_cql_query(scope):
            return Match.NONE, {}
        return super().matches(scope)


def features_router(settings: Settings) -> APIRouter:
    """The Part 4 write routes, feature history, deleted features and restore.

    Parameters
    ----------
    settings
        The public base URL of the links.
    """
    router = APIRouter(
        tags=["Editing (OGC API - Features Part 4)"], dependencies=[Depends(oauth2_scheme)], route_class=EditRoute
    )
    base = settings.base_url()
    _write_routes(router, base)
    _history_routes(router, base)
    return router


def _write_routes(router: APIRouter, base: str) -> None:
    @router.post(
        "/ogc/collections/{collection_id}/items",
        summary="Create a feature (GeoJSON Feature; Content-Crs; X-Change-Reason)",
        status_code=201,
        responses={201: {"content": {GEOJSON: {}}}},
        openapi_extra=_body(_FEATURE_BODY, "application/json", GEOJSON),
    )
    async def create(
        request: Request,
        engine: EngineDep,
        collection_id: str,
        user: Planner,
        reason: ReasonHeader = None,
        content_crs: ContentCrsHeader = None,
    ) -> Response:
        _check_layer(collection_id)
        why = change_reason(reason)
        crs = parse_content_crs(content_crs)
        body = await _json_body(request)

        def work(conn: Connection) -> Response:
            written = create_item(conn, collection_id, body, crs=crs, user=user.name, reason=why)
            return _rendered(conn, collection_id, written.feature_id, crs.uri, status=201, base=base)

        return await in_transaction(engine, work)  # answered only once committed

    @router.put(
        "/ogc/collections/{collection_id}/items/{feature_id}",
        summary="Replace a feature (If-Match; properties not sent are cleared)",
        responses={200: {"content": {GEOJSON: {}}}},
        openapi_extra=_body(_FEATURE_BODY, "application/json", GEOJSON),
    )
    async def replace(
        request: Request,
        engine: EngineDep,
        collection_id: str,
        feature_id: FeatureId,
        user: Planner,
        reason: ReasonHeader = None,
        if_match: IfMatchHeader = None,
        content_crs: ContentCrsHeader = None,
    ) -> Response:
        return await _change_existing(
            request,
            engine,
            collection_id,
            feature_id,
            replace_item,
            user=user,
            reason=reason,
            if_match=if_match,
            content_crs=content_crs,
        )

    @router.patch(
        "/ogc/collections/{collection_id}/items/{feature_id}",
        summary="Update a feature with a JSON merge patch (If-Match)",
        responses={200: {"content": {GEOJSON: {}}}},
        openapi_extra=_body(_PATCH_BODY, "application/json", "application/merge-patch+json"),
    )
    async def patch(
        request: Request,
        engine: EngineDep,
        collection_id: str,
        feature_id: FeatureId,
        user: Planner,
        reason: ReasonHeader = None,
        if_match: IfMatchHeader = None,
        content_crs: ContentCrsHeader = None,
    ) -> Response:
        return await _change_existing(
            request,
            engine,
            collection_id,
            feature_id,
            patch_item,
            user=user,
            reason=reason,
            if_match=if_match,
            content_crs=content_crs,
        )

    @router.delete(
        "/ogc/collections/{collection_id}/items/{feature_id}",
        summary="Delete a feature (If-Match; recoverable from its history)",
        status_code=204,
    )
    def delete(
        engine: EngineDep,
        collection_id: str,
        feature_id: FeatureId,
        user: Planner,
        reason: ReasonHeader = None,
        if_match: IfMatchHeader = None,
    ) -> Response:
        _check_layer(collection_id)
        why = change_reason(reason)
        with engine.begin() as conn:
            delete_item(conn, collection_id, feature_id, if_match=if_match, user=user.name, reason=why)
        return Response(status_code=204)


def _history_routes(router: APIRouter, base: str) -> None:
    @router.get(
        "/ogc/collections/{collection_id}/items/{feature_id}/history",
        summary="Every recorded change of a feature, oldest first (also after a delete)",
    )
    def history(
        engine: EngineDep,
        collection_id: str,
        feature_id: FeatureId,
        _user: Staff,
    ) -> JSONResponse:
        _check_layer(collection_id)
        with engine.connect() as conn:
            entries = feature_history(conn, collection_id, feature_id)
        if not entries:
            raise NotFound(f"{collection_id} {feature_id} has no history")

        def state(s: dict[str, Any] | None) -> dict[str, Any] | None:
            if s is None:
                return None
            props = {k: v for k, v in s.items() if k not in ("geom", "id")}
            return {
                "type": "Feature",
                "id": feature_id,
                "geometry": history_geometry(s.get("geom")),
                "properties": props,
            }

        return JSONResponse(
            {
                "collection": collection_id,
                "id": feature_id,
                "crs": "http://www.opengis.net/def/crs/EPSG/0/9214",
                "changes": [
                    {
                        "id": e.id,
                        "operation": e.operation,
                        "version": e.row_version,
                        "changed_by": e.changed_by,
                        "changed_at": e.changed_at.isoformat(),
                        "reason": e.reason,
                        "restored_from": e.restored_from,
                        "before": state(e.before),
                        "after": state(e.after),
                    }
                    for e in entries
                ],
                "links": [
                    {"rel": "self", "href": f"{base}/ogc/collections/{collection_id}/items/{feature_id}/history"},
                    {"rel": "item", "href": f"{base}/ogc/collections/{collection_id}/items/{feature_id}"},
                ],
            },
            headers={"Cache-Control": "no-cache"},
        )

    @router.get(
        "/ogc/collections/{collection_id}/deleted",
        summary="Deleted features that can be restored, latest first",
    )
    def deleted(
        engine: EngineDep,
        collection_id: str,
        _user: Staff,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        _check_layer(collection_id)
        with engine.connect() as conn:
            items = deleted_items(conn, collection_id, limit=limit)
        for entry in items:
            entry["links"] = [
                {"rel": "history", "href": f"{base}/ogc/collections/{collection_id}/items/{entry['id']}/history"}
            ]
        return JSONResponse({"collection": collection_id, "deleted": items}, headers={"Cache-Control": "no-cache"})

    @router.post(
        "/ogc/collections/{collection_id}/items/{feature_id}/history/{version}/restore",
        summary="Restore a version of a feature (a new recorded change; works after a delete too)",
        responses={200: {"content": {GEOJSON: {}}}},
    )
    def restore(
        engine: EngineDep,
        collection_id: str,
        feature_id: FeatureId,
        version: int,
        user: Planner,
        reason: ReasonHeader = None,
        if_match: IfMatchHeader = None,
        crs: Annotated[str | None, Query(description="CRS of the answer")] = None,
    ) -> Response:
        _check_layer(collection_id)
        why = change_reason(reason)
        with engine.begin() as conn:
            restore_item(conn, collection_id, feature_id, version, if_match=if_match, user=user.name, reason=why)
            answer = _rendered(conn, collection_id, feature_id, crs)
        return answer  # only once committed


_ITEM_PATH = re.compile(r"^/ogc/collections/(" + "|".join(EDITABLE_LAYERS) + r")/items/(\d{1,18})/?$")


class ItemETag:
    """Pure ASGI middleware for ``GET`` of an editable item: an ``ETag`` on every answer; editors also read features
    of draft plans.

    The public answer comes from pygeoapi (the read path); its ETag is derived from the ``row_version`` it returns.
    Pure ASGI rather than ``app.middleware("http")``: that wrapper costs every request of the service a task and a
    stream, and only item reads need it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a planner's item read from the database; tag the public one's answer; pass the rest on."""
        match = _ITEM_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        layer, feature_id = match.group(1), int(match.group(2))
        request = Request(scope, receive)
        try:
            answer = await _editor_answer(request, layer, feature_id)
        except PlanningError as exc:
            answer = problem(exc)
        if answer is not None:
            await answer(scope, receive, send)
            return
        # a HEAD answer has no body to read the row_version from
        await self.app(scope, receive, _tagging(send, layer, feature_id) if scope["method"] == "GET" else send)


async def _editor_answer(request: Request, layer: str, feature_id: int) -> Response | None:
    """A planner's answer (drafts too, from the database), or None for the public read path."""
    user = await in_thread(optional_user, request) if "authorization" in request.headers else None
    if user is None or not user.has_role(Role.PLANNER):
        return None
    engine: Engine = request.app.state.engine
    answer = await in_thread(_feature_response, engine, layer, feature_id, request.query_params.get("crs"))
    tag = answer.headers["etag"]
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    return answer


def _tagging(send: Send, layer: str, feature_id: int) -> Send:
    """``send`` adding the ETag of the item's ``row_version`` to a 200 JSON answer that has none (pygeoapi's)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def tagged(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            headers = Headers(raw=message["headers"])
            untagged = "etag" not in headers and "json" in headers.get("content-type", "")
            if message["status"] != 200 or not untagged:
                await send(message)
                return
            start = message  # held until the body is complete, so the tag can go in the headers
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        headers = MutableHeaders(raw=list(start["headers"]))
        with contextlib.suppress(ValueError, KeyError, TypeError):
            headers["etag"] = etag_of(layer, feature_id, int(json.loads(body)["properties"]["row_version"]))
        headers["content-length"] = str(len(body))
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})

    return tagged


def install_features(app: FastAPI, settings: Settings) -> None:
    """Add the Part 4 and history routes (before the ``/ogc`` mount) and the item ETag middleware."""
    app.include_router(features_router(settings))
    app.add_middleware(ItemETag)
