"""The FastAPI application. Nothing is built at import time: call :func:`create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError

from gis_service import __version__
from gis_service.api.ogc_mount import install_read_path, open_read_path
from gis_service.db import check_database, create_db_engine, resolve_database_url
from gis_service.db.migrate import VERSION_TABLE, head_revision
from gis_service.errors import DatabaseUnavailable, PlanningError
from gis_service.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application.

    The database URL is resolved and the connection pool opened in the lifespan, so creating the app never
    touches the database; ``with TestClient(create_app(settings))`` runs the lifespan.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(
            resolve_database_url(settings),
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        app.state.engine = engine
        from gis_service.jobs import start_job_runner
        from tiles.jobs import HANDLERS

        app.state.jobs = start_job_runner(settings, engine, HANDLERS)  # background jobs: tile rebuilds after publishing
        try:
            async with open_read_path(app, settings, engine.url.set(drivername="postgresql").render_as_string(False)):
                yield
        finally:
            app.state.jobs.stop()
            engine.dispose()

    app = FastAPI(
        title="Huế 3D planning service",
        summary="Quy hoạch sử dụng đất và quy hoạch xây dựng Huế: 3D GIS, OGC APIs, zoning lookup, permit checks",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(PlanningError)
    async def planning_error(_request: Request, exc: PlanningError) -> JSONResponse:
        return JSONResponse(
            {"code": exc.code, "description": exc.message}, status_code=exc.status_code, headers=exc.headers
        )

    from gis_service.api.guard import NulGuard, nul_in_body_handler

    app.add_middleware(NulGuard)  # a NUL in the URL: 400 before any handler (our routes and pygeoapi's)
    app.add_exception_handler(DataError, nul_in_body_handler)
    app.add_exception_handler(psycopg.DataError, nul_in_body_handler)

    @app.get("/api", summary="Service landing page (the web viewer is at /)")
    def landing() -> dict[str, Any]:
        return {
            "title": "Huế 3D planning service",
            "description": "Land-use and construction plans of Huế on a 3D GIS",
            "links": [
                {"rel": "alternate", "href": "/", "type": "text/html", "title": "Web viewer (bản đồ quy hoạch)"},
                {"rel": "service-doc", "href": "/docs", "title": "API documentation"},
                {"rel": "service-desc", "href": "/openapi.json", "title": "OpenAPI definition"},
                {"rel": "status", "href": "/healthz", "title": "Health check"},
                {"rel": "data", "href": "/ogc", "title": "OGC API: features, zoning-lookup process, vector tiles"},
                {"rel": "service", "href": "/lookup", "title": "Zoning lookup (tra cứu quy hoạch)"},
            ],
        }

    @app.get("/healthz", summary="Health check: is the database reachable and migrated?")
    def healthz(request: Request) -> JSONResponse:
        engine: Engine = request.app.state.engine
        try:
            versions = check_database(engine)
            with engine.connect() as conn:
                revision = conn.execute(sa.text(f"SELECT version_num FROM public.{VERSION_TABLE}")).scalar()
        except DatabaseUnavailable as exc:
            return JSONResponse({"status": "error", "database": "unreachable", "detail": exc.message}, 503)
        except DBAPIError:
            revision = None
        head = head_revision()
        body = {
            "status": "ok" if revision == head else "degraded",
            "database": "reachable",
            **versions,
            "schema_revision": revision,
            "schema_head": head,
        }
        if revision != head:
            body["detail"] = "the database schema is not up to date: run 'planning db migrate'"
        return JSONResponse(body, status_code=200 if revision == head else 503)

    from tiles.static import tiles_static_app

    app.mount("/tiles/3d", tiles_static_app(settings.tiles.out_dir), name="tiles-3d")  # 'planning tiles build'
    from gis_service.api.auth import install_auth

    install_auth(app, settings)  # /auth/token, users; CORS
    from gis_service.api.permits import install_permits

    install_permits(app)  # /permits: pre-check, applications, recorded checks, decisions, reports
    from gis_service.api.envelope import install_envelope
    from gis_service.rules.cache import SiteCache

    # parcels' sites kept for the anonymous checks, envelopes and lookups
    app.state.site_cache = SiteCache(settings.site_cache_size)

    install_envelope(app)  # /parcels/{id}/envelope: what may be built on a parcel
    from gis_service.api.features import install_features

    install_features(app, settings)  # OGC API - Features Part 4 writes, history, restore (before the /ogc mount)
    from gis_service.api.plans import install_publishing

    install_publishing(app, settings)  # /plans (drafts, publish), /jobs
    install_read_path(app, settings)  # pygeoapi at /ogc, vector tiles, zoning lookup
    from gis_service.viewer import install_viewer

    install_viewer(app, settings)  # the web viewer at /, its files, CesiumJS and MapLibre builds

    return app
