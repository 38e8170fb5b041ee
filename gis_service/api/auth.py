"""HTTP routes of users and tokens: the OAuth2 password flow at ``POST /auth/token``, log out, who am I, and the
administrator's user management. Installed by :func:`install_auth` (with CORS) from ``create_app``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from gis_service.auth import (
    Role,
    User,
    create_user,
    disable_user,
    list_users,
    login,
    optional_user,
    require_role,
    revoke_token,
)
from gis_service.errors import TooManyRequests, Unauthorized
from gis_service.settings import Settings

__all__ = ["auth_router", "install_auth", "oauth2_scheme"]

#: Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /docs); the checks themselves are
#: :func:`gis_service.auth.optional_user` and :func:`gis_service.auth.require_role`.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

# Module level: route annotations are strings here (``from __future__ import annotations``), resolved in globals.
require_admin = require_role(Role.ADMIN)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, name=user.name, role=user.role, disabled=user.disabled)


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64, examples=["lan.nguyen"])
    role: Role = Role.PUBLIC
    password: str = Field(min_length=8, max_length=1024)
    full_name: str | None = Field(default=None, max_length=200)


def _client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def auth_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["Users and tokens (người dùng)"])
    conf = settings.auth

    @router.post(
        "/token",
        summary="Log in (OAuth2 password flow): a bearer token for the user",
        response_model=TokenResponse,
        responses={400: {"description": "wrong name or password"}, 429: {"description": "too many failed logins"}},
    )
    def token(
        request: Request,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    ) -> JSONResponse:
        """Send ``username`` and ``password`` as a form; use the answer as ``Authorization: Bearer <access_token>``.

        After repeated failures for a name or from an address, logins are refused for a while (429, ``Retry-After``).
        """
        engine: Engine = request.app.state.engine
        try:
            issued = login(
                engine,
                username,
                password,
                client_addr=_client_addr(request),
                ttl_s=conf.token_ttl_minutes * 60,
                max_failures_per_user=conf.max_failures_per_user,
                max_failures_per_address=conf.max_failures_per_address,
                failure_window_s=conf.failure_window_s,
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
    def revoke(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> JSONResponse:
        if user is None:
            raise Unauthorized("send the token to revoke as 'Authorization: Bearer <token>'", error="")
        token = request.headers["authorization"].partition(" ")[2].strip()
        engine: Engine = request.app.state.engine
        with engine.begin() as conn:
            revoke_token(conn, token)
        return JSONResponse(None, status_code=204)

    @router.get("/me", summary="The user of the bearer token", response_model=UserOut)
    def me(user: Annotated[User | None, Depends(optional_user)]) -> UserOut:
        if user is None:
            raise Unauthorized("no bearer token: log in at /auth/token", error="")
        return UserOut.of(user)

    @router.get("/users", summary="Every user (administrators)", response_model=list[UserOut])
    def users(request: Request, _admin: Annotated[User, Depends(require_admin)]) -> list[UserOut]:
        engine: Engine = request.app.state.engine
        with engine.connect() as conn:
            return [UserOut.of(u) for u in list_users(conn)]

    @router.post("/users", summary="Add a user (administrators)", response_model=UserOut, status_code=201)
    def add_user(request: Request, body: NewUser, by: Annotated[User, Depends(require_admin)]) -> UserOut:
        engine: Engine = request.app.state.engine
        with engine.begin() as conn:
            user = create_user(conn, body.name, body.role, body.password, full_name=body.full_name, created_by=by.name)
        return UserOut.of(user)

    @router.post(
        "/users/{name}/disable",
        summary="Disable a user and revoke its tokens (administrators)",
        response_model=UserOut,
    )
    def disable(request: Request, name: str, _admin: Annotated[User, Depends(require_admin)]) -> UserOut:
        engine: Engine = request.app.state.engine
        with engine.begin() as conn:
            return UserOut.of(disable_user(conn, name))

    return router


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


def bearer_documented() -> Any:
    """``dependencies=[bearer_documented()]`` shows the bearer scheme on a route in the OpenAPI document."""
    return Depends(oauth2_scheme)
