"""``planning demo load``: the sample plans of ``sample_data/`` imported and published, as the demo shows them,
and the self-signed key that signs the demo's certificates (made once, unless a key is configured).

One place says which files make which plan, with which sample decision; the demo (``run.sh``), the tests and the
benchmarks load the sample through :func:`load_sample_plans`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
from sqlalchemy.engine import Engine

__all__ = ["SAMPLE_PLANS", "SamplePlan", "load_sample_plans"]


@dataclass(frozen=True)
class SamplePlan:
    """One plan version of the sample: its files (under ``sample_data/``), code, name and sample decision."""

    path: str
    code: str
    name: str
    decision_no: str
    decision_date: date
    src_crs: str | None = None
    #: An older version, imported only while the plan does not exist yet (afterwards the next version has
    #: superseded it; importing it again would make it a new draft).
    first_only: bool = False


#: In the order they are imported and published (an older version first, so that the next supersedes it).
SAMPLE_PLANS = (
    SamplePlan(
        "46QPK0000001_2019",
        "46QPK0000001",
        "Quy hoạch phân khu Kinh thành Huế",
        "DEMO-00/QĐ-UBND",
        date(2019, 12, 20),
        first_only=True,
    ),
    SamplePlan(
        "46QPK0000001",
        "46QPK0000001",
        "Quy hoạch phân khu Kinh thành Huế",
        "DEMO-01/QĐ-UBND",
        date(2024, 6, 15),
    ),
    SamplePlan(
        "46QCT0000001/HoSoBASIC/KimLong_QHCT_1-500.dxf",
        "46QCT0000001",
        "Quy hoạch chi tiết 1/500 khu dân cư Kim Long",
        "DEMO-02/QĐ-UBND",
        date(2024, 9, 20),
        src_crs="EPSG:9214",
    ),
)


def load_sample_plans(engine: Engine, root: Path, *, user: str = "demo", reason: str = "demo data") -> list[str]:
    """Import and publish the sample plans found under ``root``; what was done or found, a line per plan.

    Safe to run again after real use. Files already imported (into a version not edited since) are not imported
    again, and only a version this function imported, as ``user``, is published. A version someone else made (a
    draft a planner started, or one published since) is left as it is, nothing is imported beside or over it, and
    the approved version goes on being served.
    """
    return [f"{plan.code}: {_load(engine, root, plan, user, reason)}" for plan in SAMPLE_PLANS]


def _load(engine: Engine, root: Path, plan: SamplePlan, user: str, reason: str) -> str:
    """One plan version of the sample imported and published, or what was found instead, in plain words."""
    from converters import ImportOptions, import_path
    from gis_service.editing import publish_plan

    if plan.first_only and _plan_exists(engine, plan.code):
        return f"{plan.path} not imported again (the plan has versions already); {_served(engine, plan.code)}"
    options = ImportOptions(
        plan=plan.code,
        plan_name=plan.name,
        decision_no=plan.decision_no,
        decision_date=plan.decision_date,
        src_crs=plan.src_crs,
        user=user,
        reason=reason,
        leave_others=True,
    )
    report = import_path(root / plan.path, engine, options)
    found = report.plan or {}
    # A draft of these very files, imported by this function and not edited since (a run stopped before publishing)
    ours = found.get("action") == "unchanged" and found.get("status") == "draft" and found.get("created_by") == user
    if report.skipped and not ours:
        return f"{report.skipped}; {_served(engine, plan.code)}"
    if "version" not in found:
        return f"imported {plan.path}: no plan version in it, nothing to publish"
    with engine.begin() as conn:
        published, _old = publish_plan(conn, plan.code, user=user, reason=reason, version=int(found["version"]))
    what = f"found {plan.path} imported before but not published" if report.skipped else f"imported {plan.path}"
    return f"{what}, and published it as version {published.version}"


def _served(engine: Engine, code: str) -> str:
    """Which version of the plan the public sees."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT version FROM planning.plans WHERE code = :c AND status = 'approved'"), {"c": code}
        ).scalar()
    return f"the approved version {version} is served" if version is not None else "no version of it is approved"


def _plan_exists(engine: Engine, code: str) -> bool:
    import sqlalchemy as sa

    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM planning.plans WHERE code = :c LIMIT 1"), {"c": code}).first()
    return found is not None


@click.group("demo")
def demo() -> None:
    """The demo's sample plans."""


@demo.command("load")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.pass_context
def load(ctx: click.Context, root: Path | None) -> None:
    """Import and publish the sample plans of sample_data/: safe to run again (see load_sample_plans)."""
    from gis_service.cli import get_settings
    from gis_service.db import create_db_engine, resolve_database_url
    from gis_service.settings import project_root

    settings = get_settings(ctx)
    engine = create_db_engine(resolve_database_url(settings), pool_size=1)
    try:
        for line in load_sample_plans(engine, root or project_root() / "sample_data"):
            click.echo(line, err=True)
    finally:
        engine.dispose()
    if settings.certificates.key_file is None:
        click.echo(demo_signing_key(settings.certificates.demo_dir), err=True)


def demo_signing_key(directory: Path) -> str:
    """Make the self-signed key that signs the demo's certificates, once; what was done, in plain words."""
    from gis_service.certificates.signing import ensure_demo_key

    _key, cert, made = ensure_demo_key(directory)
    what = "made a self-signed demo key" if made else "certificates are signed with the self-signed demo key"
    return (
        f"{what} ({cert}): it shows a certificate unchanged, not who issued it; set GIS_CERTIFICATES__KEY_FILE "
        "and GIS_CERTIFICATES__CERT_FILE for real certificates"
    )
