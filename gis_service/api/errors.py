"""How errors become answers, for the whole application.

* a :class:`~gis_service.errors.PlanningError` of the core: its status code and ``{"code", "description"}``;
* a NUL character in a JSON body that reached the database: 400 (:func:`gis_service.api.guard.nul_in_body_handler`);
* malformed parameters of the read path and the permit checks: 400 naming the parameter, as OGC APIs answer
  (other routes keep the status 422 of FastAPI, in the same shape with FastAPI's ``detail`` list);
* what Starlette and FastAPI refuse by themselves (no such route, another method, a body that is no UTF-8 JSON or
  form): their status, in the same shape (:func:`http_error`).

Every operation of the OpenAPI document declares these answers (:data:`PROBLEM_RESPONSES`).

A validation answer names the parameter and the problem and never repeats the value sent: it may be a password, a
megabyte of coordinates, or a ``NaN`` that JSON cannot even write.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from gis_service.api.guard import nul_in_body_handler
from gis_service.api.models import Problem
from gis_service.errors import PlanningError, ValidationError

__all__ = [
    "BAD_REQUEST_PREFIXES",
    "PROBLEM_RESPONSES",
    "bad_request",
    "http_error",
    "install_error_handlers",
    "planning_error",
    "problem",
]

#: Every route's 4xx answers, for the OpenAPI document: the routes' own, and those of the limits any request meets
#: (a NUL in the address, a body too large or too deep: :mod:`gis_service.api.guard`).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": Problem, "description": "The request cannot be answered as sent: the description says why"}
}

#: Paths whose malformed parameters are a 400 rather than FastAPI's 422.
BAD_REQUEST_PREFIXES = ("/ogc", "/lookup", "/permits", "/parcels", "/certificates")


def problem(exc: PlanningError) -> JSONResponse:
    """The answer to an error of the core: its status code, headers and ``{"code", "description"}``."""
    body = {"code": exc.code, "description": exc.message}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def planning_error(_request: Request, exc: Exception) -> Response:
    """Exception handler of :class:`~gis_service.errors.PlanningError` (see :func:`problem`)."""
    assert isinstance(exc, PlanningError)
    return problem(exc)


async def bad_request(request: Request, exc: Exception) -> Response:
    """Malformed parameters: 400 on the read path and the permit checks (as OGC APIs answer), else 422.

    The answer is ``{"code", "description"}`` naming each parameter and its problem, and, for FastAPI's clients,
    ``detail`` (type, location, message of each error); no submitted value is repeated (see the module doc).
    """
    assert isinstance(exc, RequestValidationError)
    detail = [_error_entry(err) for err in exc.errors()]
    problems = [f"{_where(entry['loc'])}: {entry['msg']}" for entry in detail]
    body: dict[str, Any] = {"code": ValidationError.code, "description": "; ".join(problems) or "invalid request"}
    if not request.url.path.startswith(BAD_REQUEST_PREFIXES):
        body["detail"] = detail
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=400)


def _error_entry(err: Any) -> dict[str, Any]:
    """One validation error without its input or context: the kind, where, and what is wrong, as plain JSON."""
    loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
    return {"type": str(err.get("type", "value_error")), "loc": loc, "msg": str(err.get("msg", "invalid"))}


def _where(loc: list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("query", "path", "body", "header")) or "body"


#: The codes of the statuses Starlette and FastAPI answer by themselves.
_HTTP_CODES = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}
#: FastAPI's words for a body it cannot read, which name neither the body nor what to send.
_UNREADABLE_BODY = ("There was an error parsing the body", "Invalid multipart data.")


async def http_error(request: Request, exc: Exception) -> Response:
    """A refusal of Starlette or FastAPI themselves (no such route, another method, an unreadable body): its status
    in the project's shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    description = str(exc.detail)
    if description in _UNREADABLE_BODY:
        kind = request.headers.get("content-type", "").partition(";")[0].strip() or "JSON"
        description = f"body: cannot be read as {kind}; send valid {kind} in UTF-8"
    elif exc.status_code == 404 and description == "Not Found":
        description = f"no such address: {request.url.path} (the API is described at /docs)"
    elif exc.status_code == 405 and exc.headers and "allow" in {k.lower() for k in exc.headers}:
        allowed = next(v for k, v in exc.headers.items() if k.lower() == "allow")
        description = f"{request.method} is not allowed on {request.url.path}: use {allowed}"
    code = _HTTP_CODES.get(exc.status_code, "InvalidParameterValue" if exc.status_code < 500 else "ServerError")
    return JSONResponse({"code": code, "description": description}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of the module doc on ``app``."""
    app.add_exception_handler(PlanningError, planning_error)
    app.add_exception_handler(DataError, nul_in_body_handler)
    app.add_exception_handler(psycopg.DataError, nul_in_body_handler)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(HTTPException, http_error)
