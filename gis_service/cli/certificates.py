"""``planning certificates``: issue, list, revoke, re-render and verify planning-information certificates.

``verify FILE`` prints the verdict the public page shows and exits 0 for a valid certificate, 2 when the file was
altered, 3 when the certificate was revoked and 4 when its number is unknown (1 stays for errors).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.engine import Engine

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url

if TYPE_CHECKING:
    from gis_service.certificates.verify import Verdict

__all__ = ["EXIT_CODES", "certificates"]

#: The exit status of ``verify`` for each verdict.
EXIT_CODES = {"valid": 0, "altered": 2, "revoked": 3, "unknown": 4}


def _engine(ctx: click.Context) -> Engine:
    return create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)


@click.group()
def certificates() -> None:
    """Planning-information certificates: issued, signed, kept, verified."""


@certificates.command("issue")
@click.option("--parcel", "parcel_id", type=click.IntRange(min=1), default=None, help="Id of the parcel.")
@click.option("--ward", default=None, help="Phường/xã, name or code (with --sheet and --parcel-no).")
@click.option("--sheet", "sheet_no", type=click.IntRange(min=0), default=None, help="Số tờ: map sheet number.")
@click.option("--parcel-no", type=click.IntRange(min=0), default=None, help="Số thửa: parcel number.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PDF file [NUMBER.pdf].")
@click.option("--user", default=None, help="Who issues it (a user name; its full name is printed) [login name].")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="The plan as it stood on this date.")
@click.pass_context
def issue(
    ctx: click.Context,
    parcel_id: int | None,
    ward: str | None,
    sheet_no: int | None,
    parcel_no: int | None,
    lang: str,
    out: Path | None,
    user: str | None,
    as_of: str | None,
) -> None:
    """Issue a numbered, signed certificate of a parcel; print its number, write its PDF.

    With --as-of, the certificate gives the plan versions in force on that date (today when it is later).
    """
    from gis_service.as_of import parse_as_of
    from gis_service.certificates.content import find_parcel
    from gis_service.certificates.records import issue_certificate
    from gis_service.certificates.signing import configured_key

    if (parcel_id is None) == (sheet_no is None or parcel_no is None):
        raise click.UsageError("give --parcel ID, or --sheet and --parcel-no (and --ward where numbers repeat)")
    day = None if as_of is None else parse_as_of(as_of, name="--as-of")
    settings = get_settings(ctx)
    key = configured_key(settings.certificates)
    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            if parcel_id is None:
                assert sheet_no is not None and parcel_no is not None
                parcel_id = find_parcel(conn, ward=ward, sheet_no=sheet_no, parcel_no=parcel_no)
            issued = issue_certificate(
                conn,
                parcel_id,
                key=key,
                user=user or getpass.getuser(),
                lang="en" if lang == "en" else "vi",
                base_url=settings.base_url(),
                prefix=settings.certificates.serial_prefix,
                as_of=day,
            )
    finally:
        engine.dispose()
    target = out or Path(f"{issued.record.number}.pdf")
    target.write_bytes(issued.pdf)
    if key.demo:
        say("signed with the self-signed demo key: the signature proves the file unchanged, not who issued it")
    dated = issued.record.content().as_of
    on = "" if dated is None else f" (the plan as of {dated.date})"
    say(f"issued {issued.record.number} for parcel {parcel_id}{on}, written to {target}")
    click.echo(issued.record.number)


@certificates.command("list")
@click.option("--parcel", "parcel_id", type=click.IntRange(min=1), default=None, help="Of one parcel only.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.pass_context
def list_command(ctx: click.Context, parcel_id: int | None, limit: int) -> None:
    """Issued certificates, the newest first: number, parcel, time, issuer, state."""
    from gis_service.certificates.records import list_certificates

    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            found = list_certificates(conn, parcel_id=parcel_id, limit=limit)
    finally:
        engine.dispose()
    if not found:
        say("no certificates issued yet" if parcel_id is None else f"no certificates issued for parcel {parcel_id}")
        return
    click.echo(f"{'number':<18} {'parcel':>8}  {'issued at':<25} {'lang':<4} {'issued by':<24} state")
    for r in found:
        s = r.summary()
        state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "valid"
        click.echo(f"{r.number:<18} {r.parcel_id:>8}  {s['issued_at']:<25} {r.lang:<4} {r.issuer_name:<24} {state}")


@certificates.command("revoke")
@click.argument("number")
@click.option("--reason", required=True, help="Why it is revoked (shown on its verification page).")
@click.option("--user", default=None, help="Who revokes it [login name].")
@click.pass_context
def revoke(ctx: click.Context, number: str, reason: str, user: str | None) -> None:
    """Revoke certificate NUMBER: its verification says so from now on, with the date and reason."""
    from gis_service.certificates.records import revoke_certificate

    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            record = revoke_certificate(conn, number, user=user or getpass.getuser(), reason=reason)
    finally:
        engine.dispose()
    say(f"revoked {record.number} ({record.revoked_reason})")


@certificates.command("pdf")
@click.argument("number")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PDF file [NUMBER.pdf].")
@click.pass_context
def pdf(ctx: click.Context, number: str, out: Path | None) -> None:
    """Write certificate NUMBER's PDF again from its record: the same bytes as issued."""
    import hashlib

    from gis_service.certificates.records import get_certificate, rerender
    from gis_service.certificates.signing import configured_key

    key = configured_key(get_settings(ctx).certificates)
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            record = get_certificate(conn, number)
    finally:
        engine.dispose()
    data = rerender(record, key)
    same = hashlib.sha256(data).hexdigest() == record.pdf_sha256
    target = out or Path(f"{record.number}.pdf")
    target.write_bytes(data)
    say(f"wrote {target}: " + ("the same bytes as issued" if same else "NOT the bytes issued (SHA-256 differs)"))
    if not same:
        sys.exit(EXIT_CODES["altered"])


