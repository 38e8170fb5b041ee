"""The shapes of the plan-version and job answers, field by field (for ``/docs`` and the tests).

The routes build these answers as plain dicts; the models describe them in the OpenAPI document and the tests
validate real answers against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JobAnswer", "JobList", "PlanAnswer", "PlanList", "Problem", "PublicJobAnswer", "PublishAnswer"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error answer (4xx): what is wrong and what to do, naming the parameter; some add fields (FastAPI's
    ``detail`` on a 422, OAuth2's ``error`` on a failed login)."""

    code: str = Field(description="OGC API exception code, e.g. InvalidParameterValue, NotFound, Forbidden")
    description: str = Field(description="What is wrong and what to do, in a sentence for the user")


class Link(_Answer):
    """A link to a related resource."""

    rel: str
    href: str


class PlanAnswer(_Answer):
    """One version of a plan (đồ án quy hoạch)."""

    id: int = Field(description="The version's id (plan_id of its features)")
    code: str = Field(description="Plan code (mã hồ sơ quy hoạch), e.g. 46QPK0000001")
    version: int
    name: str
    level: Literal["land_use", "general", "zoning", "detailed"]
    status: Literal["draft", "approved", "superseded"]
    decision_no: str | None = Field(description="Approval decision number (số quyết định)")
    decision_date: str | None = Field(description="Approval decision date, YYYY-MM-DD")
    zones: int = Field(description="Number of zones in this version")
    links: list[Link] = Field(description="The version's zones in the OGC API")


class PlanList(_Answer):
    """Plan versions by code then version (drafts only for planners and permit officers)."""

    plans: list[PlanAnswer]


class JobAnswer(_Answer):
    """A background job (e.g. the rebuild of the 3D tiles after publishing)."""

    id: int
    kind: str = Field(description="What the job does, e.g. rebuild_tiles")
    status: Literal["queued", "running", "succeeded", "failed"]
    params: dict[str, Any]
    result: dict[str, Any] | None = Field(description="What the job did, once it has succeeded")
    message: str | None = Field(description="Progress or the reason it failed")
    created_by: str | None
    created_at: str = Field(description="ISO 8601")
    started_at: str | None
    finished_at: str | None
    links: list[Link]


class PublicJobAnswer(_Answer):
    """A background job as anyone sees it: what it is and how far it got, not who started it nor its parameters."""

    id: int
    kind: str = Field(description="What the job does, e.g. tiles.rebuild")
    status: Literal["queued", "running", "succeeded", "failed"]
    message: str | None = Field(description="Progress while it runs (the reason of a failure: staff only)")
    created_at: str = Field(description="ISO 8601")
    started_at: str | None
    finished_at: str | None
    links: list[Link]


class JobList(_Answer):
    """The latest jobs, newest first."""

    jobs: list[JobAnswer]


class PublishAnswer(_Answer):
    """A published version, the version it superseded, and the job rebuilding the tiles."""

    published: PlanAnswer
    superseded: PlanAnswer | None
    job: JobAnswer
