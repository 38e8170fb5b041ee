"""The shapes of the answers of what changed between plan versions (for ``/docs`` and the tests).

The routes build the answers as plain dicts (:meth:`gis_service.changes.PlanDiff.as_dict`,
:meth:`gis_service.changes.ParcelChanges.as_dict`); these models describe them, and the tests validate real
answers against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChangesFeatureCollection", "DiffAnswer", "ParcelChangesAnswer"]

GeoJSON = dict[str, Any]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanRef(_Answer):
    """The plan compared."""

    code: str = Field(description="Plan code (mã hồ sơ quy hoạch)")
    name: str | None


class VersionSide(_Answer):
    """One side of the comparison: a version of the plan."""

    id: int = Field(description="The version's row id (plan_id of its features)")
    version: int
    status: Literal["draft", "approved", "superseded"]


class AttributeDiff(_Answer):
    """An attribute that differs: the column of the layer catalogue, its labels, the two values."""

    column: str = Field(description="e.g. max_floors, land_use_code")
    label_vi: str
    label_en: str
    unit: str = Field(description="m, m², % or empty (floors and FAR have none)")
    from_: int | float | str | None = Field(alias="from", description="The value in the 'from' version")
    to: int | float | str | None = Field(description="The value in the 'to' version")


class ZoneDiff(_Answer):
    """A zone added, removed or changed; areas in m² to 0.1 m² (VN-2000, EPSG:9214)."""

    change: Literal["added", "removed", "changed"]
    zone_code: str | None
    from_id: int | None = Field(description="The zone's id in the 'from' version")
    to_id: int | None = Field(description="The zone's id in the 'to' version")
    attributes: list[AttributeDiff] = Field(description="Land use, name, code and each rule that differs")
    area_from_m2: float | None
    area_to_m2: float | None
    area_gained_m2: float
    area_lost_m2: float
    geometry: GeoJSON | None = Field(
        description="The changed part in CRS84 (lon, lat): what the zone gained and lost; all of it when an "
        "attribute changed or it was added or removed"
    )


class LineDiff(_Answer):
    """A red line or building line added, removed, moved or changed in its attributes."""

    change: Literal["added", "removed", "moved", "changed"]
    road_name: str | None
    from_id: int | None
    to_id: int | None
    max_shift_m: float | None = Field(description="The largest distance the line moved (m)")
    attributes: list[AttributeDiff]
    geometry: GeoJSON | None = Field(description="The line in the 'to' version (in 'from' when removed), CRS84")
    geometry_from: GeoJSON | None = Field(description="Where a moved line was, CRS84")


class DiffAnswer(_Answer):
    """What changed between two versions of a plan."""

    plan: PlanRef
    from_: VersionSide = Field(alias="from")
    to: VersionSide
    zones: list[ZoneDiff]
    red_lines: list[LineDiff]
    building_lines: list[LineDiff]
    counts: dict[str, dict[str, int]] = Field(description="Entries per layer and kind of change")


class ChangeFeature(_Answer):
    """A changed part, for the map."""

    type: Literal["Feature"]
    geometry: GeoJSON | None
    properties: dict[str, Any] = Field(
        description="layer (zones, red_lines, building_lines), change, zone_code or road_name, from_id, to_id, "
        "summary_vi, summary_en"
    )


class ChangesFeatureCollection(_Answer):
    """The changed parts as GeoJSON (CRS84), for the viewer to highlight on the map."""

    type: Literal["FeatureCollection"]
    features: list[ChangeFeature]
    plan: PlanRef
    from_: VersionSide = Field(alias="from")
    to: VersionSide


class ParcelRef(_Answer):
    """The parcel (thửa đất)."""

    id: int
    sheet_no: int | None = Field(description="Map sheet number (số tờ)")
    parcel_no: int | None = Field(description="Parcel number (số thửa)")
    ward: str | None
    address: str | None


class ParcelChange(_Answer):
    """A change that reaches the parcel: a zone (with the parcel's area in it) or a line within 1 m of it."""

    model_config = ConfigDict(extra="allow")

    layer: Literal["zones", "red_lines", "building_lines"]
    change: Literal["added", "removed", "changed", "moved"]


class RoadArea(_Answer):
    """The parcel's area in road land (DGT zones and beyond the red lines), m², in each version."""

    from_: float = Field(alias="from")
    to: float


class PlanChanges(_Answer):
    """What one plan's new version changes for the parcel."""

    code: str
    name: str | None
    from_: VersionSide = Field(alias="from")
    to: VersionSide
    changes: list[ParcelChange]
    road_area_m2: RoadArea
    summary: list[str] = Field(description="One plain sentence per change, in the language asked")
    touched: bool


class ParcelChangesAnswer(_Answer):
    """What the new plan versions change for a parcel, plan by plan, in plain words."""

    parcel: ParcelRef
    plans: list[PlanChanges] = Field(description="Each plan whose zones cover the parcel and has two versions")
    summary: list[str] = Field(description="Every plan's sentences (prefixed by the plan's code when several)")
    touched: bool = Field(description="Whether any new version changes anything for the parcel")
    message_vi: str | None = Field(default=None, description="Why there is nothing to compare, when so")
    message_en: str | None = None
