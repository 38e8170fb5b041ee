"""HTTP routes of users and tokens: the OAuth2 password flow at ``POST /auth/token``, log out, who am I, and the
administrator's user management. Installed by :func:`install_auth` (with CORS) from ``create_app``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from gis_service.api.deps import Admin, CurrentUser, EngineDep
from gis_service.auth import (
    LoginLimits,
    Role,
    User,
    create_user,
    disable_user,
    list_users,
    login,
    revoke_token,
    unlock_logins,
)
from gis_service.errors import TooManyRequests, Unauthorized
from gis_service.settings import Settings

__all__ = ["auth_router", "install_auth"]


class TokenResponse(BaseModel):
    """The OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class UserOut(BaseModel):
    """A user as the API shows it (never its password hash)."""

    id: int
    name: str
    role: Role
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The API's view of ``user``."""
        return cls(id=user.id, name=user.name, role=user.role, disabled=user.disabled)


class NewUser(BaseModel):
    """The body of ``POST /auth/users``."""

    name: str = Field(min_length=2, max_length=64, examples=["lan.nguyen"])
    role: Role = Role.PUBLIC
    password: str = Field(min_length=8, max_length=1024)
    full_name: str | None = Field(default=None, max_length=200)


class Unlocked(BaseModel):
    """The answer of ``POST /auth/users/{name}/unlock``."""

    name: str
    cleared: int = Field(description="Counts of failed logins cleared: one per address the name failed from")


def _client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def auth_router(settings: Settings) -> APIRouter:
    """The ``/auth`` routes: log in, log out, who am I, and the administrators' user management.

    Parameters
    ----------
    settings
        Token lifetime and the limits of failed logins (``settings.auth``).
    """
    router = APIRouter(prefix="/auth", tags=["Users and tokens (người dùng)"])
    _session_routes(router, settings)
    _user_routes(router)
    return router


def _session_routes(router: APIRouter, settings: Settings) -> None:
    conf = settings.auth
    limits = LoginLimits(
        per_pair=conf.max_failures_per_user,
        per_address=conf.max_failures_per_address,
        window_s=conf.failure_window_s,
        lock_base_s=conf.lock_base_s,
        lock_max_s=conf.lock_max_s,
    )

    @router.post(
        "/token",
        summary="Log in (OAuth2 password flow): a bearer token for the user",
        response_model=TokenResponse,
        responses={400: {"description": "wrong name or password"}, 429: {"description": "too many failed logins"}},
    )
    def token(
        request: Request,
        engine: EngineDep,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    ) -> JSONResponse:
        """Send ``username`` and ``password`` as a form; use the answer as ``Authorization: Bearer <access_token>``.

        After repeated failures for a name from an address, or from an address, logins from there are refused for a
        while (429, ``Retry-After``); the same name from another address is not.
        """
        try:
            issued = login(
                engine,
                username,
                password,
                client_addr=_client_addr(request),
                ttl_s=conf.token_ttl_minutes * 60,
                limits=limits,
            )
        except Unauthorized as exc:
            # RFC 6749 §5.2: a wrong password is 'invalid_grant', a 400.
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": exc.message,
                    "code": exc.code,
                    "description": exc.message,
                },
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        except TooManyRequests as exc:
            return JSONResponse(
                {"error": "slow_down", "error_description": exc.message, "code": exc.code, "description": exc.message},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after_s), "Cache-Control": "no-store"},
            )
        return JSONResponse(issued.as_oauth2(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @router.post("/revoke", summary="Log out: revoke the bearer token of this request", status_code=204)
    def revoke(request: Request, engine: EngineDep, user: CurrentUser) -> Response:
        if user is None:
            raise Unauthorized("send the token to revoke as 'Authorization: Bearer <token>'", error="")
        token = request.headers["authorization"].partition(" ")[2].strip()
        with engine.begin() as conn:
            revoke_token(conn, token)
        # no body at all: a 204 with one ("null") breaks the connection in uvicorn, and the client's next request
        return Response(status_code=204)

    @router.get("/me", summary="The user of the bearer token", response_model=UserOut)
    def me(user: CurrentUser) -> UserOut:
        if user is None:
            raise Unauthorized("no bearer token: log in at /auth/token", error="")
        return UserOut.of(user)


def _user_routes(router: APIRouter) -> None:
    @router.get("/users", summary="Every user (administrators)", response_model=list[UserOut])
    def users(engine: EngineDep, _admin: Admin) -> list[UserOut]:
        with engine.connect() as conn:
            return [UserOut.of(u) for u in list_users(conn)]

    @router.post("/users", summary="Add a user (administrators)", response_model=UserOut, status_code=201)
    def add_user(engine: EngineDep, body: NewUser, by: Admin) -> UserOut:
        with engine.begin() as conn:
            user = create_user(conn, body.name, body.role, body.password, full_name=body.full_name, created_by=by.name)
        return UserOut.of(user)

    @router.post(
        "/users/{name}/disable",
        summary="Disable a user and revoke its tokens (administrators)",
        response_model=UserOut,
    )
    def disable(engine: EngineDep, name: str, _admin: Admin) -> UserOut:
        with engine.begin() as conn:
            return UserOut.of(disable_user(conn, name))

    @router.post(
        "/users/{name}/unlock",
        summary="Lift the login locks of a user name, from every address (administrators)",
        response_model=Unlocked,
    )
    def unlock(engine: EngineDep, name: str, _admin: Admin) -> Unlocked:
        """Clear the failed logins counted for ``name``: it may log in again at once from anywhere."""
        with engine.begin() as conn:
            return Unlocked(name=name, cleared=unlock_logins(conn, name))


def install_auth(app: FastAPI, settings: Settings) -> None:
    """Add the ``/auth`` routes and, when origins are configured, CORS (``GIS_AUTH__CORS_ORIGINS``)."""
    app.include_router(auth_router(settings))
    origins = settings.auth.cors_origins
    if origins:
        any_origin = "*" in origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"] if any_origin else origins,
            allow_credentials=not any_origin,  # a wildcard origin never gets credentials
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Content-Crs",
                "X-Change-Reason",
            ],
            expose_headers=["ETag", "Location", "Content-Crs", "Retry-After"],
            max_age=600,
        )
