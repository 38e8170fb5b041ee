"""``planning plans``: list plan versions, publish a draft."""

from __future__ import annotations

import getpass
from datetime import date

import click

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url


@click.group()
def plans() -> None:
    """Plan versions: only approved versions are public."""


@plans.command("list")
@click.option("--code", default=None, help="Only the versions of this plan code.")
@click.pass_context
def list_command(ctx: click.Context, code: str | None) -> None:
    """Every plan version: code, version, status, decision, zones."""
    from gis_service.editing import list_plans

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.connect() as conn:
            versions = list_plans(conn, code=code)
    finally:
        engine.dispose()
    if not versions:
        say("no plans yet" if code is None else f"no plan with code {code}")
        return
    click.echo(f"{'code':<14} {'ver':>3}  {'status':<10} {'decision':<22} {'zones':>6}  name")
    for v in versions:
        decision = f"{v.decision_no or '-'} {v.decision_date or ''}".strip()
        click.echo(f"{v.code:<14} {v.version:>3}  {v.status:<10} {decision:<22} {v.zones:>6}  {v.name}")


def _iso_date(_ctx: click.Context, _param: click.Parameter, raw: str | None) -> date | None:
    from gis_service.as_of import parse_as_of
    from gis_service.errors import ValidationError

    try:
        return None if raw is None else parse_as_of(raw, name="--decision-date")
    except ValidationError as exc:
        raise click.BadParameter(exc.message) from None


@plans.command("publish")
@click.argument("code")
@click.option("--version", "version", type=int, default=None, help="The draft version to publish [latest draft].")
@click.option("--decision-no", default=None, help="Number of the approval decision (số quyết định), recorded first.")
@click.option("--decision-date", callback=_iso_date, default=None, help="Its date, YYYY-MM-DD.")
@click.option("--authority", default=None, help="Who approved it (cơ quan phê duyệt), e.g. UBND tỉnh Thừa Thiên Huế.")
@click.option("--user", default=None, help="Who publishes (for the history) [the login name].")
@click.option("--reason", default=None, help="Why (for the history) [Publish <code> v<N>].")
@click.pass_context
def publish_command(
    ctx: click.Context,
    code: str,
    version: int | None,
    decision_no: str | None,
    decision_date: date | None,
    authority: str | None,
    user: str | None,
    reason: str | None,
) -> None:
    """Approve the draft of plan CODE; its approved version becomes superseded (one transaction).

    The approval decision can be recorded here (--decision-no, --decision-date), as through the API. As there, the
    rebuild of the 3D tiles is queued: the running service does it (or run 'planning tiles build').
    """
    from gis_service.editing import publish_with_decision

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.begin() as conn:
            published, superseded, job = publish_with_decision(
                conn,
                code,
                decision_no=decision_no,
                decision_date=decision_date,
                approving_authority=authority,
                version=version,
                user=user or getpass.getuser(),
                reason=reason or f"Publish {code}" + (f" v{version}" if version else ""),
            )
    finally:
        engine.dispose()
    say(
        f"published {published.code} version {published.version} ({published.decision_no}, "
        f"{published.decision_date}): now public" + (f"; version {superseded.version} superseded" if superseded else "")
    )
    say(f"3D tiles: rebuild queued as job {job.id}; the running service does it (or run 'planning tiles build')")


@plans.command("check-consistency")
@click.argument("code")
@click.option("--version", "version", type=int, default=None, help="The version to check [the latest].")
@click.option("--against", default=None, help="Code of the higher plan [the approved plan above that overlaps it].")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on stdout.")
@click.pass_context
def check_consistency_command(
    ctx: click.Context, code: str, version: int | None, against: str | None, as_json: bool
) -> None:
    """Check plan CODE against the approved plan above it: land use, floors, height, density, FAR, red lines,
    heritage and riverbank zones. Exits 1 when there are findings."""
    import json

    from gis_service.consistency import approved_version_id, check_consistency, plan_version_id

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.connect() as conn:
            plan_id = plan_version_id(conn, code, version)
            higher = None if against is None else approved_version_id(conn, against)
            report = check_consistency(conn, plan_id, against=higher)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str))
    else:
        say(f"{report.lower.label()} against {report.higher.label()}: {len(report.findings)} finding(s)")
        for f in report.findings:
            click.echo(f"{f.rule}: {f.message_vi}\n    {f.message_en}")
    if report.findings:
        ctx.exit(1)
