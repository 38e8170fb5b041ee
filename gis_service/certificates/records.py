"""Issued certificates: issue, get, list, revoke and re-render the records of ``planning.certificates``.

Issuing draws the parcel's content now (on the plan as it stood on a date, when one is asked), gives it the next
number, renders the PDF, signs it at the issue time and keeps the record: the content as exact JSON text, who and
when, the signed PDF's SHA-256 and the signer. The PDF is not kept: :func:`rerender` makes it again from the record,
byte for byte (the rendering and the signature are deterministic), and the SHA-256 proves it is the same.

Functions take a SQLAlchemy connection inside the caller's transaction and never commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.certificates.content import CertificateContent, certificate_content
from gis_service.certificates.document import Stamp, render_html, render_pdf
from gis_service.certificates.signing import SigningKey, sign_pdf, signing_time
from gis_service.errors import NotFound, PlanningError, ValidationError

__all__ = [
    "CertificateConflict",
    "CertificateRecord",
    "Issued",
    "SignerChanged",
    "get_certificate",
    "issue_certificate",
    "list_certificates",
    "preview",
    "rerender",
    "revoke_certificate",
]

Lang = Literal["vi", "en"]


class CertificateConflict(PlanningError):
    """The certificate's state does not allow this (revoked already; HTTP 409)."""

    status_code = 409
    code = "Conflict"


class SignerChanged(PlanningError):
    """The configured key is not the one that signed the certificate: it cannot be re-rendered byte for byte."""

    status_code = 409
    code = "SignerChanged"


@dataclass(frozen=True)
class CertificateRecord:
    """A certificate as kept: what it was made from, who issued it, its PDF's hash and signer, its revocation."""

    number: str
    parcel_id: int
    content_json: str
    content_sha256: str
    lang: Lang
    issued_at: datetime
    issued_by: str
    issuer_name: str
    verify_url: str
    pdf_sha256: str
    pdf_bytes: int
    signer_fingerprint: str
    signer_subject: str
    signer_demo: bool
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoked_reason: str | None = None

    @property
    def revoked(self) -> bool:
        """Whether the certificate was revoked."""
        return self.revoked_at is not None

    def content(self) -> CertificateContent:
        """The content as issued."""
        return CertificateContent.model_validate_json(self.content_json)

    def stamp(self) -> Stamp:
        """What the document prints besides the content: number, issue time, issuer, verification link."""
        return Stamp(
            number=self.number,
            issued_at=signing_time(self.issued_at),
            issued_by=self.issuer_name,
            verify_url=self.verify_url,
            lang=self.lang,
        )

    def summary(self) -> dict[str, Any]:
        """The record without its content, as JSON-ready values (lists, the verification page)."""
        return {
            "number": self.number,
            "parcel_id": self.parcel_id,
            "lang": self.lang,
            "issued_at": signing_time(self.issued_at).isoformat(),
            "issued_by": self.issuer_name,
            "verify_url": self.verify_url,
            "pdf_sha256": self.pdf_sha256,
            "pdf_bytes": self.pdf_bytes,
            "content_sha256": self.content_sha256,
            "signer": {
                "subject": self.signer_subject,
                "fingerprint": self.signer_fingerprint,
                "demo": self.signer_demo,
            },
            "revoked": None
            if self.revoked_at is None
            else {"at": self.revoked_at.isoformat(), "by": self.revoked_by, "reason": self.revoked_reason},
        }


@dataclass(frozen=True)
class Issued:
    """A certificate just issued: its record and the signed PDF."""

    record: CertificateRecord
    pdf: bytes


_SELECT = (
    "SELECT number, parcel_id, content::text AS content_json, content_sha256, lang, issued_at, issued_by, "
    "issuer_name, verify_url, pdf_sha256, pdf_bytes, signer_fingerprint, signer_subject, signer_demo, revoked_at, "
    "revoked_by, revoked_reason FROM planning.certificates "
)
_GET_SQL = sa.text(_SELECT + "WHERE number = :n")
_LIST_SQL = sa.text(
    _SELECT + "WHERE (CAST(:p AS bigint) IS NULL OR parcel_id = :p) ORDER BY serial DESC LIMIT :l OFFSET :o"
)


def _record(row: sa.Row[Any]) -> CertificateRecord:
    return CertificateRecord(**row._mapping)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _issuer_name(conn: Connection, user: str) -> str:
    """The issuer as the document names them: the user's full name when the service knows one."""
    found = conn.execute(
        sa.text("SELECT full_name FROM auth.users WHERE lower(name) = lower(:u)"), {"u": user}
    ).scalar()
    return str(found).strip() if found and str(found).strip() else user


