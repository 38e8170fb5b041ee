"""HTTP routes of plan versions and background jobs: list versions, start a draft, publish with the approval
decision (tiles rebuilt in the background), read a job's status."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from gis_service.api.auth import oauth2_scheme
from gis_service.api.features import ReasonHeader, change_reason
from gis_service.auth import Role, User, optional_user, require_role
from gis_service.editing import PlanVersion, list_plans, publish_with_decision, start_draft
from gis_service.jobs import get_job, list_jobs
from gis_service.settings import Settings

__all__ = ["install_publishing", "publishing_router"]

require_planner = require_role(Role.PLANNER)
require_staff = require_role(Role.PLANNER, Role.PERMIT_OFFICER)


class Decision(BaseModel):
    """The approval decision of the draft (quyết định phê duyệt); omitted fields keep what the draft has."""

    decision_no: str | None = Field(default=None, max_length=100, examples=["1234/QĐ-UBND"])
    decision_date: date | None = Field(default=None, examples=["2026-11-20"])
    approving_authority: str | None = Field(default=None, max_length=200, examples=["UBND thành phố Huế"])
    version: int | None = Field(default=None, ge=1, description="The draft version to publish [the latest draft]")


def _plan(v: PlanVersion, base: str) -> dict[str, Any]:
    return {
        "id": v.id,
        "code": v.code,
        "version": v.version,
        "name": v.name,
        "level": v.level,
        "status": v.status,
        "decision_no": v.decision_no,
        "decision_date": v.decision_date.isoformat() if v.decision_date else None,
        "zones": v.zones,
        "links": [{"rel": "collection", "href": f"{base}/ogc/collections/zones/items?plan_id={v.id}"}],
    }


def publishing_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["Plan versions and publishing (công bố quy hoạch)"], dependencies=[Depends(oauth2_scheme)])
    base = settings.base_url()

    def _engine(request: Request) -> Engine:
        engine: Engine = request.app.state.engine
        return engine

    @router.get("/plans", summary="Plan versions (drafts only for planners and permit officers)")
    def plans(
        request: Request,
        user: Annotated[User | None, Depends(optional_user)],
        code: Annotated[str | None, Query(max_length=20)] = None,
    ) -> JSONResponse:
        with _engine(request).connect() as conn:
            versions = list_plans(conn, code=code)
        staff = user is not None and user.has_role(Role.PLANNER, Role.PERMIT_OFFICER)
        return JSONResponse({"plans": [_plan(v, base) for v in versions if staff or v.status != "draft"]})

    @router.post("/plans/{code}/drafts", summary="Start a new draft from the approved version", status_code=201)
    def new_draft(
        request: Request, code: str, user: Annotated[User, Depends(require_planner)], reason: ReasonHeader = None
    ) -> JSONResponse:
        why = change_reason(reason)
        with _engine(request).begin() as conn:
            draft = start_draft(conn, code, user=user.name, reason=why)
        return JSONResponse(_plan(draft, base), status_code=201)

    @router.post("/plans/{code}/publish", summary="Publish the draft: approved, the previous version superseded")
    def publish(
        request: Request,
        code: str,
        decision: Decision,
        user: Annotated[User, Depends(require_planner)],
        reason: ReasonHeader = None,
    ) -> JSONResponse:
        """Records the approval decision, publishes in one transaction, and queues the rebuild of the 3D tiles
        (``job``: read its status at ``/jobs/{id}``)."""
        why = change_reason(reason)
        with _engine(request).begin() as conn:
            published, superseded, job = publish_with_decision(
                conn,
                code,
                decision_no=decision.decision_no,
                decision_date=decision.decision_date,
                approving_authority=decision.approving_authority,
                version=decision.version,
                user=user.name,
                reason=why,
            )
        runner = getattr(request.app.state, "jobs", None)
        if runner is not None:
            runner.wake()
        return JSONResponse(
            {
                "published": _plan(published, base),
                "superseded": _plan(superseded, base) if superseded else None,
                "job": job.as_json(base),
            },
            headers={"Link": f'<{base}/jobs/{job.id}>; rel="monitor"'},
        )

    @router.get("/jobs/{job_id}", summary="Status of a background job (e.g. the tile rebuild after publishing)")
    def job_status(request: Request, job_id: int) -> JSONResponse:
        with _engine(request).connect() as conn:
            job = get_job(conn, job_id)
        return JSONResponse(job.as_json(base), headers={"Cache-Control": "no-cache"})

    @router.get("/jobs", summary="The latest background jobs (planners and permit officers)")
    def jobs(
        request: Request,
        _user: Annotated[User, Depends(require_staff)],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> JSONResponse:
        with _engine(request).connect() as conn:
            return JSONResponse({"jobs": [j.as_json(base) for j in list_jobs(conn, limit=limit)]})

    return router


def install_publishing(app: FastAPI, settings: Settings) -> None:
    app.include_router(publishing_router(settings))
