"""``planning serve``: run the web service (one process, or several behind HAProxy with ``--processes N``);
``planning topology render``: the HAProxy and PgBouncer configuration of the same topology, for the compose file."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click

from gis_service.cli import get_settings, say
from gis_service.db import check_database, create_db_engine, resolve_database_url
from gis_service.db import migrate as migrations
from gis_service.db.local_cluster import port_is_free
from gis_service.errors import ConfigError, DatabaseRefused
from gis_service.settings import Settings


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: GIS_SERVER__HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: GIS_SERVER__PORT or 8000].")
@click.option(
    "--processes",
    type=click.IntRange(1, 32),
    default=None,
    help="Run this many service processes behind HAProxy, with PgBouncer in front of the database "
    "(GIS_TOPOLOGY__*; HAProxy listens on --host/--port).",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, processes: int | None) -> None:
    """Serve the APIs and the web viewer."""
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
    if processes is not None:
        _serve_balanced(settings, processes)
        return
    # imported only now: the app's packages take seconds to import, and a wrong setting is said before that
    import uvicorn

    from gis_service.api.app import create_app
    from gis_service.api.headers import UVICORN_OPTIONS

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
        access_log=settings.server.access_log,
        forwarded_allow_ips=trusted or [],
        **UVICORN_OPTIONS,
    )


def _serve_balanced(settings: Settings, processes: int) -> None:
    """HAProxy, ``processes`` service processes and PgBouncer until Ctrl+C or SIGTERM."""
    from gis_service.topology import LocalTopology

    topology = LocalTopology(settings, processes=processes, progress=say)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with topology:
        say(f"serving on {topology.url}/ through HAProxy; files and logs in {topology.run_dir} (Ctrl+C to stop)")
        try:
            while not stopping.wait(1):
                for p in topology.services:
                    if p.pid is None:  # HAProxy routes around it; say so, and let the operator decide
                        say(f"{p.name} (port {p.port}) has ended: see {p.log}")
                        p.popen = None
        except KeyboardInterrupt:
            pass
    say("stopped")


@click.group()
def topology() -> None:
    """The configuration of the balanced topology (HAProxy, PgBouncer), as 'planning serve --processes' writes it."""


@topology.command("render")
@click.argument("what", type=click.Choice(["haproxy", "pgbouncer"]))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
@click.option("--listen", default="0.0.0.0:8000", show_default=True, help="HAProxy: address:port to listen on.")
@click.option("--dns-service", default="app:8000", show_default=True, help="HAProxy: the service found by DNS.")
@click.option("--max-servers", type=int, default=8, show_default=True, help="HAProxy: most service containers.")
@click.pass_context
def render(ctx: click.Context, what: str, out: Path, listen: str, dns_service: str, max_servers: int) -> None:
    """Write haproxy.cfg, or pgbouncer.ini and its user list, from the settings (GIS_DATABASE_URL and
    GIS_DATABASE_REPLICAS: the servers PgBouncer stands in front of; it listens on GIS_TOPOLOGY__PGBOUNCER_PORT)."""
    from gis_service.topology import pooled_databases, render_haproxy, render_pgbouncer

    settings = get_settings(ctx)
    out.mkdir(parents=True, exist_ok=True)
    if what == "haproxy":
        (out / "haproxy.cfg").write_text(render_haproxy(bind=listen, dns_service=dns_service, max_servers=max_servers))
        say(f"wrote {out / 'haproxy.cfg'}")
        return
    databases = pooled_databases(resolve_database_url(settings), list(settings.database_replicas))
    ini, users = render_pgbouncer(
        databases,
        listen_addr="0.0.0.0",
        listen_port=settings.topology.pgbouncer_port,
        auth_file=out / "pgbouncer-users.txt",
        pool_size=settings.topology.pgbouncer_pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    fd = os.open(out / "pgbouncer-users.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(users)
    (out / "pgbouncer.ini").write_text(ini)
    say(f"wrote {out / 'pgbouncer.ini'} and its user list")
