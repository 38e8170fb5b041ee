"""REST routes of the planning-information certificates. Each route: dependencies → one service call → response.

Anyone may ask for a preview (unnumbered, unsigned, marked as such), read an issued certificate by its number and
verify one; issuing a numbered, signed certificate and revoking one are for permit officers (and administrators).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.engine import Connection, Engine

from gis_service.api.deps import EngineDep, Officer, in_thread, in_transaction, read_engine, require_role
from gis_service.as_of import parse_as_of
from gis_service.auth import Role
from gis_service.certificates import records
from gis_service.certificates.content import find_parcel
from gis_service.certificates.signing import SigningKey, configured_key
from gis_service.certificates.verify import Verdict, verify_certificate
from gis_service.certificates.verify_page import verify_html
from gis_service.errors import ConfigError, PlanningError, ValidationError
from gis_service.settings import Settings

__all__ = ["CertificateRequest", "KeyMissing", "Revocation", "certificates_router", "signing_key"]

Number = Annotated[str, Path(min_length=1, max_length=40, description="The certificate's number, e.g. HUE-2026-000123")]
Lang = Literal["vi", "en"]
PDF = "application/pdf"


class CertificateRequest(BaseModel):
    """The body of ``POST /certificates``: which parcel, in which language and format, and whether to issue."""

    model_config = ConfigDict(extra="forbid")
    parcel_id: int | None = Field(default=None, gt=0, lt=2**63, description="Id of the parcel")
    ward: str | None = Field(default=None, min_length=1, max_length=100, description="Phường/xã: name or code")
    sheet_no: int | None = Field(default=None, ge=0, lt=2**31, description="Số tờ: map sheet number")
    parcel_no: int | None = Field(default=None, ge=0, lt=2**31, description="Số thửa: parcel number")
    lang: Lang = "vi"
    format: Literal["pdf", "html"] = "pdf"
    issue: bool = Field(
        default=False, description="Issue a numbered, signed certificate (permit officers); else a preview"
    )
    as_of: date | None = Field(
        default=None,
        description="The plan as it stood on this date, YYYY-MM-DD (the versions in force that day; a later date "
        "answers for today); absent: the plan now. A date before any plan was in force is a 404",
        examples=["2024-07-01"],
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> date | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("as_of must be a date written YYYY-MM-DD (e.g. 2024-07-01)")
        return parse_as_of(value)

    @model_validator(mode="after")
    def _one_parcel(self) -> CertificateRequest:
        by_number = self.sheet_no is not None or self.parcel_no is not None
        if self.parcel_id is None and not (self.sheet_no is not None and self.parcel_no is not None):
            raise ValueError("give parcel_id, or sheet_no and parcel_no (and ward where numbers repeat)")
        if self.parcel_id is not None and (by_number or self.ward is not None):
            raise ValueError("give parcel_id or ward/sheet_no/parcel_no, not both")
        return self


class Revocation(BaseModel):
    """The body of ``POST /certificates/{number}/revoke``."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why the certificate is revoked (shown to all)")


EXAMPLE = {"sheet_no": 12, "parcel_no": 345, "lang": "vi", "format": "pdf", "issue": False}
_KEY_LOCK = threading.Lock()


class KeyMissing(PlanningError):
    """No signing key is configured: certificates cannot be issued or re-rendered (HTTP 503)."""

    status_code = 503
    code = "ServiceUnavailable"


#: The answer of a route that signs when the service has no signing key.
NO_KEY: dict[int | str, dict[str, Any]] = {
    503: {"description": "No signing key is configured (GIS_CERTIFICATES__KEY_FILE, __CERT_FILE)"}
}


def signing_key(request: Request, *, required: bool = True) -> SigningKey | None:
    """The app's signing key, loaded once (:func:`~gis_service.certificates.signing.configured_key`).

    Without one configured: a 503 naming the settings when ``required``, else ``None``.
    """
    state = request.app.state
    with _KEY_LOCK:
        if getattr(state, "signing_key", None) is None:
            settings: Settings = state.settings
            try:
                state.signing_key = configured_key(settings.certificates)
            except ConfigError as exc:
                if not required:
                    return None
                raise KeyMissing(exc.message) from None
    key: SigningKey = state.signing_key
    return key


