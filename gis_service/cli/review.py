"""``planning review``: a feature's provenance, and its review status (digitised, checked, approved)."""

from __future__ import annotations

import getpass
import json

import click

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url

_LAYERS = click.Choice(["zones", "red_lines", "building_lines", "parcels", "buildings"])


@click.group()
def review() -> None:
    """Where features come from and whether a planner has checked them."""


@review.command("show")
@click.argument("layer", type=_LAYERS)
@click.argument("feature_id", type=int)
@click.pass_context
def show_command(ctx: click.Context, layer: str, feature_id: int) -> None:
    """The provenance of feature FEATURE_ID of LAYER, as JSON."""
    from gis_service.provenance import feature_provenance

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.connect() as conn:
            prov = feature_provenance(conn, layer, feature_id)
    finally:
        engine.dispose()
    click.echo(json.dumps(prov, ensure_ascii=False, indent=1))


@review.command("set")
@click.argument("layer", type=_LAYERS)
@click.argument("feature_id", type=int)
@click.argument("status", type=click.Choice(["digitised", "checked", "approved"]))
@click.option("--user", default=None, help="Who checked it (for the history) [the login name].")
@click.option("--reason", required=True, help="Why (for the history), e.g. compared with the paper sheet 12.")
@click.pass_context
def set_command(ctx: click.Context, layer: str, feature_id: int, status: str, user: str | None, reason: str) -> None:
    """Set the review status of feature FEATURE_ID of LAYER (recorded in its history)."""
    from gis_service.provenance import set_review_status

    engine = create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)
    try:
        with engine.begin() as conn:
            prov = set_review_status(conn, layer, feature_id, status, user=user or getpass.getuser(), reason=reason)
    finally:
        engine.dispose()
    say(f"{layer} {feature_id}: {prov['sentence_en']}")
