"""Routes of public consultation (lấy ý kiến cộng đồng): open and close a draft's consultation, comment on it,
moderate the comments, and export the consultation report. Each route: dependencies → one service call → answer.

Anyone may read the consultations and the visible comments, and comment while a consultation is open, without
logging in; the author's contact, hidden comments and who opened a consultation are for planners (and admins).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gis_service.api.auth import _client_addr
from gis_service.api.deps import CurrentUser, EngineDep, Planner, in_thread, in_transaction, oauth2_scheme
from gis_service.auth import Role, User
from gis_service.consultation.comments import (
    MAX_BODY,
    MAX_CONTACT,
    MAX_NAME,
    CommentLimits,
    NewComment,
    add_comment,
    comments_of,
    moderate_comment,
)
from gis_service.consultation.periods import (
    Consultation,
    close_consultation,
    get_consultation,
    list_consultations,
    open_consultation,
)
from gis_service.consultation.report import FORMATS, consultation_report, report_xlsx
from gis_service.consultation.report_pdf import report_pdf
from gis_service.settings import LimitSettings

__all__ = ["CONSULTATION_TAG", "consultation_router"]

CONSULTATION_TAG = "Public consultation (lấy ý kiến cộng đồng)"

ConsultationId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the consultation")]
CommentId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the comment")]
Id = Annotated[int, Field(gt=0, lt=2**63)]


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


#: Text counted in letters as the reader sees them: decomposed Vietnamese (a letter, then its marks) is composed first.
Text = Annotated[str, BeforeValidator(_nfc)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewConsultation(_Body):
    """The body of ``POST /plans/{code}/consultations``: the period (dates in Huế, both included) and why."""

    starts_on: date = Field(examples=["2026-12-07"])
    ends_on: date = Field(examples=["2027-01-06"])
    explanation: str = Field(
        min_length=1, max_length=20000, description="Thuyết minh: what the draft changes and why, in Vietnamese"
    )
    version: int | None = Field(default=None, ge=1, lt=2**31, description="The draft version [the latest draft]")


class CommentBody(_Body):
    """The body of ``POST /consultations/{id}/comments``: a comment on the draft, a zone, a point or a parcel."""

    target: Literal["plan", "zone", "point", "parcel"]
    zone_id: Id | None = Field(default=None, description="A zone of the draft under consultation (target zone)")
    parcel_id: Id | None = Field(default=None, description="The parcel commented on (target parcel)")
    point: tuple[float, float] | None = Field(
        default=None, description="[longitude, latitude] in CRS84 degrees, in the province (target point)"
    )
    author_name: Text = Field(min_length=1, max_length=MAX_NAME, examples=["Nguyễn Văn An"])
    contact: str = Field(
        min_length=1,
        max_length=MAX_CONTACT,
        description="E-mail or phone, shown to planners only",
        examples=["an@example.vn"],
    )
    body: Text = Field(min_length=1, max_length=MAX_BODY, description="The comment, plain text (never markup)")


class ModerationBody(_Body):
    """The body of ``PATCH /comments/{id}``: only the fields sent change."""

    hidden_reason: str | None = Field(
        default=None, max_length=2000, description="Hide the comment for this reason; null: show it again"
    )
    answer: str | None = Field(default=None, max_length=20000, description="The planners' answer; null: remove it")
    outcome: Literal["pending", "accepted", "changed", "not_accepted"] | None = None
    outcome_version: int | None = Field(default=None, ge=1, lt=2**31, description="The version that takes it in")
    outcome_reason: str | None = Field(default=None, max_length=20000, description="Why (needed for not_accepted)")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsultedVersion(_Answer):
    """The draft version under consultation."""

    id: int
    code: str
    version: int
    name: str


class ConsultationAnswer(_Answer):
    """A consultation period of a draft (``opened_by`` for planners only)."""

    id: int
    plan: ConsultedVersion
    starts_on: str = Field(description="First day, YYYY-MM-DD (Huế)")
    ends_on: str = Field(description="Last day, YYYY-MM-DD (Huế)")
    status: Literal["scheduled", "open", "closed"]
    explanation: str
    opened_by: str | None = None
    opened_at: str
    closed_at: str | None


class ConsultationList(_Answer):
    """Consultations, newest first."""

    consultations: list[ConsultationAnswer]


class CommentAnswer(_Answer):
    """A comment; the fields from ``contact`` on are for planners only (the public never sees hidden comments)."""

    id: int
    consultation_id: int
    target: Literal["plan", "zone", "point", "parcel"]
    zone_id: int | None
    parcel_id: int | None
    point: list[float] | None = Field(description="[longitude, latitude], CRS84")
    author_name: str
    body: str = Field(description="Plain text as written: escape it where it is shown")
    created_at: str
    answer: str | None
    answered_at: str | None
    outcome: Literal["pending", "accepted", "changed", "not_accepted"]
    outcome_version: int | None
    outcome_reason: str | None
    contact: str | None = None
    hidden: bool | None = None
    hidden_at: str | None = None
    hidden_by: str | None = None
    hidden_reason: str | None = None
    answered_by: str | None = None
    outcome_by: str | None = None
    outcome_at: str | None = None


class CommentList(_Answer):
    """The comments of a consultation, oldest first."""

    comments: list[CommentAnswer]


def _is_planner(user: User | None) -> bool:
    return user is not None and user.has_role(Role.PLANNER)


def _consultation(c: Consultation, user: User | None) -> dict[str, Any]:
    out = c.as_dict()
    if not _is_planner(user):
        out.pop("opened_by")
    return out


def consultation_router(limits: LimitSettings | None = None) -> APIRouter:
    """The consultation routes: periods, comments, moderation, the report.

    Parameters
    ----------
    limits
        How many comments one client address may post in 10 minutes and in a day [the settings' defaults].
    """
    router = APIRouter(tags=[CONSULTATION_TAG], dependencies=[Depends(oauth2_scheme)])
    conf = limits or LimitSettings()
    comment_limits = CommentLimits(per_window=conf.comments_per_10_min, window_s=600, per_day=conf.comments_per_day)

    @router.post(
        "/plans/{code}/consultations",
        summary="Open a draft for public consultation for a period (planners)",
        status_code=201,
        responses={201: {"model": ConsultationAnswer}},
    )
    async def open_(
        engine: EngineDep, code: Annotated[str, Path(max_length=20)], body: NewConsultation, user: Planner
    ) -> JSONResponse:
        c = await in_transaction(
            engine,
            lambda conn: open_consultation(
                conn,
                code,
                starts_on=body.starts_on,
                ends_on=body.ends_on,
                explanation=body.explanation,
                user=user.name,
                version=body.version,
            ),
        )
        return JSONResponse(_consultation(c, user), status_code=201, headers={"Location": f"/consultations/{c.id}"})

    @router.get(
        "/consultations",
        summary="Consultations of drafts (anyone), newest first",
        responses={200: {"model": ConsultationList}},
    )
    async def list_(
        engine: EngineDep,
        user: CurrentUser,
        status: Annotated[Literal["open", "scheduled", "closed"] | None, Query(description="Only these")] = None,
        code: Annotated[str | None, Query(max_length=20, description="Only those of this plan")] = None,
    ) -> JSONResponse:
        found = await in_transaction(engine, lambda conn: list_consultations(conn, code=code))
        chosen = [c for c in found if status is None or c.status() == status]
        return JSONResponse({"consultations": [_consultation(c, user) for c in chosen]})

    @router.get(
        "/consultations/{consultation_id}",
        summary="One consultation (anyone)",
        responses={200: {"model": ConsultationAnswer}},
    )
    async def one(engine: EngineDep, user: CurrentUser, consultation_id: ConsultationId) -> JSONResponse:
        c = await in_transaction(engine, lambda conn: get_consultation(conn, consultation_id))
        return JSONResponse(_consultation(c, user))

    @router.post(
        "/consultations/{consultation_id}/close",
        summary="End a consultation now (planners)",
        responses={200: {"model": ConsultationAnswer}},
    )
    async def close(engine: EngineDep, consultation_id: ConsultationId, user: Planner) -> JSONResponse:
        c = await in_transaction(engine, lambda conn: close_consultation(conn, consultation_id, user=user.name))
        return JSONResponse(_consultation(c, user))

    @router.post(
        "/consultations/{consultation_id}/comments",
        summary="Comment on a draft under consultation (anyone, no login; limited per address)",
        status_code=201,
        responses={201: {"model": CommentAnswer}},
    )
    async def comment(
        request: Request, engine: EngineDep, consultation_id: ConsultationId, body: CommentBody
    ) -> JSONResponse:
        """While the consultation is open. The contact is kept for planners; the answer is the comment as the public
        sees it. Too many comments from one address: 429 with ``Retry-After``."""
        new = NewComment(
            target=body.target,
            author_name=body.author_name,
            contact=body.contact,
            body=body.body,
            zone_id=body.zone_id,
            parcel_id=body.parcel_id,
            point=body.point,
        )
        addr = _client_addr(request)  # the socket's address: a header would let anyone pick their own limit
        made = await in_transaction(
            engine, lambda conn: add_comment(conn, consultation_id, new, client_addr=addr, limits=comment_limits)
        )
        return JSONResponse(made, status_code=201, headers={"Cache-Control": "no-store"})

    @router.get(
        "/consultations/{consultation_id}/comments",
        summary="The comments of a consultation (anyone: the visible ones; planners: all, with contacts)",
        responses={200: {"model": CommentList}},
    )
    async def comments(engine: EngineDep, user: CurrentUser, consultation_id: ConsultationId) -> JSONResponse:
        staff = _is_planner(user)

        def read(conn: Any) -> list[dict[str, Any]]:
            get_consultation(conn, consultation_id)  # 404 for no such consultation
            return comments_of(conn, [consultation_id], staff=staff)

        found = await in_transaction(engine, read)
        # contacts are never stored by a cache; the public's copy is checked again, so a hidden comment goes at once
        headers = {"Cache-Control": "no-store" if staff else "no-cache"}
        return JSONResponse({"comments": found}, headers=headers)

    @router.patch(
        "/comments/{comment_id}",
        summary="Moderate a comment: hide or show, answer, record the outcome (planners)",
        responses={200: {"model": CommentAnswer}},
    )
    async def moderate(engine: EngineDep, comment_id: CommentId, body: ModerationBody, user: Planner) -> JSONResponse:
        """Send only what changes: ``hidden_reason`` (null shows the comment again), ``answer``, ``outcome``
        (``changed`` needs ``outcome_version``, ``not_accepted`` needs ``outcome_reason``)."""
        changes = body.model_dump(include=body.model_fields_set)
        made = await in_transaction(engine, lambda conn: moderate_comment(conn, comment_id, changes, user=user.name))
        return JSONResponse(made, headers={"Cache-Control": "no-store"})

    @router.get(
        "/plans/{code}/consultation-report",
        summary="The consultation report of a plan: comments, answers, outcomes (planners; xlsx or PDF)",
        response_class=Response,
        responses={200: {"content": {media: {} for media in FORMATS.values()}}},
    )
    async def report(
        engine: EngineDep,
        code: Annotated[str, Path(max_length=20)],
        _user: Planner,
        format: Annotated[Literal["xlsx", "pdf"], Query(description="Spreadsheet or PDF")] = "xlsx",
    ) -> Response:
        """Every consultation of the plan and every comment, hidden ones marked with the reason, for the dossier."""
        gathered = await in_transaction(engine, lambda conn: consultation_report(conn, code))
        content = await in_thread(report_xlsx if format == "xlsx" else report_pdf, gathered)
        name = f"consultation-report-{re.sub(r'[^A-Za-z0-9_-]', '_', code)}.{format}"
        return Response(
            content,
            media_type=FORMATS[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    return router
