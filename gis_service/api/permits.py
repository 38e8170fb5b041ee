"""REST routes of the permit checks. Each route: dependencies → one service call → response.

Anyone may run an unrecorded pre-check (``POST /permits/check``, and its printable report); applications, recorded
checks, their re-runs, reports and decisions are for permit officers (and administrators).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gis_service.api.deps import EngineDep, Officer, in_thread, read_connection, site_cache
from gis_service.permits import workflow
from gis_service.permits.check import check_async
from gis_service.permits.model import EXAMPLE, CheckRequest
from gis_service.permits.report import report_html, report_pdf
from gis_service.rules.answers import CheckAnswer
from gis_service.rules.tables import qcvn_tables

__all__ = ["NewApplication", "NewDecision", "permits_router"]

Lang = Annotated[Literal["vi", "en"], Query(description="Language of the report: vi (default) or en")]
#: Ids are PostgreSQL bigints: a larger number is a 400 naming the parameter, not a database error.
ApplicationId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the application")]
CheckId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the recorded check")]


class NewApplication(BaseModel):
    """The body of ``POST /permits/applications``: a new permit application (hồ sơ)."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=100, description="Số hồ sơ (application reference)")
    applicant_name: str = Field(min_length=1, max_length=200, description="Tên người đề nghị (applicant's name)")
    notes: str | None = Field(default=None, max_length=2000)


class NewDecision(BaseModel):
    """The body of a decision on an application: approve, reject or request changes, with a comment."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject", "request_changes"]
    comment: str = Field(min_length=1, max_length=4000)
    check_id: int | None = Field(
        default=None, gt=0, lt=2**63, description="The recorded check decided on (default: the latest)"
    )


def _report(result: dict[str, Any], drawing: dict[str, Any], fmt: str, lang: str, context: dict[str, Any]) -> Response:
    name = f"permit-check-{context.get('check_id', 'precheck')}-{lang}"
    if fmt == "pdf":
        pdf = report_pdf(result, drawing, lang=lang, context=context)
        headers = {"Content-Disposition": f'inline; filename="{name}.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)
    return HTMLResponse(report_html(result, drawing, lang=lang, context=context))


def permits_router() -> APIRouter:
    """The ``/permits`` routes: uses, pre-checks and their reports (anyone); applications, recorded checks,
    re-runs, reports and decisions (permit officers)."""
    router = APIRouter(prefix="/permits", tags=["Permit checks (kiểm tra cấp phép xây dựng)"])
    _precheck_routes(router)
    _application_routes(router)
    _recorded_check_routes(router)
    _decision_routes(router)
    return router


def _precheck_routes(router: APIRouter) -> None:
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
        async with read_connection(request) as conn:
            result, _m = await check_async(conn, body, cache=site_cache(request))
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
        async with read_connection(request) as conn:
            result, m = await check_async(conn, body, drawing=True)
        return await in_thread(_report, result, m["drawing"], fmt, lang, {})


def _application_routes(router: APIRouter) -> None:
    @router.post("/applications", status_code=201, summary="Open a permit application (officers)")
    def new_application(engine: EngineDep, body: NewApplication, user: Officer) -> dict[str, Any]:
        with engine.begin() as conn:
            return workflow.create_application(
                conn, reference=body.reference, applicant_name=body.applicant_name, notes=body.notes, user=user.name
            )

    @router.get("/applications/{application_id}", summary="An application: checks, decisions, history (officers)")
    def application(engine: EngineDep, application_id: ApplicationId, _user: Officer) -> dict[str, Any]:
        with engine.connect() as conn:
            return workflow.get_application(conn, application_id)

    @router.post(
        "/applications/{application_id}/checks",
        status_code=201,
        summary="Check a proposal for an application and record it with the plan version used (officers)",
    )
    def record_check(
        engine: EngineDep,
        application_id: ApplicationId,
        body: Annotated[CheckRequest, Body(examples=[EXAMPLE])],
        user: Officer,
    ) -> dict[str, Any]:
        with engine.begin() as conn:
            return workflow.record_check(conn, application_id, body.model_dump(exclude_none=True), user=user.name)


def _recorded_check_routes(router: APIRouter) -> None:
    @router.get("/checks/{check_id}", summary="A recorded check as it was answered (officers)")
    def get_check(engine: EngineDep, check_id: CheckId, _user: Officer) -> dict[str, Any]:
        with engine.connect() as conn:
            return workflow.get_check(conn, check_id)

    @router.post(
        "/checks/{check_id}/rerun",
        summary="Re-run a recorded check on the exact plan rows it used; says whether the answer is the same",
    )
    def rerun(engine: EngineDep, check_id: CheckId, _user: Officer) -> dict[str, Any]:
        with engine.connect() as conn:
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
        engine: EngineDep,
        check_id: CheckId,
        fmt: Literal["html", "pdf"],
        _user: Officer,
        lang: Lang = "vi",
    ) -> Response:
        with engine.connect() as conn:
            stored = workflow.get_check(conn, check_id)
            _result, m = workflow.rerun_check(conn, check_id, drawing=True)
        context = {"reference": stored["reference"], "check_id": check_id}
        return _report(stored, m["drawing"], fmt, lang, context)


def _decision_routes(router: APIRouter) -> None:
    @router.post(
        "/applications/{application_id}/decisions",
        status_code=201,
        summary="Record an officer's decision: approve, reject or request changes, with a comment (officers)",
    )
    def decide(engine: EngineDep, application_id: ApplicationId, body: NewDecision, user: Officer) -> dict[str, Any]:
        with engine.begin() as conn:
            return workflow.record_decision(
                conn,
                application_id,
                decision=body.decision,
                comment=body.comment,
                check_id=body.check_id,
                user=user.name,
            )
