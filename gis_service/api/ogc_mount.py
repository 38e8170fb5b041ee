"""pygeoapi mounted at ``/ogc``: OGC API - Features, Processes (zoning lookup, permit check) and the collections.

:func:`mount_pygeoapi` is called by ``create_app`` after the routes that answer some ``/ogc`` paths themselves
(feature edits, vector tiles); :func:`ogc_database` runs in the app's lifespan (the providers' connections).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gis_service.api.ogc_items import GeoJsonItems
from gis_service.settings import Settings
from ogc import provider
from ogc.config import DATABASE_KEY, build_config, write_config
from ogc.permit_process import jobs_manager_config

__all__ = ["ExecutionBodyGuard", "mount_pygeoapi", "ogc_database"]

LOGGER = logging.getLogger(__name__)


@asynccontextmanager
async def ogc_database(settings: Settings, database_url: str) -> AsyncIterator[None]:
    """Register the database for pygeoapi's providers for the app's lifespan, and close their connections after.

    Parameters
    ----------
    settings
        Pool size and statement timeout.
    database_url
        A ``postgresql://`` URL (no SQLAlchemy driver name).
    """
    provider.register_database(
        DATABASE_KEY,
        database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
        prepared_statements=settings.db_prepared_statements,
    )
    try:
        yield
    finally:
        provider.close_databases()


def mount_pygeoapi(app: FastAPI, settings: Settings) -> None:
    """Write pygeoapi's configuration and mount its Starlette app at ``/ogc`` (after the routes that win over it)."""
    config = build_config(base_url=settings.base_url() + "/ogc", max_items=settings.ogc_max_items)
    try:
        config["server"]["manager"] = jobs_manager_config(settings.ogc_dir / "jobs")  # async processes (permit-check)
        files = write_config(config, settings.ogc_dir)
    except OSError as exc:  # e.g. a read-only install folder in a container: the files are derived, any folder does
        fallback = Path(tempfile.gettempdir()) / f"hue-planning-ogc-{os.getuid()}"
        LOGGER.warning("cannot write the pygeoapi configuration to %s (%s); using %s", settings.ogc_dir, exc, fallback)
        config["server"]["manager"] = jobs_manager_config(fallback / "jobs")
        files = write_config(config, fallback)
    # pygeoapi reads these two variables when its Starlette app is imported (there is no other way in).
    os.environ["PYGEOAPI_CONFIG"] = str(files.config)
    os.environ["PYGEOAPI_OPENAPI"] = str(files.openapi)
    module = sys.modules.get("pygeoapi.starlette_app")
    if module is not None and getattr(module, "_planning_config", None) != str(files.config):
        # pygeoapi keeps one configuration per process: a second app with other settings reloads it.
        module = importlib.reload(module)
    elif module is None:
        module = importlib.import_module("pygeoapi.starlette_app")
    module._planning_config = str(files.config)  # type: ignore[attr-defined]
    # the common items requests are answered from PostgreSQL's GeoJSON text, the rest by pygeoapi
    url = config["server"]["url"]
    items = GeoJsonItems(ExecutionBodyGuard(module.APP), base_url=url, max_items=settings.ogc_max_items)
    app.mount("/ogc", items, name="ogc")


class ExecutionBodyGuard:
    """Refuses (400) a process execution request whose body is not a JSON object, before pygeoapi sees it.

    pygeoapi 0.24 calls ``data.get('inputs')`` on whatever JSON the body holds: a list, a number or ``null`` ends
    in an AttributeError and a 500 (found by schemathesis). Everything else passes through untouched.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Check the body of a process execution request, then hand the request, body replayed, to pygeoapi."""
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/execution"):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = None
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                problem = 'the execution request must be a JSON object: {"inputs": {...}}'
            elif not isinstance(data.get("inputs", {}), dict):
                problem = '"inputs" of the execution request must be a JSON object: {"lon": ..., "lat": ...}'
        except ValueError as exc:
            problem = f"the execution request is not valid JSON: {exc}"
        except RecursionError:
            problem = "the execution request nests arrays and objects too deeply"
        if problem is not None:
            response = JSONResponse({"code": "InvalidParameterValue", "description": problem}, status_code=400)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
