"""The FastAPI application. Nothing is built at import time: call :func:`create_app`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from gis_service import __version__
from gis_service.api.auth import install_auth
from gis_service.api.certificates import certificates_router
from gis_service.api.changes import changes_router
from gis_service.api.consultation import consultation_router
from gis_service.api.deps import EngineDep, open_read_pool, pool_kwargs, require_role
from gis_service.api.envelope import envelope_router
from gis_service.api.errors import PROBLEM_RESPONSES, install_error_handlers
from gis_service.api.fast_path import PublishedFastPath
from gis_service.api.features import install_features
from gis_service.api.guard import BodyLimit, NulGuard, TimeLimit
from gis_service.api.headers import SecurityHeaders
from gis_service.api.jobs import jobs_router
from gis_service.api.lookup import lookup_router
from gis_service.api.ogc_conformance import conformance_router
from gis_service.api.ogc_mount import mount_pygeoapi, ogc_database
from gis_service.api.permits import permits_router
from gis_service.api.plan_checks import plan_checks_router
from gis_service.api.plans import plans_router
from gis_service.api.point_batches import PointBatches
from gis_service.api.provenance import provenance_router
from gis_service.api.read_routing import ReadRouter, ReadYourWrites
from gis_service.api.subscriptions import subscriptions_router
from gis_service.api.tiles import published_tiles, tiles_router
from gis_service.api.validations import validations_router
from gis_service.api.viewer import install_api_docs, install_viewer
from gis_service.db import check_database, create_db_engine, resolve_database_url, resolve_replica_urls
from gis_service.db.migrate import VERSION_TABLE, head_revision
from gis_service.errors import DatabaseUnavailable
from gis_service.hot_answers import HotAnswers
from gis_service.jobs import start_job_runner
from gis_service.lookup_prepared import HANDLERS as LOOKUP_JOBS
from gis_service.notices import HANDLERS as MAIL_JOBS
from gis_service.parcel_index import ParcelIndex
from gis_service.rules.cache import SiteCache
from gis_service.settings import Settings
from tiles.jobs import HANDLERS as TILE_JOBS
from tiles.static import tiles_static_app

__all__ = ["create_app"]


def health(engine: Engine, *, details: bool) -> tuple[dict[str, Any], int]:
    """The health check's answer and status: ok (200), or the database unreachable or not migrated (503).

    Parameters
    ----------
    engine
        The service's database.
    details
        Add the PostgreSQL, PostGIS and schema versions and the connection error (for administrators only).
    """
    try:
        versions = check_database(engine)
        with engine.connect() as conn:
            revision = conn.execute(sa.text(f"SELECT version_num FROM public.{VERSION_TABLE}")).scalar()
    except DatabaseUnavailable as exc:
        body: dict[str, Any] = {
            "status": "error",
            "database": "unreachable",
            "detail": "cannot connect to the database",
        }
        if details:
            body["detail"] = exc.message
        return body, 503
    except DBAPIError:
        revision = None
    head = head_revision()
    body = {"status": "ok" if revision == head else "degraded", "database": "reachable"}  # no versions: they
    # tell an attacker which flaws to try
    if details:
        body.update({**versions, "schema_revision": revision, "schema_head": head})
    if revision != head:
        body["detail"] = "the database schema is not up to date: run 'planning db migrate'"
    return body, 200 if revision == head else 503


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application.

    The database URL is resolved and the connection pool opened in the lifespan, so creating the app never
    touches the database; ``with TestClient(create_app(settings))`` runs the lifespan.

    Parameters
    ----------
    settings
        The service's settings; read from the environment (``GIS_*``) when not given.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database_url = resolve_database_url(settings)
        engine = create_db_engine(
            database_url,
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
            prepared_statements=settings.db_prepared_statements,
        )
        app.state.engine = engine
        # background jobs: tile rebuilds (publishing), mails (subscriptions, notices)
        jobs = {**TILE_JOBS, **MAIL_JOBS, **LOOKUP_JOBS}
        app.state.jobs = start_job_runner(settings, settings.database_session_url or database_url, jobs)
        try:
            database_url = engine.url.set(drivername="postgresql").render_as_string(False)
            async with ogc_database(settings, database_url), open_read_pool(settings, database_url) as pool:
                # anonymous reads on the replicas, if any (issue 22); the primary's pool for the rest
                router = ReadRouter(
                    pool,
                    resolve_replica_urls(settings),
                    settings.replicas,
                    pool_kwargs=pool_kwargs(settings),
                    pool_size=settings.db_pool_size,
                    engine_kwargs={
                        "pool_size": 2,
                        "statement_timeout_ms": settings.statement_timeout_ms,
                        "prepared_statements": settings.db_prepared_statements,
                    },
                )
                app.state.read_router = router
                await router.start()
                app.state.point_batches = PointBatches(router, app.state.hot_answers)
                # prepared lookups kept in memory while the data version holds: told of changes by the primary
                app.state.hot_answers.start(
                    settings.database_session_url or database_url, {"application_name": "hue-planning-hot-answers"}
                )
                # the parcels, to find the one at a point without a query: read from the primary, as the listener
                app.state.parcel_index.url = settings.database_session_url or database_url
                app.state.parcel_index.connect_kwargs = {"application_name": "hue-planning-parcel-index"}
                app.state.parcel_index.start(app.state.hot_answers)
                # pygeoapi, pyproj and the app leave some 10^5 long-lived objects: moved out of the collector's sight,
                # they no longer make each full collection a pause of tens of milliseconds under load (the p99 of the
                # lookup)
                gc.collect()
                gc.freeze()
                try:
                    yield
                finally:
                    await app.state.hot_answers.stop()
                    await app.state.parcel_index.stop()
                    await router.stop()
        finally:
            app.state.jobs.stop()
            engine.dispose()

    app = FastAPI(
        docs_url=None,  # Swagger UI from the npm package, not a CDN (gis_service.api.viewer.install_api_docs)
        redoc_url=None,
        title="Huế 3D planning service",
        summary="Quy hoạch sử dụng đất và quy hoạch xây dựng Huế: 3D GIS, OGC APIs, zoning lookup, permit checks",
        version=__version__,
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,  # every route's 4xx, in the project's shape
        # FastAPI's own OpenTelemetry asks the global providers on every request, as much as a kept lookup's answer
        telemetry=None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)  # the core's errors, a NUL in a body, the read path's 400s
    tiles = published_tiles(settings)
    app.state.hot_answers = HotAnswers(settings.lookup_cache_size)
    app.state.parcel_index = ParcelIndex(settings.lookup_point_index)
    # innermost: published tiles and prepared lookups answered inside every guard, before routing
    app.add_middleware(PublishedFastPath, tiles=tiles)
    app.add_middleware(NulGuard)  # a NUL in the URL: 400 before any handler (our routes and pygeoapi's)
    # bodies over their route family's limit: 413 before they are read; JSON nested too deep: 400 (settings.limits)
    app.add_middleware(BodyLimit, limits=settings.limits)
    # anonymous requests: 408 for a body that does not come, 503 for an answer that does not begin, in time
    app.add_middleware(TimeLimit, limits=settings.limits)

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

    @app.get(
        "/healthz",
        summary="Health check: is the database reachable and migrated? (versions: details=true, admins only)",
    )
    def healthz(
        request: Request,
        engine: EngineDep,
        details: Annotated[bool, Query(description="Add the server, PostGIS and schema versions (admins)")] = False,
    ) -> JSONResponse:
        if details:
            require_role()(request)  # admins only: the versions tell an attacker which flaws to try
        body, status = health(engine, details=details)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    app.mount("/tiles/3d", tiles_static_app(settings.tiles.out_dir), name="tiles-3d")  # 'planning tiles build'
    install_auth(app, settings)  # /auth/token, users; CORS
    app.include_router(permits_router())  # /permits: pre-check, applications, recorded checks, decisions, reports
    # parcels' sites kept for the anonymous checks, envelopes and lookups
    app.state.site_cache = SiteCache(settings.site_cache_size)
    app.include_router(envelope_router())  # /parcels/{id}/envelope: what may be built on a parcel
    app.include_router(certificates_router())  # /certificates: previews, issuing, verification, revocation
    install_features(app, settings)  # OGC API - Features Part 4 writes, history, restore (before the /ogc mount)
    app.include_router(plans_router(settings))  # /plans: drafts, publishing
    app.include_router(consultation_router(settings.limits))  # /consultations, comments, their moderation, report
    app.include_router(provenance_router())  # /provenance: where a feature comes from, its review status
    app.include_router(plan_checks_router())  # /plans/{code}/consistency, /plans/{code}/balance
    app.include_router(changes_router())  # /plans/{code}/diff, /parcels/{id}/changes: what a new version changes
    app.include_router(jobs_router(settings))  # /jobs: the tile rebuilds after publishing
    app.include_router(subscriptions_router(settings))  # /subscriptions: notices of plan changes by mail
    app.include_router(validations_router())  # /validations: a dossier checked before it is accepted
    app.include_router(lookup_router())  # /lookup: zoning of a point or parcel
    app.include_router(conformance_router())  # /ogc/conformance: the classes implemented (ogc.conformance)
    app.include_router(tiles_router(settings, tiles))  # vector tiles under /ogc (routes first: they win over the mount)
    mount_pygeoapi(app, settings)  # pygeoapi at /ogc
    install_viewer(app, settings)  # the web viewer at /, its files, CesiumJS and MapLibre builds
    install_api_docs(app, settings)  # /docs: Swagger UI from its npm package
    app.add_middleware(ReadYourWrites)  # after a write: the primary's WAL position, for reads on the replicas
    app.add_middleware(SecurityHeaders, settings=settings)  # CSP, nosniff, HSTS, redirects kept home (outermost)

    return app
