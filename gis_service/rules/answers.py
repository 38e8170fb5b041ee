"""The shapes of the envelope and permit-check answers, field by field (for ``/docs`` and the tests).

The routes build these answers as plain dicts (fast); the models describe them in the OpenAPI document and the
tests validate real answers against them, so a field that changes shape is caught.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CheckAnswer", "EnvelopeAnswer", "RuleAnswer"]

Basis = Literal["plan", "qcvn", "no_limit", "no_data", "scanned_draft"]
GeoJSON = dict[str, Any]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figure(_Answer):
    """One figure of the envelope and what bounds it."""

    value: float | None = Field(description="The figure (None when the data cannot settle it)")
    unit: str = Field(description="m², m, floors")
    rule: str = Field(description="The rule that bounds it (density, floors, height, far, ground_elevation)")
    limit: float | None = Field(description="The limit that rule applies (e.g. the density in %, the FAR)")
    basis: Basis = Field(description="Where the limit comes from")
    source: str = Field(description="Legal source: plan decision and zone, or QCVN 01:2021 table")
    confidence: float | None = Field(default=None, description="For a scanned draft: the reading's confidence")


class Capacity(_Answer):
    """What may be built, in numbers."""

    footprint_m2: Figure | None = Field(default=None, description="Largest footprint the density allows")
    floors: Figure | None = Field(default=None, description="Most floors above ground")
    min_floors: Figure | None = Field(default=None, description="Least floors, where a zone asks for some")
    height_m: Figure | None = Field(default=None, description="Height limit")
    floor_area_m2: Figure | None = Field(default=None, description="Largest total floor area (by the FAR)")
    min_ground_elev_m: Figure | None = Field(default=None, description="Lowest ground floor level (flooding)")


class Front(_Answer):
    """A road the lot faces."""

    road_name: str | None
    width_m: float | None = Field(description="Red-line width of the road")
    red_line_id: int
    building_line_id: int | None
    building_line_setback_m: float | None = Field(description="Setback of the road's building line")
    qcvn_setback_m: float | None = Field(description="QCVN Table 2.7's setback for this road and the height limit")
    frontage_m: float = Field(description="Length of the lot's edge along the red line")
    rule: Literal["building_line", "red_line_setback"] = Field(description="The rule that bounds this front")
    source: str


class Access(_Answer):
    """How the lot is reached: a planned road, a kiệt (alley) or nothing recorded."""

    kind: Literal["road", "alley", "none"]
    roads: list[str | None] | None = None
    name: str | None = None
    width_m: float | None = None


class EnvelopeZone(_Answer):
    """A zone the lot may be built in, with its part of the lot and of the envelope."""

    zone_id: int
    zone_code: str | None
    land_use_code: str
    lot_m2: float
    buildable_m2: float
    footprint_m2: float
    height_m: float | None
    floors: int | None
    density: dict[str, Any] = Field(description="The density limit: value (%), basis, source")


class EnvelopeSummary(_Answer):
    """What may be built on a parcel, without geometry (also in the lookup's ``envelope``)."""

    status: Literal["buildable", "not_buildable", "needs_review"]
    use: str = Field(description="The land-use code or category the envelope is for")
    category: str | None = Field(description="The building-use category (QCVN's tables)")
    lot_area_m2: float
    road_area_m2: float = Field(description="The lot's part beyond a red line (road land, not buildable)")
    net_lot_area_m2: float
    buildable_area_m2: float = Field(description="Lot less road land and setbacks, in zones allowing the use")
    capacity: Capacity
    fronts: list[Front]
    access: Access
    zones: list[EnvelopeZone]
    notes_vi: list[str]
    notes_en: list[str]


class EnvelopeGeometry(_Answer):
    """The envelope's shapes: the lot, its road land, the buildable area and the largest footprint."""

    lot: GeoJSON | None
    road_part: GeoJSON | None
    buildable: GeoJSON | None
    max_footprint: GeoJSON | None = Field(description="The largest footprint the density allows")


class EnvelopeAnswer(EnvelopeSummary):
    """``GET /parcels/{id}/envelope``."""

    parcel: dict[str, Any] | None
    crs: str = Field(description="CRS of the geometry (URI)")
    geometry: EnvelopeGeometry
    solid: GeoJSON = Field(description="FeatureCollection: each zone's buildable part, base_m and top_m")
    max_proposal: dict[str, Any] | None = Field(description="The largest building, as a permit-check request")


class RuleAnswer(_Answer):
    """One rule's answer."""

    id: str
    status: Literal["pass", "fail", "needs_review", "not_applicable", "officer_judgement"]
    value: Any = Field(description="What was measured (m, %, floors, ratio, m², or the use)")
    limit: Any = Field(description="The limit compared with")
    unit: str | None
    basis: Basis | None = Field(description="Where the limit comes from")
    source: str = Field(description="Legal source")
    message_vi: str
    message_en: str
    zone: dict[str, Any] | None = Field(default=None, description="The zone measured against")
    road: dict[str, Any] | None = Field(default=None, description="The road, red line and building line")
    confidence: float | None = None


class CheckAnswer(_Answer):
    """``POST /permits/check``."""

    verdict: Literal["compliant", "not_compliant", "needs_review"]
    failed: list[str]
    needs_review: list[str]
    officer_judgement: list[str]
    rules: list[RuleAnswer]
    plan: dict[str, Any] | None = Field(description="The governing plan, the zones the footprint stands in")
    parcel: dict[str, Any] | None
    lot: dict[str, float] = Field(description="area_m2, road_area_m2, net_area_m2")
    footprint: dict[str, Any] = Field(description="area_m2, grazed_zones, centroid_e, centroid_n (EPSG:9214)")
    red_line: dict[str, Any] | None = Field(description="The main front's red line and the distance to it")
    building_line: dict[str, Any] | None
    proposal: dict[str, Any]
