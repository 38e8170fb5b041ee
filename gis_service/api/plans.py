"""Routes of plan versions and publishing (công bố quy hoạch): list the versions, start a draft, publish it.

Publishing records the approval decision and queues the rebuild of the 3D tiles (its status: :mod:`gis_service.api.
jobs`). Drafts are listed for planners and permit officers only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gis_service.api.deps import CurrentUser, EngineDep, Planner, ReasonHeader, change_reason, oauth2_scheme
from gis_service.api.models import PlanAnswer, PlanList, PublishAnswer
from gis_service.auth import Role
from gis_service.editing import PlanVersion, list_plans, publish_with_decision, start_draft
from gis_service.settings import Settings

__all__ = ["PLANS_TAG", "Decision", "plans_router"]

#: The tag of these routes and of the jobs' routes in the OpenAPI document.
PLANS_TAG = "Plan versions and publishing (công bố quy hoạch)"


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


def plans_router(settings: Settings) -> APIRouter:
    """The ``/plans`` routes: versions, new drafts, publishing.

    Parameters
    ----------
    settings
        The public base URL of the links.
    """
    router = APIRouter(tags=[PLANS_TAG], dependencies=[Depends(oauth2_scheme)])
    base = settings.base_url()

    @router.get(
        "/plans",
        summary="Plan versions (drafts only for planners and permit officers)",
        responses={200: {"model": PlanList}},
    )
    def plans(
        engine: EngineDep,
        user: CurrentUser,
        code: Annotated[str | None, Query(max_length=20)] = None,
    ) -> JSONResponse:
        with engine.connect() as conn:
            versions = list_plans(conn, code=code)
        staff = user is not None and user.has_role(Role.PLANNER, Role.PERMIT_OFFICER)
        return JSONResponse({"plans": [_plan(v, base) for v in versions if staff or v.status != "draft"]})

    @router.post(
        "/plans/{code}/drafts",
        summary="Start a new draft from the approved version",
        status_code=201,
        responses={201: {"model": PlanAnswer}},
    )
    def new_draft(engine: EngineDep, code: str, user: Planner, reason: ReasonHeader = None) -> JSONResponse:
        why = change_reason(reason)
        with engine.begin() as conn:
            draft = start_draft(conn, code, user=user.name, reason=why)
        return JSONResponse(_plan(draft, base), status_code=201)

    @router.post(
        "/plans/{code}/publish",
        summary="Publish the draft: approved, the previous version superseded",
        responses={200: {"model": PublishAnswer}},
    )
    def publish(
        request: Request,
        engine: EngineDep,
        code: str,
        decision: Decision,
        user: Planner,
        reason: ReasonHeader = None,
    ) -> JSONResponse:
        """Records the approval decision, publishes in one transaction, and queues the rebuild of the 3D tiles
        (``job``: read its status at ``/jobs/{id}``)."""
        why = change_reason(reason)
        with engine.begin() as conn:
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

    return router
