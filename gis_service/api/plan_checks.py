"""Routes that check a plan version as a whole: against the plan above it (``/plans/{code}/consistency``) and its
land-use balance table (``/plans/{code}/balance``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from gis_service.api.deps import CurrentUser, EngineDep, Planner, in_thread, oauth2_scheme
from gis_service.auth import Role
from gis_service.balance import balance_csv, balance_html, plan_balance
from gis_service.consistency import approved_version_id, check_consistency, plan_version_id

__all__ = ["plan_checks_router"]

PLAN_CHECKS_TAG = "Plan checks (kiểm tra đồ án quy hoạch)"

PlanCode = Annotated[str, Path(min_length=1, max_length=40, description="Plan code (mã hồ sơ quy hoạch)")]
Version = Annotated[int | None, Query(ge=1, le=1_000_000, description="Version number [the latest visible]")]


def plan_checks_router() -> APIRouter:
    """``GET /plans/{code}/consistency`` (planners) and ``GET /plans/{code}/balance`` (public when published)."""
    router = APIRouter(tags=[PLAN_CHECKS_TAG], dependencies=[Depends(oauth2_scheme)])

    @router.get("/plans/{code}/consistency", summary="Check a plan version against the approved plan above it")
    async def consistency(
        engine: EngineDep,
        _user: Planner,
        code: PlanCode,
        version: Version = None,
        against: Annotated[str | None, Query(max_length=40, description="Code of the higher plan [found]")] = None,
    ) -> JSONResponse:
        """Where the version (default: the latest, draft or not) overlaps the higher plan (detailed → zoning →
        general): land use it does not allow, floors, height, density or FAR above its limits, red lines moved,
        heritage and riverbank zones encroached; each with both values, both plans and the area (m², VN-2000)."""

        def run() -> JSONResponse:
            with engine.connect() as conn:
                plan_id = plan_version_id(conn, code, version)
                higher = None if against is None else approved_version_id(conn, against)
                return JSONResponse(check_consistency(conn, plan_id, against=higher).as_dict())

        return await in_thread(run)

    @router.get(
        "/plans/{code}/balance",
        summary="Land-use balance table (bảng cân bằng sử dụng đất) of a version",
        responses={200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}}},
    )
    async def balance(
        engine: EngineDep,
        user: CurrentUser,
        code: PlanCode,
        version: Version = None,
        f: Annotated[str, Query(pattern="^(json|csv|html)$", description="json, csv or html")] = "json",
    ) -> Response:
        """Area (ha) and share per land-use code and group, totals against the plan boundary, land in no zone,
        the difference to the previous version and, when the dossier declared a table, each code off by more than
        1 %. Published versions are public; drafts for planners and permit officers."""
        staff = user is not None and user.has_role(Role.PLANNER, Role.PERMIT_OFFICER)

        def run() -> Response:
            with engine.connect() as conn:
                table = plan_balance(conn, code, version=version, drafts=staff)
            if f == "csv":
                return Response(balance_csv(table), media_type="text/csv; charset=utf-8")
            if f == "html":
                return Response(balance_html(table), media_type="text/html; charset=utf-8")
            return JSONResponse(table.as_dict())

        return await in_thread(run)

    return router
