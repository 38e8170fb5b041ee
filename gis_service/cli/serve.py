"""``planning serve``: run the web service."""

from __future__ import annotations

import click

from gis_service.cli import get_settings, say
from gis_service.db import check_database, create_db_engine, resolve_database_url
from gis_service.db import migrate as migrations
from gis_service.db.local_cluster import port_is_free
from gis_service.errors import ConfigError, DatabaseRefused


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: GIS_SERVER__HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: GIS_SERVER__PORT or 8000].")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the APIs and the web viewer."""
    import uvicorn

    from gis_service.api.app import create_app
    from gis_service.api.headers import UVICORN_OPTIONS

    settings = get_settings(ctx)
    host = host or settings.server.host
    port = port or settings.server.port
    url = resolve_database_url(settings)
    engine = create_db_engine(url, pool_size=1)
    try:
        check_database(engine)
    except DatabaseRefused as exc:
        # A database that does not answer yet (starting, restarting, a failover) is no reason to exit: a service
        # manager would restart us in a loop. Serve, and /healthz answers 503 until the database answers.
        say(f"warning: {exc.message}")
        say("serving anyway: /healthz answers 503 until the database answers, then 200 (retried at each request)")
    else:
        if migrations.current_revision(url) != migrations.head_revision():
            raise ConfigError("the database schema is not up to date: run 'planning db migrate' first")
    finally:
        engine.dispose()
    if not port_is_free(port, host if host not in ("0.0.0.0", "") else "0.0.0.0"):
        raise ConfigError(f"port {port} on {host} is already taken: choose another with --port")
    # links in OGC API answers use the address actually served (unless GIS_PUBLIC_URL says otherwise)
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host, "port": port})})
    say(f"serving on http://{host}:{port}/ (Ctrl+C to stop)")
    # X-Forwarded-For is believed only from the proxies named in the settings: the client address decides login
    # limits, and uvicorn's own default believes any process on this machine
    trusted = settings.server.trusted_proxies
    if trusted:
        say(f"believing X-Forwarded-For from {', '.join(trusted)} only")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or [],
        **UVICORN_OPTIONS,
    )
