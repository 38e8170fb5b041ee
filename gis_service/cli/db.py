"""``planning db``: the database: provision, start, stop, migrate, locate."""

from __future__ import annotations

import click

from gis_service.cli import get_settings, say
from gis_service.db import check_database, create_db_engine, local_cluster, resolve_database_url, safe_url
from gis_service.db import migrate as migrations
from gis_service.db.local_replicas import replicas_of, scale_replicas


@click.group()
def db() -> None:
    """The database: the project's own local PostGIS, or the one GIS_DATABASE_URL names."""


def _migrate(url: str) -> None:
    before = migrations.current_revision(url)
    head = migrations.head_revision()
    if before == head:
        say(f"schema up to date (revision {head})")
        return
    say(f"migrating the schema from {before or 'empty'} to {head}")
    migrations.upgrade(url, "head")


def _check_external(url: str) -> None:
    engine = create_db_engine(url, pool_size=1)
    try:
        v = check_database(engine)
    finally:
        engine.dispose()
    say(f"database {safe_url(url)} reachable: PostgreSQL {v['server_version']}, PostGIS {v['postgis_version']}")


@db.command()
@click.option(
    "--replicas",
    type=click.IntRange(0, 9),
    default=None,
    help="Streaming replicas of the local database to run beside it (0 stops them) [default: those created before].",
)
@click.pass_context
def up(ctx: click.Context, replicas: int | None) -> None:
    """Create (first time) and start the local database, then apply migrations. Harmless to repeat.

    With GIS_DATABASE_URL set, only checks that database and migrates it.
    """
    settings = get_settings(ctx)
    if settings.database_url:
        if replicas:
            raise click.UsageError("--replicas makes replicas of the local database: unset GIS_DATABASE_URL")
        _check_external(settings.database_url)
        _migrate(settings.database_url)
        return
    cluster = local_cluster(settings)
    status = cluster.up(progress=say)
    say(status.describe())
    _migrate(cluster.url())
    count = len(replicas_of(cluster)) if replicas is None else replicas
    # after the migration, so that the replicas' base backup already holds the schema
    for replica in scale_replicas(cluster, count, progress=say):
        say(replica.describe())


@db.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the local database (its data is kept)."""
    settings = get_settings(ctx)
    if settings.database_url:
        say("GIS_DATABASE_URL is set: that server is not managed by this project, nothing to stop")
        return
    cluster = local_cluster(settings)
    for replica in replicas_of(cluster):
        if replica.down():
            say(f"replica {replica.number} stopped (data kept)")
    if cluster.down():
        say("local database stopped (data kept)")
    else:
        say("local database was not running")


@db.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Say whether the database is running and migrated."""
    settings = get_settings(ctx)
    head = migrations.head_revision()
    if settings.database_url:
        _check_external(settings.database_url)
        rev = migrations.current_revision(settings.database_url)
    else:
        cluster = local_cluster(settings)
        st = cluster.status()
        click.echo(st.describe())
        for replica in replicas_of(cluster):
            click.echo(replica.describe())
        if not st.running or st.url is None:
            ctx.exit(3)
        rev = migrations.current_revision(st.url)
    state = "up to date" if rev == head else f"behind (head {head}): run 'planning db migrate'"
    click.echo(f"schema revision {rev or 'none'}, {state}")


@db.command()
@click.pass_context
def url(ctx: click.Context) -> None:
    """Print the connection URL (psql "$(planning db url)")."""
    click.echo(resolve_database_url(get_settings(ctx)))


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def migrate(ctx: click.Context, revision: str) -> None:
    """Apply the schema migrations."""
    url = resolve_database_url(get_settings(ctx))
    if revision == "head":
        _migrate(url)
    else:
        migrations.upgrade(url, revision)
        say(f"schema at revision {revision}")


@db.command()
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def downgrade(ctx: click.Context, revision: str, yes: bool) -> None:
    """Take the schema back to REVISION ('base' drops schema planning and all its data)."""
    url = resolve_database_url(get_settings(ctx))
    if not yes:
        click.confirm(f"Downgrade {safe_url(url)} to {revision}? Data in removed tables is lost", abort=True)
    migrations.downgrade(url, revision)
    say(f"schema at revision {revision}")


def _local_only(ctx: click.Context, what: str) -> None:
    if get_settings(ctx).database_url:
        raise click.ClickException(
            f"GIS_DATABASE_URL is set: {what} of that server belongs to its own tools (pgBackRest's template for "
            "a server: deploy/pgbackrest/); 'planning db backup|restore' manage the project's own local database"
        )


@db.command()
@click.option("--full", is_flag=True, help="A full backup even when one exists (default: incremental after the first).")
@click.pass_context
def backup(ctx: click.Context, full: bool) -> None:
    """Back up the local database with pgBackRest; the first run also starts archiving its WAL."""
    from gis_service.db import backup as backups

    _local_only(ctx, "the backup")
    settings = get_settings(ctx)
    cluster = local_cluster(settings)
    repo = backups.backup_repo(cluster, settings.backup.repo)
    info = backups.backup(cluster, repo=repo, retention_full=settings.backup.retention_full, full=full)
    say(info.describe())
    say(f"repository: {repo}")


@db.command()
@click.option(
    "--to",
    "to",
    required=True,
    metavar="TIME",
    help="The moment to bring the database back to, with its UTC offset: '2026-12-06 20:31:05+07'.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def restore(ctx: click.Context, to: str, yes: bool) -> None:
    """Bring the local database back to a moment (point-in-time recovery from the pgBackRest backups)."""
    from gis_service.db import backup as backups

    _local_only(ctx, "the restore")
    moment = backups.parse_target_time(to)
    cluster = local_cluster(get_settings(ctx))
    if not yes:
        click.confirm(
            f"Stop the local database and bring it back to {moment.isoformat(sep=' ')}? Changes made after that "
            "moment are left out",
            abort=True,
        )
    base = backups.restore(cluster, moment)
    say(f"restored to {moment.isoformat(sep=' ')} from the {base.kind} backup {base.label}; the database is running")
