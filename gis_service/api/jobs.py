"""Routes of the background jobs (e.g. the rebuild of the 3D tiles after publishing): one job's status, the latest.

Listed under the publishing routes' tag in the OpenAPI document, as publishing is what starts them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from gis_service.api.deps import CurrentUser, EngineDep, Staff, oauth2_scheme
from gis_service.api.models import JobAnswer, JobList, PublicJobAnswer
from gis_service.api.plans import PLANS_TAG
from gis_service.auth import Role
from gis_service.jobs import Job, get_job, list_jobs
from gis_service.settings import Settings

__all__ = ["jobs_router", "public_job"]

#: What anyone may read of a job (who started it, its parameters, result and failure text are for staff).
PUBLIC_FIELDS = ("id", "kind", "status", "message", "created_at", "started_at", "finished_at", "links")
STAFF_ROLES = (Role.PLANNER, Role.PERMIT_OFFICER)


def public_job(job: Job, base_url: str) -> dict[str, Any]:
    """A job as the public sees it: kind, status, progress and times, no names, parameters or failure text.

    Parameters
    ----------
    job
        The job.
    base_url
        The public base URL of its link.
    """
    full = job.as_json(base_url)
    answer = {k: full[k] for k in PUBLIC_FIELDS}
    if job.status not in ("queued", "running"):
        answer["message"] = None  # a failure's text may name files and people; progress messages do not
    return answer


def jobs_router(settings: Settings) -> APIRouter:
    """The ``/jobs`` routes: a job's status (in full for staff, stripped for anyone), the latest jobs (staff).

    Parameters
    ----------
    settings
        The public base URL of the links.
    """
    router = APIRouter(tags=[PLANS_TAG], dependencies=[Depends(oauth2_scheme)])
    base = settings.base_url()

    @router.get(
        "/jobs/{job_id}",
        summary="Status of a background job (e.g. the tile rebuild after publishing): in full for planners and permit "
        "officers, without who started it, its parameters and result for anyone else",
        responses={200: {"model": JobAnswer | PublicJobAnswer}},
    )
    def job_status(engine: EngineDep, user: CurrentUser, job_id: int) -> JSONResponse:
        with engine.connect() as conn:
            job = get_job(conn, job_id)
        staff = user is not None and user.has_role(*STAFF_ROLES)
        body = job.as_json(base) if staff else public_job(job, base)
        return JSONResponse(body, headers={"Cache-Control": "no-cache", "Vary": "Authorization"})

    @router.get(
        "/jobs",
        summary="The latest background jobs (planners and permit officers)",
        responses={200: {"model": JobList}},
    )
    def jobs(
        engine: EngineDep,
        _user: Staff,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> JSONResponse:
        with engine.connect() as conn:
            return JSONResponse({"jobs": [j.as_json(base) for j in list_jobs(conn, limit=limit)]})

    return router
