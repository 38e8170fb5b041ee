"""A plan version's features through the OGC API: ``plan`` (its code) and ``version`` on the items requests.

The public OGC collections show approved plans only. A planner reviewing a draft in QGIS adds ``plan=CODE`` (and
``version=N``) to the service URL, and QGIS repeats them on every request; with a planner's token the items are
those of that version, draft or not (default: the latest version; without a planner's token, the approved one).

The token comes as ``Authorization: Bearer <token>`` or, since QGIS's authentication configurations know no bearer
tokens, as the password of HTTP Basic authentication (any user name): the token is checked as any other, never a
password (no scrypt per request).

This edge resolves the version, checks the caller and hands the plan version's id on as the query parameter
:data:`ogc.provider.PLAN_VERSION`, which it removes from every request first: only this module sets it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from gis_service.auth import Role, User, user_for_token
from gis_service.errors import Forbidden, NotFound, PlanningError, Unauthorized, ValidationError
from ogc.provider import PLAN_VERSION

__all__ = ["PLAN", "VERSION", "bearer_or_basic_token", "with_plan_version"]

PLAN, VERSION = "plan", "version"
_CHALLENGE = 'Bearer realm="planning", Basic realm="planning"'


def bearer_or_basic_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <t>`` or of Basic's password; None without one.

    >>> bearer_or_basic_token("Bearer abc"), bearer_or_basic_token("Basic " + base64.b64encode(b"token:abc").decode())
    ('abc', 'abc')
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Basic authentication: not base64 of user:token") from None
        return decoded.partition(":")[2] or None
    raise Unauthorized(f"authorization scheme {scheme!r}: use Bearer <token>, or Basic with the token as password")


def _resolve(engine: Engine, code: str, version: int | None, token: str | None) -> int:
    """The id of the version asked for, once the caller may see it (raises the project's errors)."""
    with engine.connect() as conn:
        user: User | None = user_for_token(conn, token) if token else None
        planner = user is not None and user.has_role(Role.PLANNER)
        row = conn.execute(
            sa.text(
                "SELECT id, status, version FROM planning.plans WHERE code = :code "
                "AND (CAST(:v AS integer) IS NULL OR version = :v) "
                "ORDER BY (NOT :any AND status = 'approved') DESC, version DESC LIMIT 1"
            ),
            {"code": code, "v": version, "any": planner},
        ).one_or_none()
    which = f"version {version} of plan {code}" if version else f"plan {code}"
    if row is None:
        raise NotFound(f"no {which} / không có đồ án này")
    if row.status == "draft" and not planner:
        if user is None:
            err = Unauthorized(f"{which} is a draft: planners only, with their token / dự thảo: chỉ cán bộ quy hoạch")
            err.headers = {"WWW-Authenticate": _CHALLENGE}
            raise err
        raise Forbidden(f"{which} is a draft: planners only / dự thảo: chỉ cán bộ quy hoạch")
    return int(row.id)


async def with_plan_version(scope: dict[str, Any]) -> dict[str, Any]:
    """``scope`` with :data:`PLAN_VERSION` removed from its query, then set from ``plan``/``version`` when asked.

    Raises the project's errors (400 bad version, 401/403, 404); the caller answers them in the OGC error shape.
    """
    raw = scope.get("query_string", b"")
    if not raw or (PLAN.encode() not in raw and PLAN_VERSION.encode() not in raw):
        return scope
    pairs = [(k, v) for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if k != PLAN_VERSION]
    params = dict(pairs)
    if PLAN in params:
        code = params[PLAN]
        if not code or len(code) > 40:
            raise ValidationError("plan: a plan code (mã hồ sơ quy hoạch), e.g. 46QPK0000001")
        version = None
        if VERSION in params:
            text = params[VERSION]
            if not (text.isascii() and text.isdigit() and 0 < len(text) <= 9 and int(text) > 0):
                raise ValidationError(f"version: a version number (1, 2, ...), not {text!r}")
            version = int(text)
        headers = dict(scope.get("headers", []))
        token = bearer_or_basic_token((headers.get(b"authorization") or b"").decode("latin-1") or None)
        engine = scope["app"].state.engine
        plan_id = await run_in_threadpool(_resolve, engine, code, version, token)
        pairs.append((PLAN_VERSION, str(plan_id)))
    return {**scope, "query_string": urlencode(pairs).encode("latin-1")}


def problem_body(exc: PlanningError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The OGC API's error answer (``{"code", "description"}``) of one of the project's errors."""
    import json

    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    body = json.dumps({"code": exc.code, "description": exc.message}, ensure_ascii=False).encode()
    return exc.status_code, headers, body
