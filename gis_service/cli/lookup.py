"""``planning lookup prepare``: prepare the published lookups now (the running service does it after publishing)."""

from __future__ import annotations

import click

from gis_service.cli import get_settings, say
from gis_service.db import resolve_database_url


@click.group()
def lookup() -> None:
    """The citizens' zoning lookup."""


@lookup.command("prepare")
@click.option("--whole", is_flag=True, help="Prepare every parcel, not only those near what changed since last time.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes computing the answers (1: in this process).",
)
@click.pass_context
def prepare_command(ctx: click.Context, whole: bool, processes: int) -> None:
    """Store each parcel's answer of the default lookup, as the live lookup would send it (only what changed)."""
    import psycopg

    from gis_service.db.engine import sqlalchemy_url
    from gis_service.lookup_prepared import prepare_lookups

    url = sqlalchemy_url(resolve_database_url(get_settings(ctx))).render_as_string(hide_password=False)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        report = prepare_lookups(conn, whole=whole, progress=say, processes=processes)
    say(
        f"prepared lookups at data version {report.data_version}: {report.prepared} of {report.parcels} parcels "
        f"prepared{' (all)' if report.whole else ''} ({report.changed} changed), {report.kept} unchanged, "
        f"{report.dropped} dropped, "
        f"{report.seconds:.2f} s"
    )
