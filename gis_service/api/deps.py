"""What the routes depend on, in one place: the database, the request's user and roles, the headers of a change,
and running blocking work off the event loop.

Route parameters use the ``Annotated`` aliases (``engine: EngineDep``, ``user: Planner``, ``reason: ReasonHeader``),
as in FastAPI's full-stack template. The read routes take a connection with :func:`read_connection` rather than
through ``Depends``: the zoning lookup is the citizens' hot path, where every resolved dependency costs.

A user comes from the request's ``Authorization: Bearer`` token (:func:`optional_user`); the roles are checked by
:func:`require_role`. No token or a bad one is a 401; a valid token of another role, a 403.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import Connection, Engine

from gis_service.api.read_routing import ReadRouter
from gis_service.auth import Role, User, user_for_token
from gis_service.errors import Forbidden, Unauthorized, ValidationError
from gis_service.rules.cache import SiteCache
from gis_service.settings import Settings

__all__ = [
    "Admin",
    "ContentCrsHeader",
    "CurrentUser",
    "EngineDep",
    "IfMatchHeader",
    "Officer",
    "Planner",
    "ReasonHeader",
    "Staff",
    "change_reason",
    "get_engine",
    "in_thread",
    "in_transaction",
    "oauth2_scheme",
    "open_read_pool",
    "optional_user",
    "pool_kwargs",
    "read_connection",
    "read_engine",
    "require_role",
    "site_cache",
]


# ---- the database -----------------------------------------------------------------------------------------
async def get_engine(request: Request) -> Engine:
    """The app's SQLAlchemy engine (made in the lifespan of :func:`gis_service.api.app.create_app`)."""
    engine: Engine = request.app.state.engine
    return engine


#: The engine, as a route parameter.
EngineDep = Annotated[Engine, Depends(get_engine)]


def read_connection(request: Request) -> AbstractAsyncContextManager[AsyncConnection[Any]]:
    """A connection for a read route: a replica's for an anonymous read, else the primary's (see
    :mod:`gis_service.api.read_routing`)::

        async with read_connection(request) as conn:
            ...
    """
    router: ReadRouter = request.app.state.read_router
    return router.connection(request.scope)


def read_engine(request: Request) -> Engine:
    """The SQLAlchemy engine for a public read route: a replica's for an anonymous read, else the primary's."""
    router: ReadRouter = request.app.state.read_router
    primary: Engine = request.app.state.engine
    return router.engine(request.scope, primary)


def pool_kwargs(settings: Settings) -> dict[str, Any]:
    """The connection arguments of the read routes' pools (the primary's and the replicas')."""
    options = f"-c statement_timeout={settings.statement_timeout_ms}" if settings.statement_timeout_ms else ""
    # the routes' statements are prepared; re-planning the rules' site statement for each parcel cost more than
    # running it, and no statement of this pool gains from a plan made for its parameters (see the commit)
    options += " -c plan_cache_mode=force_generic_plan"
    return {
        "autocommit": True,
        "options": options,
        "application_name": "hue-planning-api",
        # None: never prepare (PgBouncer's transaction pooling), even the statements asked with prepare=True
        "prepare_threshold": 5 if settings.db_prepared_statements else None,
    }


def site_cache(request: Request) -> SiteCache:
    """The parcels' sites kept for the anonymous checks, envelopes and lookups."""
    cache: SiteCache = request.app.state.site_cache
    return cache


@asynccontextmanager
async def open_read_pool(settings: Settings, database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """Open the asynchronous pool of the read routes for the app's lifespan, and close it after.

    Parameters
    ----------
    settings
        Pool size and statement timeout.
    database_url
        A ``postgresql://`` URL (no SQLAlchemy driver name).
    """
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=settings.db_pool_size,  # opened in the background at start: no connection set-up under load
        max_size=settings.db_pool_size,
        kwargs=pool_kwargs(settings),
        open=False,
        name="api",
    )
    await pool.open(wait=False)
    try:
        yield pool
    finally:
        await pool.close()


