"""How errors become answers, for the whole application.

* a :class:`~gis_service.errors.PlanningError` of the core: its status code and ``{"code", "description"}``;
* a NUL character in a JSON body that reached the database: 400 (:func:`gis_service.api.guard.nul_in_body_handler`);
* malformed parameters of the read path and the permit checks: 400 naming the parameter, as OGC APIs answer
  (other routes keep FastAPI's 422).
"""

from __future__ import annotations

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError

from gis_service.api.guard import nul_in_body_handler
from gis_service.errors import PlanningError, ValidationError

__all__ = ["BAD_REQUEST_PREFIXES", "bad_request", "install_error_handlers", "planning_error", "problem"]

#: Paths whose malformed parameters are a 400 rather than FastAPI's 422.
BAD_REQUEST_PREFIXES = ("/ogc", "/lookup", "/permits", "/parcels")


def problem(exc: PlanningError) -> JSONResponse:
    """The answer to an error of the core: its status code, headers and ``{"code", "description"}``."""
    body = {"code": exc.code, "description": exc.message}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def planning_error(_request: Request, exc: Exception) -> Response:
    """Exception handler of :class:`~gis_service.errors.PlanningError` (see :func:`problem`)."""
    assert isinstance(exc, PlanningError)
    return problem(exc)


async def bad_request(request: Request, exc: Exception) -> Response:
    """Malformed parameters of the read path are a 400 naming the parameter, as OGC APIs answer.

    So are those of the permit checks (their acceptance asks for it). Other routes keep FastAPI's default (422).
    """
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(BAD_REQUEST_PREFIXES):
        return await request_validation_exception_handler(request, exc)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        problems.append(f"{where}: {err.get('msg', 'invalid')} (got {err.get('input')!r})")
    return JSONResponse({"code": ValidationError.code, "description": "; ".join(problems)}, status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of the module doc on ``app``."""
    app.add_exception_handler(PlanningError, planning_error)
    app.add_exception_handler(DataError, nul_in_body_handler)
    app.add_exception_handler(psycopg.DataError, nul_in_body_handler)
    app.add_exception_handler(RequestValidationError, bad_request)