def issue_certificate(
    conn: Connection,
    parcel_id: int,
    *,
    key: SigningKey,
    user: str,
    lang: Lang = "vi",
    base_url: str,
    prefix: str = "HUE",
    as_of: date | None = None,
) -> Issued:
    """Issue a numbered, signed certificate of a parcel's planning information, and keep its record.

    Parameters
    ----------
    conn
        A connection inside the caller's transaction: the number is taken and the record written in it.
    parcel_id
        The parcel.
    key
        The signing key.
    user
        Who issues it (a user name); the document prints the user's full name when known.
    lang
        The document's language.
    base_url
        The service's public URL: the document links to ``{base_url}/certificates/{number}/verify``.
    prefix
        First part of the number (``HUE-2026-000123``).
    as_of
        The plan as it stood on this date (the versions in force then); ``None``: the plan now.
    """
    if not user.strip():
        raise ValidationError("a certificate needs the name of who issues it")
    # NotFound for an unknown parcel, NoPlanInForce for a date before any plan: before a number is taken
    content = certificate_content(conn, parcel_id, as_of=as_of)
    serial, now = conn.execute(
        sa.text("SELECT nextval('planning.certificate_serial'), date_trunc('second', clock_timestamp())")
    ).one()
    issued_at = signing_time(now)
    number = f"{prefix}-{issued_at.year}-{serial:06d}"
    content_json = content.model_dump_json()
    record = CertificateRecord(
        number=number,
        parcel_id=parcel_id,
        content_json=content_json,
        content_sha256=_sha256(content_json.encode()),
        lang=lang,
        issued_at=issued_at,
        issued_by=user,
        issuer_name=_issuer_name(conn, user),
        verify_url=f"{base_url.rstrip('/')}/certificates/{number}/verify",
        pdf_sha256="",
        pdf_bytes=0,
        signer_fingerprint=key.fingerprint,
        signer_subject=key.subject,
        signer_demo=key.demo,
    )
    pdf = _signed_pdf(content, record, key)
    record = _with_pdf(record, pdf)
    conn.execute(
        sa.text(
            "INSERT INTO planning.certificates (number, serial, parcel_id, content, content_sha256, lang, issued_at, "
            "issued_by, issuer_name, verify_url, pdf_sha256, pdf_bytes, signer_fingerprint, signer_subject, "
            "signer_demo) VALUES (:number, :serial, :parcel_id, CAST(:content_json AS json), :content_sha256, :lang, "
            ":issued_at, :issued_by, :issuer_name, :verify_url, :pdf_sha256, :pdf_bytes, :signer_fingerprint, "
            ":signer_subject, :signer_demo)"
        ),
        {**_params(record), "serial": serial},
    )
    return Issued(record=record, pdf=pdf)


def _params(record: CertificateRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in record.__dataclass_fields__}


def _with_pdf(record: CertificateRecord, pdf: bytes) -> CertificateRecord:
    return replace(record, pdf_sha256=_sha256(pdf), pdf_bytes=len(pdf))


def _signed_pdf(content: CertificateContent, record: CertificateRecord, key: SigningKey) -> bytes:
    return sign_pdf(render_pdf(content, record.stamp()), key, number=record.number, at=record.issued_at)


def get_certificate(conn: Connection, number: str) -> CertificateRecord:
    """The record of a certificate; :class:`~gis_service.errors.NotFound` for a number never issued."""
    row = conn.execute(_GET_SQL, {"n": number.strip().upper()}).first()
    if row is None:
        raise NotFound(f"no certificate numbered {number!r} was ever issued: check the number on the document")
    return _record(row)


def list_certificates(
    conn: Connection, *, parcel_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[CertificateRecord]:
    """Issued certificates, the newest first; of one parcel when ``parcel_id`` is given."""
    rows = conn.execute(_LIST_SQL, {"p": parcel_id, "l": limit, "o": offset})
    return [_record(row) for row in rows]


def revoke_certificate(conn: Connection, number: str, *, user: str, reason: str) -> CertificateRecord:
    """Revoke a certificate, once: when, who and why are kept and shown by its verification."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("say why the certificate is revoked (reason)")
    record = get_certificate(conn, number)
    if record.revoked:
        raise CertificateConflict(f"certificate {record.number} was revoked already, on {record.revoked_at:%Y-%m-%d}")
    conn.execute(
        sa.text(
            "UPDATE planning.certificates SET revoked_at = now(), revoked_by = :u, revoked_reason = :r "
            "WHERE number = :n"
        ),
        {"u": user, "r": reason[:2000], "n": record.number},
    )
    return get_certificate(conn, record.number)


def rerender(record: CertificateRecord, key: SigningKey) -> bytes:
    """The certificate's signed PDF made again from its record: the same bytes as issued.

    Raises :class:`SignerChanged` when ``key`` is not the key that signed it (the operator changed keys since).
    """
    if key.fingerprint != record.signer_fingerprint:
        raise SignerChanged(
            f"certificate {record.number} was signed by another certificate ({record.signer_subject}) than the one "
            "configured now: its PDF cannot be made again byte for byte; its record still verifies"
        )
    return _signed_pdf(record.content(), record, key)


def record_html(record: CertificateRecord) -> str:
    """The certificate as an HTML page, from its record."""
    return render_html(record.content(), record.stamp())


def preview(
    conn: Connection, parcel_id: int, *, lang: Lang, fmt: Literal["pdf", "html"], as_of: date | None = None
) -> bytes | str:
    """An unnumbered, unsigned certificate of a parcel as it stands now (or on ``as_of``): anyone may ask for one."""
    content = certificate_content(conn, parcel_id, as_of=as_of)
    now = conn.execute(sa.text("SELECT date_trunc('second', clock_timestamp())")).scalar_one()
    stamp = Stamp(number=None, issued_at=signing_time(now), issued_by=None, verify_url=None, lang=lang)
    return render_pdf(content, stamp) if fmt == "pdf" else render_html(content, stamp)
