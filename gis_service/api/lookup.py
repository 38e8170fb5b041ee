"""Zoning lookup routes (tra cứu quy hoạch): the zones, rules and envelope of a parcel or a point.

The citizens' hot path: the query parameters are read by hand (documented through ``openapi_extra``) and the
answer, built as JSON by the database (:mod:`gis_service.lookup`), is passed through without re-encoding.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gis_service.api.deps import read_connection, site_cache
from gis_service.as_of import parse_as_of
from gis_service.consultation.view import VIEW, parse_view
from gis_service.errors import ValidationError
from gis_service.lookup import LookupQuery, lookup_with_envelope_async
from gis_service.lookup_answer import LookupAnswer
from gis_service.lookup_prepared import prepared_answer_async

__all__ = ["AS_OF_PARAM", "LOOKUP_HEADERS", "LOOKUP_PARAMS", "PREPARED_TRIED", "VIEW_PARAM", "lookup_router"]

LOOKUP_CACHE_CONTROL = "public, max-age=60"
_HEADERS = {"Cache-Control": LOOKUP_CACHE_CONTROL, "Access-Control-Allow-Origin": "*"}
#: Set in request.state when the prepared answer was asked for and is not there: the route answers live at once.
PREPARED_TRIED = "prepared_lookup_tried"
#: The same as raw ASGI headers (gis_service.api.fast_path answers prepared lookups with them).
LOOKUP_HEADERS = [(name.lower().encode(), value.encode()) for name, value in _HEADERS.items()]
#: The answer's shape in /docs (the route passes the database's JSON through; the tests validate it).
ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": LookupAnswer, "description": "The zoning of the place (built as JSON, described here)"}
}

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


AS_OF_PARAM = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Quy hoạch tại ngày: answer with the plan versions in force on this date (YYYY-MM-DD) instead of "
    "today's; a later date answers for today. The answer's as_of names the date and the versions.",
    "schema": {"type": "string", "format": "date", "example": "2024-07-01"},
}


VIEW_PARAM = {
    "name": VIEW,
    "in": "query",
    "required": False,
    "description": "view=consultation: answer with only the drafts under consultation today (Dự thảo đang lấy ý "
    "kiến — chưa có hiệu lực), never mixed with the approved plans; the answer's view and consultation say so. "
    "Not with as_of.",
    "schema": {"type": "string", "enum": ["consultation"]},
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


def _as_of(request: Request) -> date | None:
    raw = request.query_params.get("as_of")
    return None if raw is None else parse_as_of(raw)


def _envelope_wanted(request: Request) -> bool:
    raw = request.query_params.get("envelope", "true").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError(f"envelope must be true or false, not {raw!r}")
    return raw in ("true", "1")


def lookup_router() -> APIRouter:
    """The zoning lookup routes: by a point or sheet and parcel numbers, and by a parcel's id."""
    router = APIRouter(tags=["Zoning lookup (tra cứu quy hoạch)"])

    @router.get(
        "/lookup",
        summary="Zoning of a point (lon/lat or VN-2000 e/n) or of a sheet and parcel number",
        responses=ANSWER,
        openapi_extra={
            "parameters": [
                *(_query_parameter(name, kind, text) for name, (kind, text) in LOOKUP_PARAMS.items()),
                ENVELOPE_PARAM,
                AS_OF_PARAM,
                VIEW_PARAM,
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
        responses=ANSWER,
        openapi_extra={"parameters": [ENVELOPE_PARAM, AS_OF_PARAM, VIEW_PARAM]},
    )
    async def lookup_parcel(request: Request, parcel_id: int) -> Response:
        return await _answer(request, LookupQuery(parcel_id=parcel_id))

    return router


async def _answer(request: Request, query: LookupQuery) -> Response:
    mode = query.mode()  # bad input is refused before a connection is taken
    params = request.query_params
    consultation = parse_view(params.get(VIEW), as_of=params.get("as_of"))
    envelope, as_of = _envelope_wanted(request), _as_of(request)
    # the default lookup of a published plan is read as prepared at publication (the same bytes), else computed
    default = envelope and as_of is None and not consultation
    # not twice: gis_service.api.fast_path asked for the prepared answer already
    default = default and not getattr(request.state, PREPARED_TRIED, False)
    async with read_connection(request) as conn:
        body = await prepared_answer_async(conn, query, mode) if default else None
        if body is None:
            text = await lookup_with_envelope_async(
                conn, query, envelope=envelope, cache=site_cache(request), as_of=as_of, consultation=consultation
            )
            body = text.encode()
    return Response(content=body, media_type="application/json", headers=_HEADERS)
