"""Refuse requests that carry a NUL character, or a body too large or too deeply nested, before they reach a handler.

PostgreSQL text cannot hold the NUL character (U+0000): psycopg refuses such a parameter with a ``DataError``, and
pygeoapi's providers let that surface as a 500. A NUL is never meaningful in a plan code, a parcel number or a CQL
filter, so the whole application (our routes and the pygeoapi mount alike) answers 400 and names the parameter,
instead of each handler checking its own inputs. NUL inside a JSON body is caught where it meets the database:
:func:`nul_in_body_handler`.

:class:`BodyLimit` bounds the header fields of a request (their count and size: 431) and its body, per family of
routes (checks, process executions, CQL2 queries, edits, PDFs to verify, comments, the rest;
:class:`~gis_service.settings.LimitSettings`): a declared ``Content-Length`` over the limit is a 413 before a byte
of the body is read, a streamed body is counted and refused as soon as it passes the limit. A JSON body is a 400
before any parser sees it when its arrays and objects nest deeper than the limit, when it holds NaN or Infinity (no
JSON numbers, though Python reads them), or a lone UTF-16 surrogate (``"\\ud800"``, which no UTF-8 text and so no
database column can hold).

:class:`TimeLimit` bounds the time of an anonymous request (one without ``Authorization``) until its answer begins:
a body still coming then is a 408, an answer not begun a 503. Once the answer has begun, it is not cut: a large file
to a slow client takes its time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

import numpy as np
import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.settings import LimitSettings

__all__ = ["BodyLimit", "NulGuard", "TimeLimit", "body_family", "json_depth", "nul_in_body_handler"]

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


# ---- request bodies ----------------------------------------------------------------------------------------
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def body_family(path: str, content_type: bytes) -> str:
    """The family of routes a request body belongs to: ``check``, ``process``, ``filter``, ``edit``, ``certificate``,
    ``comment``, ``subscription``, ``validation`` or ``other``."""
    if path.startswith("/comments/") or (path.startswith("/consultations/") and path.endswith("/comments")):
        return "comment"  # a citizen's comment or its moderation: a few kilobytes of text
    if path.startswith("/certificates/") and path.endswith("/verify"):
        return "certificate"  # a PDF to verify: megabytes, not the kilobytes of a JSON request
    if path.startswith("/permits/check") or (path.startswith("/permits/applications/") and path.endswith("/checks")):
        return "check"
    if path.startswith("/ogc/processes/"):
        return "process"
    if path == "/validations":
        return "validation"  # a plan dossier: tens of megabytes of GeoPackages
    if path.startswith("/subscriptions"):
        return "subscription"  # an e-mail and at most an area: kilobytes
    if path.startswith("/ogc/collections/"):
        return "filter" if b"query-cql" in content_type.lower() else "edit"
    return "other"


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count).

    Linear and without recursion, so a body of 100,000 ``[`` costs no more than any other of its size.

    >>> json_depth(b'{"a": [[1, 2], "]]]"]}')
    3
    """
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)  # escaped quotes (and brackets) inside strings
    skeleton = raw.translate(None, _NOT_STRUCTURE)
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton)
    if not skeleton:
        return 0
    marks = np.frombuffer(skeleton, dtype=np.uint8)
    steps = np.where((marks == ord("[")) | (marks == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def _has_lone_surrogate(raw: bytes) -> bool:
    """True when a JSON text holds a UTF-16 surrogate escape not paired (``"\\ud800"``): no UTF-8 text can hold it."""
    if _SURROGATE_ESCAPE.search(raw) is None:
        return False
    try:
        json.dumps(json.loads(raw), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False  # not JSON at all: the route says so
    return False


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonNumber(name)


def _has_non_json_number(raw: bytes) -> bool:
    """True when a JSON text holds ``NaN`` or ``Infinity`` as a number (Python reads them; JSON has no such number)."""
    if b"NaN" not in raw and b"Infinity" not in raw:
        return False
    try:
        json.loads(raw, parse_constant=_refuse_constant)
    except _NotJsonNumber:
        return True
    except (ValueError, RecursionError):
        return False  # not JSON at all: the route says so
    return False


def _is_json(content_type: bytes) -> bool:
    return not content_type or b"json" in content_type.lower()


def _refusal(status: int, message: str) -> JSONResponse:
    code = {
        408: "RequestTimeout",
        413: "PayloadTooLarge",
        431: "RequestHeaderFieldsTooLarge",
        503: "ServiceUnavailable",
    }.get(status, _CODE)
    return JSONResponse({"code": code, "description": message}, status_code=status, headers={"Connection": "close"})


class BodyLimit:
    """Pure ASGI middleware: the size, nesting and text of request bodies (see the module doc)."""

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.limits = limits
        self.bytes = {
            "check": limits.check_body_bytes,
            "process": limits.process_body_bytes,
            "filter": limits.filter_body_bytes,
            "edit": limits.edit_body_bytes,
            "certificate": limits.certificate_body_bytes,
            "comment": limits.comment_body_bytes,
            "subscription": limits.subscription_body_bytes,
            "validation": limits.validation_body_bytes,
            "other": limits.other_body_bytes,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body over its limit (413), too deeply nested or with a lone surrogate (400); else pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers", ())
        if len(raw_headers) > self.limits.max_header_count or (
            sum(len(k) + len(v) for k, v in raw_headers) > self.limits.max_header_bytes
        ):
            message = (
                f"the request has too many or too large header fields: at most {self.limits.max_header_count} "
                f"fields of {self.limits.max_header_bytes // 1024} kB in all are accepted"
            )
            await _refusal(431, message)(scope, receive, send)
            return
        headers = dict(raw_headers)
        family = body_family(scope.get("path", ""), headers.get(b"content-type", b""))
        limit = self.bytes[family]
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit, family)(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body, disconnect = await _read_body(receive, limit)
        if body is None:
            await _too_large(limit, family)(scope, receive, send)
            return
        problem = self._problem(body, headers.get(b"content-type", b""))
        if problem is not None:
            await _refusal(400, problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, disconnect, receive), send)

    def _problem(self, body: bytes, content_type: bytes) -> str | None:
        if not body or not _is_json(content_type):
            return None
        depth = json_depth(body)
        if depth > self.limits.max_json_depth:
            return (
                f"the JSON body nests arrays and objects {depth} deep; at most {self.limits.max_json_depth} are "
                "accepted"
            )
        if _has_non_json_number(body):
            return "the JSON body holds NaN or Infinity, which are no JSON numbers: send finite numbers"
        if _has_lone_surrogate(body):
            return (
                "a text value of the JSON body holds a lone UTF-16 surrogate (an escape \\ud800-\\udfff not paired), "
                "which is no character: send the text as UTF-8"
            )
        return None


def _too_large(limit: int, family: str) -> JSONResponse:
    words = {
        "check": "a permit check",
        "process": "a process execution",
        "filter": "a CQL2 query",
        "edit": "a feature edit",
        "certificate": "a certificate to verify",
        "comment": "a comment",
        "subscription": "a subscription",
        "other": "this route",
    }
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} kB"
    return _refusal(413, f"the request body is larger than {size}, the limit for {words[family]}")


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Message | None]:
    """The whole body, or ``None`` as soon as more than ``limit`` bytes came; and a disconnect met on the way."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, disconnect: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read in one message, then what the server sends (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnect is not None:
            return disconnect
        return await receive()

    return replayed


# ---- time ----------------------------------------------------------------------------------------------------
class TimeLimit:
    """Pure ASGI middleware: the time limit of anonymous requests (see the module doc)."""

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.seconds = limits.anonymous_request_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; answer 408 or 503 if an anonymous one has not begun its answer in time."""
        if scope["type"] != "http" or any(k == b"authorization" for k, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        state = {"body_done": scope["method"] not in _BODY_METHODS, "started": False}
        deadline = asyncio.timeout(self.seconds)

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["body_done"] = True
            return message

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                deadline.reschedule(None)  # the answer has begun: no limit on sending it
            await send(message)

        try:
            async with deadline:
                await self.app(scope, watched_receive, watched_send)
        except TimeoutError:
            if not deadline.expired() or state["started"]:
                raise
            if state["body_done"]:
                message, status = f"the answer took longer than {self.seconds:g} s; try again later", 503
            else:
                message, status = f"the request body did not arrive within {self.seconds:g} s", 408
            await _refusal(status, message)(scope, receive, send)
