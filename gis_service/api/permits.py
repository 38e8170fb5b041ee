"""REST routes of the permit checks. Each route: dependencies → one service call → response.

Anyone may run an unrecorded pre-check (``POST /permits/check``, and its printable report); applications, recorded
checks, their re-runs, reports and decisions are for permit officers (and administrators).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from gis_service.auth import Role, User, require_role
from gis_service.permits import workflow
from gis_service.permits.check import check_async
from gis_service.permits.model import EXAMPLE, CheckRequest
from gis_service.permits.report import report_html, report_pdf
from gis_service.rules.answers import CheckAnswer
from gis_service.rules.tables import qcvn_tables

__all__ = ["install_permits", "permits_router"]

officer = require_role(Role.PERMIT_OFFICER)
Lang = Annotated[Literal["vi", "en"], Query(description="Language of the report: vi (default) or en")]


class NewApplication(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=100, description="Số hồ sơ (application reference)")
    applicant_name: str = Field(min_length=1, max_length=200, description="Tên người đề nghị (applicant's name)")
    notes: str | None = Field(default=None, max_length=2000)


class NewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject", "request_changes"]
    comment: str = Field(min_length=1, max_length=4000)
    check_id: int | None = Field(default=None, gt=0, description="The recorded check decided on (default: the latest)")


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _report(result: dict[str, Any], drawing: dict[str, Any], fmt: str, lang: str, context: dict[str, Any]) -> Response:
    name = f"permit-check-{context.get('check_id', 'precheck')}-{lang}"
    if fmt == "pdf":
        pdf = report_pdf(result, drawing, lang=lang, context=context)
        headers = {"Content-Disposition": f'inline; filename="{name}.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)
    return HTMLResponse(report_html(result, drawing, lang=lang, context=context))


def permits_router() -> APIRouter:
    router = APIRouter(prefix="/permits", tags=["Permit checks (kiểm tra cấp phép xây dựng)"])

    @router.get("/uses", summary="What a proposal's use may be: building-use categories and land-use codes")
    def uses() -> dict[str, Any]:
        tables = qcvn_tables()
        return {
            "categories": [
                {
                    "id": c.id,
                    "name_vi": c.name_vi,
                    "name_en": c.name_en,
                    "land_use_codes": list(c.land_use_codes),
                    "qcvn_density_table": c.density_table,
                    "housing_lot": c.housing_lot,
                }
                for c in tables.categories.values()
            ],
            "land_use_code_defaults": tables.default_category,
        }

    @router.post(
        "/check",
        summary="Pre-check a proposed building against the approved plan and QCVN 01:2021 (anyone)",
        responses={200: {"model": CheckAnswer, "description": "The check's answer (built as JSON, described here)"}},
    )
    async def precheck(request: Request, body: Annotated[CheckRequest, Body(examples=[EXAMPLE])]) -> JSONResponse:
        """Not recorded. Answer: verdict, failed and warning rule ids, rules (per zone), plan, lot, footprint."""
        async with request.app.state.read_pool.connection() as conn:
            result, _m = await check_async(conn, body, cache=request.app.state.site_cache)
        return JSONResponse(result)

    @router.post(
        "/check/report.{fmt}",
        summary="Printable report of a pre-check (HTML or PDF)",
        response_class=Response,
        responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
    )
    async def precheck_report(
        request: Request, fmt: Literal["html", "pdf"], body: CheckRequest, lang: Lang = "vi"
    ) -> Response:
        async with request.app.state.read_pool.connection() as conn:
            result, m = await check_async(conn, body, drawing=True)
        return await run_in_threadpool(_report, result, m["drawing"], fmt, lang, {})

    @router.post("/applications", status_code=201, summary="Open a permit application (officers)")
    def new_application(
        request: Request, body: NewApplication, user: Annotated[User, Depends(officer)]
    ) -> dict[str, Any]:
        with _engine(request).begin() as conn:
            return workflow.create_application(
                conn, reference=body.reference, applicant_name=body.applicant_name, notes=body.notes, user=user.name
            )

    @router.get("/applications/{application_id}", summary="An application: checks, decisions, history (officers)")
    def application(request: Request, application_id: int, _user: Annotated[User, Depends(officer)]) -> dict[str, Any]:
        with _engine(request).connect() as conn:
            return workflow.get_application(conn, application_id)

    @router.post(
        "/applications/{application_id}/checks",
        status_code=201,
        summary="Check a proposal for an application and record it with the plan version used (officers)",
    )
    def record_check(
        request: Request,
        application_id: int,
        body: Annotated[CheckRequest, Body(examples=[EXAMPLE])],
        user: Annotated[User, Depends(officer)],
    ) -> dict[str, Any]:
        with _engine(request).begin() as conn:
            return workflow.record_check(conn, application_id, body.model_dump(exclude_none=True), user=user.name)

    @router.get("/checks/{check_id}", summary="A recorded check as it was answered (officers)")
    def get_check(request: Request, check_id: int, _user: Annotated[User, Depends(officer)]) -> dict[str, Any]:
        with _engine(request).connect() as conn:
            return workflow.get_check(conn, check_id)

    @router.post(
        "/checks/{check_id}/rerun",
        summary="Re-run a recorded check on the exact plan rows it used; says whether the answer is the same",
    )
    def rerun(request: Request, check_id: int, _user: Annotated[User, Depends(officer)]) -> dict[str, Any]:
        with _engine(request).connect() as conn:
            stored = workflow.get_check(conn, check_id)
            result, _m = workflow.rerun_check(conn, check_id)
        same = {k: stored[k] for k in ("verdict", "rules", "plan")} == {
            k: result[k] for k in ("verdict", "rules", "plan")
        }
        return {"check_id": check_id, "reproduced": same, "original_verdict": stored["verdict"], "rerun": result}

    @router.get(
        "/checks/{check_id}/report.{fmt}",
        summary="Printable report of a recorded check (HTML or PDF; officers)",
        response_class=Response,
        responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
    )
    def check_report(
        request: Request,
        check_id: int,
        fmt: Literal["html", "pdf"],
        _user: Annotated[User, Depends(officer)],
        lang: Lang = "vi",
    ) -> Response:
        with _engine(request).connect() as conn:
            stored = workflow.get_check(conn, check_id)
            _result, m = workflow.rerun_check(conn, check_id, drawing=True)
        context = {"reference": stored["reference"], "check_id": check_id}
        return _report(stored, m["drawing"], fmt, lang, context)

    @router.post(
        "/applications/{application_id}/decisions",
        status_code=201,
        summary="Record an officer's decision: approve, reject or request changes, with a comment (officers)",
    )
    def decide(
        request: Request, application_id: int, body: NewDecision, user: Annotated[User, Depends(officer)]
    ) -> dict[str, Any]:
        with _engine(request).begin() as conn:
            return workflow.record_decision(
                conn,
                application_id,
                decision=body.decision,
                comment=body.comment,
                check_id=body.check_id,
                user=user.name,
            )

    return router


def install_permits(app: FastAPI) -> None:
    """Add the permit routes (``/permits/...``)."""
    app.include_router(permits_router())
