"""Refuse requests that carry a NUL character before they reach a handler.

PostgreSQL text cannot hold the NUL character (U+0000): psycopg refuses such a parameter with a ``DataError``, and
pygeoapi's providers let that surface as a 500. A NUL is never meaningful in a plan code, a parcel number or a CQL
filter, so the whole application (our routes and the pygeoapi mount alike) answers 400 and names the parameter,
instead of each handler checking its own inputs. NUL inside a JSON body is caught where it meets the database:
:func:`nul_in_body_handler`.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["NulGuard", "nul_in_body_handler"]

_CODE = "InvalidParameterValue"
log = logging.getLogger(__name__)


def _nul_message(scope: Scope) -> str | None:
    path = unquote(scope.get("path", ""), errors="replace")
    if "\x00" in path:
        return "the address holds a NUL character (%00), which no path of this service accepts"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\0")
            return f"query parameter '{shown}' holds a NUL character (%00), which no parameter of this service accepts"
    return None


class NulGuard:
    """Pure ASGI middleware: a NUL in the path or query string gets a 400 problem answer (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 400 to an HTTP request with a NUL in its path or query string, else pass it on."""
        if scope["type"] == "http":
            message = _nul_message(scope)
            if message is not None:
                response = JSONResponse({"code": _CODE, "description": message}, status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_nul_error(exc: BaseException) -> bool:
    """True when the database driver refused a value because it holds a NUL character."""
    orig = exc.orig if isinstance(exc, DataError) else exc
    return isinstance(orig, psycopg.DataError) and "NUL" in str(orig)


async def nul_in_body_handler(request: Request, exc: Exception) -> JSONResponse:
    """A NUL inside a JSON body reached the database driver: 400 rather than 500. Other data errors stay 500s."""
    if is_nul_error(exc):
        return JSONResponse(
            {
                "code": _CODE,
                "description": "a text value of the request holds a NUL character (\\u0000), which PostgreSQL "
                "text cannot store; remove it and send again",
            },
            status_code=400,
        )
    log.error("database refused a value of %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"code": "ServerError", "description": "the database refused a value of the request"}, status_code=500
    )