# ---- blocking work ----------------------------------------------------------------------------------------
async def in_thread[**P, T](fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking function (database, PDF) in the worker threads, off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def in_transaction[T](engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work(conn)`` in a worker thread inside one transaction; its result comes back once committed."""

    def run() -> T:
        with engine.begin() as conn:
            return work(conn)

    return await run_in_threadpool(run)


# ---- users and roles --------------------------------------------------------------------------------------
#: Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /docs); the checks themselves are
#: :func:`optional_user` and :func:`require_role`.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>' (get one at /auth/token)")
    return token.strip()


def optional_user(request: Request) -> User | None:
    """The user of the request's ``Authorization: Bearer`` token, or ``None`` without one.

    An invalid, expired or revoked token is a 401, never silently anonymous.
    """
    if hasattr(request.state, "planning_user"):
        cached: User | None = request.state.planning_user
        return cached
    user: User | None
    token = _bearer(request)
    if token is None:
        user = None
    else:
        engine: Engine = request.app.state.engine
        with engine.connect() as conn:
            user = user_for_token(conn, token)
    request.state.planning_user = user
    return user


def require_role(*roles: Role) -> Callable[[Request], User]:
    """A dependency giving the request's user when it has one of ``roles`` (admin always has).

    No token or a bad one: 401; a valid token of another role: 403.
    """
    wanted = ", ".join(r.value for r in roles) or "admin"

    def dependency(request: Request) -> User:
        user = optional_user(request)
        if user is None:
            raise Unauthorized(f"log in first: this needs the role {wanted} (POST /auth/token)", error="")
        if not user.has_role(*roles):
            raise Forbidden(f"user {user.name} ({user.role.value}) may not do this: it needs the role {wanted}")
        return user

    dependency.__name__ = f"require_{'_or_'.join(r.value for r in roles) or 'admin'}"
    return dependency


#: The request's user, or None without a token.
CurrentUser = Annotated[User | None, Depends(optional_user)]
#: A planner (edits draft plans, publishes).
Planner = Annotated[User, Depends(require_role(Role.PLANNER))]
#: A planner or a permit officer (read drafts, history, jobs).
Staff = Annotated[User, Depends(require_role(Role.PLANNER, Role.PERMIT_OFFICER))]
#: A permit officer (applications, recorded checks, decisions).
Officer = Annotated[User, Depends(require_role(Role.PERMIT_OFFICER))]
#: An administrator (users).
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]


# ---- the headers of a change ------------------------------------------------------------------------------
def change_reason(value: str | None) -> str:
    """The reason of a change from its header: plain, UTF-8 sent raw, or percent-encoded UTF-8.

    >>> change_reason("QĐ%2006%2F2024%20đi%E1%BB%81u%20chỉnh")
    'QĐ 06/2024 điều chỉnh'
    """
    if value is None or not value.strip():
        raise ValidationError("send the reason of the change in the X-Change-Reason header (e.g. 'QĐ 06/2024')")
    text = value
    try:  # Starlette decodes header bytes as Latin-1: raw UTF-8 comes back here
        text = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        text = value
    if re.search(r"%[0-9A-Fa-f]{2}", text):
        text = urllib.parse.unquote(text)
    return text.strip()[:1000]


#: Why a change is made (checked by :func:`change_reason` in the route, after the route's own checks).
ReasonHeader = Annotated[
    str | None,
    Header(
        alias="X-Change-Reason",
        description="Why the change is made, for the history (required; UTF-8, percent-encoded if need be)",
    ),
]
#: The ETag of the feature as the client read it.
IfMatchHeader = Annotated[str | None, Header(alias="If-Match", description="The ETag of the feature as read")]
#: The CRS of a geometry sent.
ContentCrsHeader = Annotated[
    str | None,
    Header(
        alias="Content-Crs", description="CRS of the geometry sent, e.g. <http://www.opengis.net/def/crs/EPSG/0/9214>"
    ),
]