def _parcel(conn: Connection, body: CertificateRequest) -> int:
    if body.parcel_id is not None:
        return body.parcel_id
    assert body.sheet_no is not None and body.parcel_no is not None
    return find_parcel(conn, ward=body.ward, sheet_no=body.sheet_no, parcel_no=body.parcel_no)


def _document(data: bytes | str, *, name: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(data, str):
        return HTMLResponse(data, status_code=status, headers=headers)
    disposition = {"Content-Disposition": f'inline; filename="{name}.pdf"'}
    return Response(data, status_code=status, media_type=PDF, headers={**disposition, **(headers or {})})


def certificates_router() -> APIRouter:
    """The ``/certificates`` routes: previews and issuing, reading, verifying, revoking, listing."""
    router = APIRouter(prefix="/certificates", tags=["Planning information certificates (phiếu thông tin quy hoạch)"])
    _issue_routes(router)
    _read_routes(router)
    _verify_routes(router)
    return router


def _issue_routes(router: APIRouter) -> None:
    @router.post(
        "",
        summary="A parcel's planning-information certificate: a preview (anyone) or issued and signed (officers)",
        response_class=Response,
        responses={
            200: {"content": {PDF: {}, "text/html": {}}, "description": "A preview: unnumbered and unsigned"},
            201: {"content": {PDF: {}, "text/html": {}}, "description": "Issued: numbered and signed"},
            **NO_KEY,
        },
    )
    async def certificate(
        request: Request, engine: EngineDep, body: Annotated[CertificateRequest, Body(examples=[EXAMPLE])]
    ) -> Response:
        """A preview is marked as such and carries no number. ``issue: true`` takes the next number, signs the PDF
        (PAdES) and keeps the record; the answer's ``Location`` is the certificate, ``X-Certificate-Number`` its
        number."""
        if not body.issue:
            return await in_thread(_preview, engine, body)
        user = await in_thread(require_role(Role.PERMIT_OFFICER), request)  # a token is read from the database
        key = await in_thread(signing_key, request)  # loaded from its files the first time
        assert key is not None
        settings: Settings = request.app.state.settings

        def issue(conn: Connection) -> records.Issued:
            return records.issue_certificate(
                conn,
                _parcel(conn, body),
                key=key,
                user=user.name,
                lang=body.lang,
                base_url=settings.base_url(),
                prefix=settings.certificates.serial_prefix,
                as_of=body.as_of,
            )

        issued = await in_transaction(engine, issue)
        number = issued.record.number
        headers = {"Location": f"/certificates/{number}", "X-Certificate-Number": number}
        data: bytes | str = issued.pdf if body.format == "pdf" else records.record_html(issued.record)
        return _document(data, name=number, status=201, headers=headers)


def _preview(engine: Engine, body: CertificateRequest) -> Response:
    with engine.connect() as conn:
        data = records.preview(conn, _parcel(conn, body), lang=body.lang, fmt=body.format, as_of=body.as_of)
    return _document(data, name="preview", headers={"X-Certificate-Preview": "true", "Cache-Control": "no-store"})


def _read_routes(router: APIRouter) -> None:
    @router.get("", summary="Issued certificates, the newest first (permit officers)")
    def listing(
        engine: EngineDep,
        _user: Officer,
        parcel_id: Annotated[int | None, Query(gt=0, lt=2**63, description="Of one parcel only")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    ) -> dict[str, Any]:
        with engine.connect() as conn:
            found = records.list_certificates(conn, parcel_id=parcel_id, limit=limit, offset=offset)
        return {"certificates": [r.summary() for r in found]}

    @router.get(
        "/{number}",
        summary="An issued certificate as it was issued: the same PDF, byte for byte, or its HTML page",
        description="The PDF is made again from the record; `X-Same-As-Issued: false` when the software changed "
        "since issue and its bytes are no longer those issued (the record still verifies the file issued).",
        response_class=Response,
        responses={200: {"content": {PDF: {}, "text/html": {}}}, **NO_KEY},
    )
    async def issued(
        request: Request,
        engine: EngineDep,
        number: Number,
        f: Annotated[Literal["pdf", "html"], Query(description="pdf (default) or html")] = "pdf",
    ) -> Response:
        def render() -> Response:
            with engine.connect() as conn:
                record = records.get_certificate(conn, number)
            if f == "html":
                return _document(records.record_html(record), name=record.number)
            key = signing_key(request)
            assert key is not None
            pdf = records.rerender(record, key)
            same = hashlib.sha256(pdf).hexdigest() == record.pdf_sha256
            # made again from the record: the issued bytes, unless the software changed since (then said here)
            return _document(pdf, name=record.number, headers={"X-Same-As-Issued": "true" if same else "false"})

        return await in_thread(render)

    @router.post("/{number}/revoke", summary="Revoke an issued certificate, with the reason (permit officers)")
    def revoke(engine: EngineDep, number: Number, body: Revocation, user: Officer) -> dict[str, Any]:
        with engine.begin() as conn:
            return records.revoke_certificate(conn, number, user=user.name, reason=body.reason).summary()


def _verdict_answer(verdict: Verdict, f: str) -> Response:
    status = 404 if verdict.status == "unknown" else 200
    headers = {"Cache-Control": "no-store"}
    if f == "json":
        return JSONResponse(verdict.model_dump(mode="json"), status_code=status, headers=headers)
    return HTMLResponse(verify_html(verdict), status_code=status, headers=headers)


VerifyFormat = Annotated[Literal["html", "json"], Query(description="html (the page) or json")]


def _verify_routes(router: APIRouter) -> None:
    @router.get(
        "/{number}/verify",
        summary="Verify a certificate by its number: as issued? revoked? has the plan changed since? (anyone)",
        response_class=Response,
        responses={
            200: {"model": Verdict, "content": {"text/html": {}}},
            404: {"model": Verdict, "description": "No certificate has this number", "content": {"text/html": {}}},
        },
    )
    async def verify(request: Request, number: Number, f: VerifyFormat = "html") -> Response:
        """The page is in Vietnamese with English beneath; ``?f=json`` gives the same verdict as data."""
        engine = read_engine(request)  # a replica for an anonymous check

        def work() -> Verdict:
            key = signing_key(request, required=False)
            with engine.connect() as conn:
                return verify_certificate(conn, number, key=key)

        return _verdict_answer(await in_thread(work), f)

    @router.post(
        "/{number}/verify",
        summary="Verify a PDF you hold against the certificate issued under its number (anyone)",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    PDF: {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    },
                },
            }
        },
        responses={
            200: {"model": Verdict, "content": {"text/html": {}}},
            404: {"model": Verdict, "description": "No certificate has this number", "content": {"text/html": {}}},
        },
    )
    async def verify_file(request: Request, number: Number, f: VerifyFormat = "json") -> Response:
        """The PDF as the body (``application/pdf``) or as the field ``file`` of a form (``multipart/form-data``).
        Any byte changed makes the verdict ``altered``."""
        pdf = await _uploaded_pdf(request)
        engine = read_engine(request)

        def work() -> Verdict:
            with engine.connect() as conn:
                return verify_certificate(conn, number, key=None, pdf=pdf)

        return _verdict_answer(await in_thread(work), f)


async def _uploaded_pdf(request: Request) -> bytes:
    """The PDF of a verification request: the raw body, or the form's ``file`` field (400 when neither)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=5)
        except Exception:  # starlette's parser errors vary by version; any of them means a malformed form
            raise ValidationError("the form could not be read: send the PDF in the field 'file'") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationError("send the PDF in the form field 'file'")
        data = await upload.read()
    elif kind in (PDF, "application/octet-stream"):
        data = await request.body()
    else:
        raise ValidationError("send the PDF as application/pdf, or as the field 'file' of a multipart/form-data form")
    if not data:
        raise ValidationError("the PDF sent is empty")
    return data
