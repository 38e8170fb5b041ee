"""Is this a certificate as issued? The verdict on a number, or on a PDF someone holds, and what changed since.

For a number the record answers: unknown (never issued), revoked (when, who, why), else issued. With a PDF, the file
must be the issued one: its SHA-256 equal to the record's, and its signature intact, covering the whole file and made
by the certificate that signed the record. A PDF with any byte changed is *altered*, whatever the signature says
(CMS leaves a few bytes unsigned; the hash leaves none). Without a PDF, the record's content is checked against its
hash, and the PDF made again from it, which gives the issued hash again as long as the software that made it is
the same (a later version may lay the bytes out otherwise: the verdict says so, and stays valid).

Whether the plan changed for the parcel since issue: its content is drawn again now and its pinned plan rows
(table, id, row version) compared with those issued; the differences are told in words
(:func:`~gis_service.certificates.changes.changes_between`). A certificate of the plan on a date is compared with
the plan in force today too (what a holder wants to know is whether it still holds), and the verdict names that
date (``as_of``).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from gis_service.certificates.changes import changes_between
from gis_service.certificates.content import CertificateContent, certificate_content
from gis_service.certificates.records import CertificateRecord, get_certificate, rerender
from gis_service.certificates.sections import long_date
from gis_service.certificates.signing import SigningKey, validate_pdf
from gis_service.errors import NotFound

__all__ = ["FileCheck", "PlanSince", "Verdict", "verify_certificate"]

Status = Literal["valid", "altered", "revoked", "unknown"]


class FileCheck(BaseModel):
    """What the PDF checked shows: the issued file, or not, and why."""

    sha256: str = Field(description="SHA-256 of the file checked")
    matches_record: bool = Field(description="The file is byte for byte the one issued")
    signature_valid: bool = Field(description="Intact, covering the whole file, by the certificate that signed it")
    signer_subject: str | None = None
    problem: str | None = Field(default=None, description="Why the signature does not hold, in plain words")


class PlanSince(BaseModel):
    """Whether the plan changed for the parcel since the certificate was issued."""

    changed: bool
    changes: list[str] = Field(description="What changed, in plain words")


class Verdict(BaseModel):
    """The answer of ``/certificates/{number}/verify`` and ``planning certificates verify``."""

    number: str
    status: Status = Field(description="valid, altered (the file differs from the issued one), revoked or unknown")
    message_vi: str
    message_en: str
    certificate: dict[str, object] | None = Field(
        default=None, description="The record as issued: parcel, time, issuer, hashes, signer, revocation"
    )
    parcel: dict[str, object] | None = Field(
        default=None, description="The parcel as the certificate names it: id, ward, sheet_no, parcel_no, address"
    )
    content_intact: bool | None = Field(default=None, description="The kept content matches its hash")
    reproduced: bool | None = Field(
        default=None,
        description="The PDF made again from the record has the issued SHA-256 (false: the software changed since; "
        "null: not tried, another key signed it)",
    )
    as_of: str | None = Field(
        default=None,
        description="The date the certificate gives the plan as of (YYYY-MM-DD); null: the plan at issue",
    )
    file: FileCheck | None = None
    plan: PlanSince | None = Field(
        default=None, description="Whether the plan in force today differs from the one the certificate gives"
    )
    demo_key: bool = Field(default=False, description="Signed with the self-signed demo key")


def verify_certificate(
    conn: Connection, number: str, *, key: SigningKey | None, pdf: bytes | None = None, lang: str = "vi"
) -> Verdict:
    """The verdict on certificate ``number``, and on ``pdf`` when one is given (see the module doc).

    Parameters
    ----------
    conn
        A connection (only read).
    number
        The number printed on the certificate.
    key
        The configured signing key, to re-render the PDF from the record; ``None`` skips that step.
    pdf
        The file someone holds, to be checked against the record.
    lang
        Language of the changes listed.
    """
    try:
        record = get_certificate(conn, number)
    except NotFound:
        return _unknown(number)
    verdict = Verdict(
        number=record.number,
        status="valid",
        message_vi="",
        message_en="",
        certificate=record.summary(),
        content_intact=hashlib.sha256(record.content_json.encode()).hexdigest() == record.content_sha256,
        demo_key=record.signer_demo,
    )
    if verdict.content_intact:  # a record changed behind the service's back is not read further
        content = record.content()
        verdict.as_of = None if content.as_of is None else content.as_of.date
        p = content.parcel
        verdict.parcel = {
            "id": p.id,
            "ward": p.ward,
            "sheet_no": p.sheet_no,
            "parcel_no": p.parcel_no,
            "address": p.address,
        }
        if key is not None and pdf is None and key.fingerprint == record.signer_fingerprint:
            verdict.reproduced = _reproduces(record, key)
        verdict.plan = _plan_since(conn, record, lang)
    if pdf is not None:
        verdict.file = _file_check(record, pdf)
    verdict.status = _status(record, verdict)
    verdict.message_vi, verdict.message_en = _messages(record, verdict)
    return verdict


@functools.lru_cache(maxsize=256)  # records of some 20 kB: a few MB at most
def _reproduces(record: CertificateRecord, key: SigningKey) -> bool:
    """Whether the PDF made again from the record has the issued hash. Kept: the answer is a function of the record
    and the key alone, and making the PDF costs a few hundred milliseconds that a public page should not repeat."""
    return hashlib.sha256(rerender(record, key)).hexdigest() == record.pdf_sha256


def _unknown(number: str) -> Verdict:
    return Verdict(
        number=number,
        status="unknown",
        message_vi=f"Không có phiếu nào mang số {number}: hãy kiểm tra lại số in trên văn bản.",
        message_en=f"No certificate numbered {number} was ever issued: check the number printed on the document.",
    )


def _file_check(record: CertificateRecord, pdf: bytes) -> FileCheck:
    check = validate_pdf(pdf, fingerprints={record.signer_fingerprint})
    digest = hashlib.sha256(pdf).hexdigest()
    problem = check.problem
    if check.number is not None and check.number != record.number:
        problem = f"the file names certificate {check.number}, not {record.number}"
    return FileCheck(
        sha256=digest,
        matches_record=digest == record.pdf_sha256,
        signature_valid=check.valid,
        signer_subject=check.signer_subject,
        problem=problem,
    )


def _plan_since(conn: Connection, record: CertificateRecord, lang: str) -> PlanSince:
    issued = record.content()
    try:
        now: CertificateContent | None = certificate_content(conn, record.parcel_id)
    except NotFound:
        now = None
    if now is None:
        gone = (
            "Thửa đất không còn trong cơ sở dữ liệu (đã tách, hợp hoặc xoá)."
            if lang == "vi"
            else "The parcel is no longer in the database (split, merged or deleted)."
        )
        return PlanSince(changed=True, changes=[gone])
    pins = {(p.table, p.id, p.row_version) for p in issued.pins}
    if pins == {(p.table, p.id, p.row_version) for p in now.pins}:
        return PlanSince(changed=False, changes=[])
    changes = changes_between(issued, now, lang)
    if not changes:
        changes = [
            "Các bản ghi quy hoạch đã được sửa, nhưng không thay đổi điều phiếu nêu."
            if lang == "vi"
            else "Plan rows were edited since, without changing what the certificate says."
        ]
    return PlanSince(changed=True, changes=changes)


def _status(record: CertificateRecord, verdict: Verdict) -> Status:
    if record.revoked:
        return "revoked"
    if verdict.file is not None and not (verdict.file.matches_record and verdict.file.signature_valid):
        return "altered"
    if verdict.content_intact is False:
        return "altered"
    return "valid"


def _messages(record: CertificateRecord, verdict: Verdict) -> tuple[str, str]:
    n = record.number
    if verdict.status == "revoked":
        assert record.revoked_at is not None
        day = f"{record.revoked_at:%d/%m/%Y}"
        return (
            f"Phiếu {n} đã bị thu hồi ngày {day}. Lý do: {record.revoked_reason}",
            f"Certificate {n} was revoked on {record.revoked_at:%Y-%m-%d}. Reason: {record.revoked_reason}",
        )
    if verdict.status == "altered":
        if verdict.file is not None and not (verdict.file.matches_record and verdict.file.signature_valid):
            return (
                f"Tệp PDF này KHÔNG phải phiếu {n} như đã cấp: nội dung đã bị thay đổi.",
                f"This PDF is NOT certificate {n} as issued: it was altered.",
            )
        return (
            f"Hồ sơ lưu của phiếu {n} không khớp với mã băm khi cấp: hãy báo cho cơ quan cấp.",
            f"The kept record of certificate {n} does not match its hash at issue: tell the issuing office.",
        )
    same_file = verdict.file is not None
    vi = f"Phiếu {n} hợp lệ" + (": tệp PDF đúng là bản đã cấp." if same_file else ".")
    en = f"Certificate {n} is valid" + (": this PDF is the one issued." if same_file else ".")
    if verdict.reproduced is False:
        vi += (
            " Phần mềm đã thay đổi từ ngày cấp: PDF tạo lại không còn giống hệt bản đã cấp; tệp bạn giữ được đối"
            " chiếu với mã băm lúc cấp."
        )
        en += (
            " The software changed since issue: the PDF made again is no longer identical to the one issued; a file"
            " you hold is checked against the hash at issue."
        )
    if verdict.as_of is not None:
        vi += f" Phiếu nêu thông tin quy hoạch tại ngày {long_date(verdict.as_of, 'vi')}."
        en += f" It gives the planning information as of {long_date(verdict.as_of, 'en')}."
    if verdict.plan is not None and verdict.plan.changed:
        if verdict.as_of is None:
            vi += " Quy hoạch của thửa đất đã thay đổi kể từ ngày cấp."
            en += " The plan for the parcel has changed since it was issued."
        else:
            vi += " Quy hoạch đang có hiệu lực của thửa đất khác với quy hoạch tại ngày đó."
            en += " The plan in force for the parcel today differs from the plan as of that date."
    return vi, en
