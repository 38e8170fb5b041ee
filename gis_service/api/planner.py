"""What the planners' tools of the viewer read that the public read path hides: the zones of a draft plan.

The public vector tiles and OGC collections show approved plans only; a planner editing a draft needs its zones on
the map (lon/lat) with their ids and versions, to select one and edit it through OGC API - Features Part 4.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gis_service.api.deps import EngineDep, Planner, in_thread
from gis_service.errors import NotFound
from gis_service.model.layers import ZONES

__all__ = ["DRAFT_ZONES_SQL", "ZONE_FIELDS", "draft_zones_geojson", "planner_router"]

#: The zone columns a planner edits (from the layer catalogue), with the values a draft zone has.
ZONE_FIELDS = tuple(c for c in ZONES.columns if c.editable)

DRAFT_ZONES_SQL = text(
    """
SELECT json_build_object(
  'type', 'FeatureCollection',
  'plan', (SELECT json_build_object('id', p.id, 'code', p.code, 'version', p.version, 'status', p.status)
           FROM planning.plans p WHERE p.id = (SELECT max(id) FROM planning.plans
                                               WHERE code = :code AND status = 'draft')),
  'features', coalesce((SELECT json_agg(json_build_object(
      'type', 'Feature', 'id', z.id,
      'geometry', ST_AsGeoJSON(z.geom_4326, 8)::json,
      'properties', json_build_object(
          'id', z.id, 'color', c.color_hex, __COLUMNS__, 'row_version', z.row_version)) ORDER BY z.id)
    FROM planning.zones z LEFT JOIN planning.land_use_codes c ON c.code = z.land_use_code
    WHERE z.plan_id = (SELECT max(id) FROM planning.plans WHERE code = :code AND status = 'draft')), '[]'::json)
)::text
""".replace("__COLUMNS__", ", ".join(f"'{c.name}', {c.sql_value('z')}" for c in ZONE_FIELDS))
)


def draft_zones_geojson(engine: Engine, code: str) -> str:
    """The zones of the draft of plan ``code`` as a GeoJSON FeatureCollection (CRS84); NotFound without a draft."""
    with engine.connect() as conn:
        body: str = conn.execute(DRAFT_ZONES_SQL, {"code": code}).scalar_one()
    if '"plan" : null' in body:
        raise NotFound(f"plan {code} has no draft version: start one (POST /plans/{code}/drafts)")
    return body


def planner_router() -> APIRouter:
    """The planners' routes of the viewer: ``/viewer/draft-zones``."""
    router = APIRouter(tags=["Web viewer"])

    @router.get("/viewer/draft-zones", summary="Zones of a plan's draft version, for the planners' map (CRS84)")
    async def draft_zones(
        engine: EngineDep,
        _user: Planner,
        plan: Annotated[str, Query(max_length=20, description="Plan code (maHoSoQH)")],
    ) -> Response:
        body = await in_thread(draft_zones_geojson, engine, plan)
        return Response(body, media_type="application/geo+json", headers={"Cache-Control": "no-store"})

    return router