@certificates.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--number", default=None, help="The certificate's number, when the file does not name it.")
@click.option("--json", "as_json", is_flag=True, help="The verdict as JSON (the page's ?f=json).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Of the changes.")
@click.pass_context
def verify(ctx: click.Context, file: Path, number: str | None, as_json: bool, lang: str) -> None:
    """Check FILE against the certificate it names: issued as is? revoked? plan changed since?

    Exit status: 0 valid, 2 altered, 3 revoked, 4 unknown number.
    """
    from gis_service.certificates.signing import number_in_pdf
    from gis_service.certificates.verify import Verdict, verify_certificate

    data = file.read_bytes()
    number = number or number_in_pdf(data)
    if number is None:
        verdict = Verdict(
            number="",
            status="unknown",
            message_vi=f"Tệp {file.name} không ghi số phiếu nào: hãy dùng --number.",
            message_en=f"{file.name} names no certificate number: give it with --number.",
        )
    else:
        engine = _engine(ctx)
        try:
            with engine.connect() as conn:
                verdict = verify_certificate(conn, number, key=None, pdf=data, lang=lang)
        finally:
            engine.dispose()
    if as_json:
        click.echo(json.dumps(verdict.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        _print_verdict(verdict)
    sys.exit(EXIT_CODES[verdict.status])


def _print_verdict(verdict: Verdict) -> None:
    click.echo(f"{verdict.number or '?'}: {verdict.status.upper()}")
    click.echo(verdict.message_vi)
    click.echo(verdict.message_en)
    if verdict.demo_key:
        click.echo("(self-signed demo key: the signature proves the file unchanged, not who issued it)")
    if verdict.file is not None:
        f = verdict.file
        click.echo(
            f"file SHA-256 {f.sha256}: issued file {'yes' if f.matches_record else 'NO'}, "
            f"signature {'valid' if f.signature_valid else 'NOT valid'}"
        )
        if f.problem:
            click.echo(f"problem: {f.problem}")
    if verdict.plan is not None:
        click.echo("plan changed since issue:" if verdict.plan.changed else "plan unchanged since issue")
        for change in verdict.plan.changes:
            click.echo(f"  - {change}")
