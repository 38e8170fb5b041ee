"""Routes of the background jobs (e.g. the rebuild of the 3D tiles after publishing): one job's status, the latest.

Listed under the publishing routes' tag in the OpenAPI document, as publishing is what starts them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from gis_service.api.deps import EngineDep, Staff, oauth2_scheme
from gis_service.api.models import JobAnswer, JobList
from gis_service.api.plans import PLANS_TAG
from gis_service.jobs import get_job, list_jobs
from gis_service.settings import Settings

__all__ = ["jobs_router"]


def jobs_router(settings: Settings) -> APIRouter:
    """The ``/jobs`` routes: a job's status (anyone), the latest jobs (planners and permit officers).

    Parameters
    ----------
    settings
        The public base URL of the links.
    """
    router = APIRouter(tags=[PLANS_TAG], dependencies=[Depends(oauth2_scheme)])
    base = settings.base_url()

    @router.get(
        "/jobs/{job_id}",
        summary="Status of a background job (e.g. the tile rebuild after publishing)",
        responses={200: {"model": JobAnswer}},
    )
    def job_status(engine: EngineDep, job_id: int) -> JSONResponse:
        with engine.connect() as conn:
            job = get_job(conn, job_id)
        return JSONResponse(job.as_json(base), headers={"Cache-Control": "no-cache"})

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
