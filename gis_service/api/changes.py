"""Routes of what changed between plan versions: a whole plan (``/plans/{code}/diff``) and a parcel
(``/parcels/{id}/changes``).

The public compares approved and superseded versions and a draft under consultation today; planners (and
administrators) any version. A draft not under consultation is "not found" for the public, as everywhere.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from gis_service.api.changes_models import ChangesFeatureCollection, DiffAnswer, ParcelChangesAnswer
from gis_service.api.deps import CurrentUser, EngineDep, in_thread, oauth2_scheme
from gis_service.auth import Role, User
from gis_service.changes.answers import diff_answer, diff_features, parcel_answer

__all__ = ["changes_router"]

CHANGES_TAG = "What changed between plan versions (so sánh phiên bản quy hoạch)"

PlanCode = Annotated[str, Path(min_length=1, max_length=40, description="Plan code (mã hồ sơ quy hoạch)")]
ParcelId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the parcel (parcels collection)")]
FromVersion = Annotated[
    int | None,
    Query(
        alias="from",
        ge=1,
        le=1_000_000,
        description="Version number to compare from [the approved version; else the one before 'to']",
    ),
]
ToVersion = Annotated[
    int | None,
    Query(
        alias="to",
        ge=1,
        le=1_000_000,
        description="Version number to compare to [the draft under consultation; else the latest]",
    ),
]


def _public(user: User | None) -> bool:
    """Whether the caller sees only what the public sees (not a planner or an administrator)."""
    return user is None or not user.has_role(Role.PLANNER)


def changes_router() -> APIRouter:
    """The routes ``GET /plans/{code}/diff`` and ``GET /parcels/{id}/changes``."""
    router = APIRouter(tags=[CHANGES_TAG], dependencies=[Depends(oauth2_scheme)])

    @router.get(
        "/plans/{code}/diff",
        summary="What changed between two versions of a plan: zones, rules, areas, red lines, building lines",
        responses={
            200: {
                "model": DiffAnswer,
                "description": "The differences (JSON), or with f=geojson the changed parts as a FeatureCollection",
                "content": {"application/geo+json": {"schema": ChangesFeatureCollection.model_json_schema()}},
            }
        },
    )
    async def plan_diff_route(
        engine: EngineDep,
        user: CurrentUser,
        code: PlanCode,
        from_version: FromVersion = None,
        to_version: ToVersion = None,
        f: Annotated[
            Literal["json", "geojson"], Query(description="json: the differences; geojson: the changed parts")
        ] = "json",
    ) -> JSONResponse:
        """Zone by zone (found again by code, else by the land they share): land use, name and each rule with
        both values, areas gained and lost to 0.1 m² and the changed part; red lines and building lines added,
        removed or moved (largest shift in m). Defaults: the approved version against the draft under
        consultation, else the last two versions."""
        public = _public(user)

        def work() -> dict[str, object]:
            with engine.connect() as conn:
                build = diff_features if f == "geojson" else diff_answer
                return build(conn, code, from_version, to_version, public=public)

        body = await in_thread(work)
        media = "application/geo+json" if f == "geojson" else "application/json"
        return JSONResponse(body, media_type=media, headers={"Cache-Control": "no-store"})

    @router.get(
        "/parcels/{parcel_id}/changes",
        summary="What the new plan versions change for a parcel, in plain words",
        responses={200: {"model": ParcelChangesAnswer}},
    )
    async def parcel_changes_route(
        engine: EngineDep,
        user: CurrentUser,
        parcel_id: ParcelId,
        from_version: FromVersion = None,
        to_version: ToVersion = None,
        code: Annotated[str | None, Query(min_length=1, max_length=40, description="Only this plan")] = None,
        lang: Annotated[Literal["vi", "en"], Query(description="Language of the sentences")] = "vi",
    ) -> JSONResponse:
        """For each plan whose zones cover the parcel: what its new version changes there (each rule of the
        zones the parcel lies in, its area in each zone, land that becomes road, red lines and building lines
        moved within 1 m), with one sentence per change. No plan, or no new version: an empty answer that
        says so."""
        public = _public(user)

        def work() -> dict[str, object]:
            with engine.connect() as conn:
                return parcel_answer(conn, parcel_id, from_version, to_version, code=code, lang=lang, public=public)

        body = await in_thread(work)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router
