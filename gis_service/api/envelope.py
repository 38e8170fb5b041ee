"""REST routes of the buildable envelope: what may be built on a parcel, computed by the permit check's own rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from gis_service.api.deps import read_connection, site_cache
from gis_service.errors import ValidationError
from gis_service.rules import envelope_of
from gis_service.rules.answers import EnvelopeAnswer
from gis_service.rules.cache import Prepared
from gis_service.rules.envelope_answer import envelope_answer
from gis_service.rules.uses import resolve_use
from tiles.envelope_glb import envelope_glb

__all__ = ["envelope_router"]

ParcelId = Annotated[int, Path(gt=0, lt=2**63, description="Id of the parcel (parcels collection)")]
Use = Annotated[
    str | None,
    Query(max_length=40, description="A land-use code or building-use category (default: the main zone's use)"),
]
_CRS = {
    "crs84": "CRS84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": "CRS84",
    "epsg:9214": "EPSG:9214",
    "http://www.opengis.net/def/crs/epsg/0/9214": "EPSG:9214",
}
#: Answers follow the approved plan, which changes only when a version is published: a minute is fresh enough.
CACHE_CONTROL = "public, max-age=60"


async def _envelope(request: Request, parcel_id: int, use: str | None) -> Prepared:
    if use is not None:
        resolve_use(use)  # bad input is refused before a connection is taken
    async with read_connection(request) as conn:
        prep, _fp = await site_cache(request).prepared(conn, parcel_id)
    if ("envelope", use) not in prep.answers:
        prep.answers["envelope", use] = envelope_of(prep.site, use=use)
    return prep


def envelope_router() -> APIRouter:
    """The envelope routes: ``/parcels/{id}/envelope`` (JSON) and ``/parcels/{id}/envelope.glb`` (glTF)."""
    router = APIRouter(tags=["Buildable envelope (khối tích xây dựng cho phép)"])

    @router.get(
        "/parcels/{parcel_id}/envelope",
        summary="What may be built on a parcel: buildable area, largest footprint, 3D envelope and capacity",
        responses={200: {"model": EnvelopeAnswer, "description": "The envelope (built as JSON, described here)"}},
    )
    async def envelope(
        request: Request,
        parcel_id: ParcelId,
        use: Use = None,
        crs: Annotated[str, Query(description="CRS of the geometry: CRS84 (default) or EPSG:9214")] = "CRS84",
    ) -> JSONResponse:
        """The lot less road land and setbacks, the density-limited footprint, floors, height and floor area, each
        with the rule, basis (plan, QCVN, no limit, no data, scanned draft) and legal source that bounds it."""
        name = _CRS.get(crs.strip().lower())
        if name is None:
            raise ValidationError(f"crs: unknown CRS {crs!r}; give CRS84 (lon/lat, the default) or EPSG:9214")
        prep = await _envelope(request, parcel_id, use)
        if ("answer", use, name) not in prep.answers:
            prep.answers["answer", use, name] = envelope_answer(prep.answers["envelope", use], crs=name)
        body: dict[str, Any] = prep.answers["answer", use, name]
        return JSONResponse(body, headers={"Cache-Control": CACHE_CONTROL, "Content-Crs": f"<{body['crs']}>"})

    @router.get(
        "/parcels/{parcel_id}/envelope.glb",
        summary="The parcel's 3D envelope as glTF (binary), east-north-up at the lot's centre",
        response_class=Response,
        responses={200: {"content": {"model/gltf-binary": {}}}},
    )
    async def envelope_model(request: Request, parcel_id: ParcelId, use: Use = None) -> Response:
        prep = await _envelope(request, parcel_id, use)
        try:
            data, (lon, lat) = envelope_glb(prep.answers["envelope", use])
        except ValueError as exc:
            raise ValidationError(f"parcel {parcel_id}: {exc}") from None
        headers = {"Cache-Control": CACHE_CONTROL, "X-Envelope-Origin": f"{lon:.9f},{lat:.9f},0"}
        return Response(data, media_type="model/gltf-binary", headers=headers)

    return router
