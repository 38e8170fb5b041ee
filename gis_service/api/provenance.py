"""Routes of a feature's provenance: read it, and set its review status (planners; recorded in the history)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gis_service.api.deps import EngineDep, Planner, ReasonHeader, Staff, change_reason, in_thread, oauth2_scheme
from gis_service.provenance import feature_provenance, set_review_status

__all__ = ["provenance_router"]

Collection = Annotated[
    Literal["zones", "red_lines", "building_lines", "parcels", "buildings"],
    Path(description="The collection (layer) of the feature"),
]
FeatureId = Annotated[int, Path(gt=0, lt=2**63, description="The feature's id")]


class ReviewStatus(BaseModel):
    """The new review status: digitised (as imported), checked (compared with the source), approved."""

    status: Literal["digitised", "checked", "approved"] = Field(examples=["checked"])


def provenance_router() -> APIRouter:
    """``GET /provenance/{collection}/{id}`` and ``PUT /provenance/{collection}/{id}/review-status``."""
    router = APIRouter(tags=["Provenance (nguồn gốc dữ liệu)"], dependencies=[Depends(oauth2_scheme)])

    @router.get("/provenance/{collection}/{feature_id}", summary="Where a feature comes from (staff)")
    async def provenance(
        engine: EngineDep, _user: Staff, collection: Collection, feature_id: FeatureId
    ) -> JSONResponse:
        """Source file and layer, SHA-256, sheet or drawing, who imported it and why, positional error, review
        status, and one sentence in Vietnamese and English."""

        def run() -> JSONResponse:
            with engine.connect() as conn:
                return JSONResponse(feature_provenance(conn, collection, feature_id))

        return await in_thread(run)

    @router.put("/provenance/{collection}/{feature_id}/review-status", summary="Set a feature's review status")
    async def review(
        engine: EngineDep,
        user: Planner,
        collection: Collection,
        feature_id: FeatureId,
        body: ReviewStatus,
        reason: ReasonHeader = None,
    ) -> JSONResponse:
        """Recorded in the feature's history with the reason (``X-Change-Reason``)."""
        why = change_reason(reason)

        def run() -> JSONResponse:
            with engine.begin() as conn:
                return JSONResponse(
                    set_review_status(conn, collection, feature_id, body.status, user=user.name, reason=why)
                )

        return await in_thread(run)

    return router
