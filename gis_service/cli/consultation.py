"""``planning consultation``: open and close a draft's public consultation, list them, write the report."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import click

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url


@click.group()
def consultation() -> None:
    """Public consultation of draft plans (lấy ý kiến cộng đồng dân cư)."""


@consultation.command("open")
@click.argument("code")
@click.option("--from", "starts_on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (Huế).")
@click.option("--to", "ends_on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (Huế), included.")
@click.option("--explanation", required=True, help="What the draft changes and why (thuyết minh), in Vietnamese.")
@click.option("--version", "version", type=int, default=None, help="The draft version [the latest draft].")
@click.option("--user", default=None, help="Who opens it [the login name].")
@click.pass_context
def open_command(
    ctx: click.Context,
    code: str,
    starts_on: datetime,
    ends_on: datetime,
    explanation: str,
    version: int | None,
    user: str | None,
) -> None:
    """Put the draft of plan CODE to public consultation from --from to --to."""
    from gis_service.consultation.periods import open_consultation

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.begin() as conn:
            c = open_consultation(
                conn,
                code,
                starts_on=starts_on.date(),
                ends_on=ends_on.date(),
                explanation=explanation,
                user=user or getpass.getuser(),
                version=version,
            )
    finally:
        engine.dispose()
    say(f"consultation {c.id}: {c.code} version {c.version}, {c.starts_on} to {c.ends_on} ({c.status()})")
    click.echo(c.id)


@consultation.command("close")
@click.argument("consultation_id", type=int)
@click.option("--user", default=None, help="Who closes it [the login name].")
@click.pass_context
def close_command(ctx: click.Context, consultation_id: int, user: str | None) -> None:
    """End consultation CONSULTATION_ID now."""
    from gis_service.consultation.periods import close_consultation

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.begin() as conn:
            c = close_consultation(conn, consultation_id, user=user or getpass.getuser())
    finally:
        engine.dispose()
    say(f"consultation {c.id} of {c.code} version {c.version} closed")


@consultation.command("list")
@click.option("--code", default=None, help="Only the consultations of this plan.")
@click.pass_context
def list_command(ctx: click.Context, code: str | None) -> None:
    """Every consultation, newest first: id, plan, version, period, status, comments."""
    import sqlalchemy as sa

    from gis_service.consultation.periods import list_consultations

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.connect() as conn:
            found = list_consultations(conn, code=code)
            counts: dict[int, int] = dict(
                conn.execute(
                    sa.text("SELECT consultation_id, count(*) FROM planning.comments GROUP BY consultation_id")
                ).all()
            )
    finally:
        engine.dispose()
    if not found:
        say("no consultations yet" if code is None else f"no consultation of plan {code}")
        return
    click.echo(f"{'id':>5}  {'code':<14} {'ver':>3}  {'from':<10}  {'to':<10}  {'status':<9} {'comments':>8}")
    for c in found:
        click.echo(
            f"{c.id:>5}  {c.code:<14} {c.version:>3}  {c.starts_on}  {c.ends_on}  {c.status():<9} "
            f"{counts.get(c.id, 0):>8}"
        )


@consultation.command("report")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "pdf"]), default="xlsx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="[consultation-CODE.FMT]")
@click.pass_context
def report_command(ctx: click.Context, code: str, fmt: str, out: Path | None) -> None:
    """Write the consultation report of plan CODE: every comment, its answer and outcome (for the dossier)."""
    from gis_service.consultation.report import consultation_report, report_xlsx
    from gis_service.consultation.report_pdf import report_pdf

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.connect() as conn:
            gathered = consultation_report(conn, code)
    finally:
        engine.dispose()
    content = report_xlsx(gathered) if fmt == "xlsx" else report_pdf(gathered)
    path = out or Path(f"consultation-{code}.{fmt}")
    path.write_bytes(content)
    say(
        f"{path}: {len(gathered.consultations)} consultation(s), {len(gathered.comments)} comment(s) of {code} "
        f"({len(content):,} bytes)"
    )
