"""The shape of the zoning lookup's answer, field by field (for ``/docs`` and the tests).

The lookup builds its answer in SQL (fast); these models describe it in the OpenAPI document, and the tests
validate real answers against them. A zone's ``rules`` and ``basis`` are made from the layer catalogue, so a new
zone rule appears here without an edit.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from gis_service.model.columns import Column
from gis_service.model.layers import ZONES
from gis_service.rules.answers import EnvelopeSummary

__all__ = ["AsOfAnswer", "LookupAnswer", "ZoneBasis", "ZoneRules"]

Basis = Literal["plan", "no_limit", "no_data", "scanned_draft"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


_PY_TYPES: dict[str, Any] = {"integer": int, "number": float, "string": str, "date": str, "datetime": str}


def _rule_field(c: Column) -> tuple[Any, Any]:
    unit = f" ({c.unit})" if c.unit else ""
    return (_PY_TYPES[c.type] | None, Field(description=f"{c.label_en}{unit} / {c.label_vi}; null when not set"))


ZoneRules: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ZoneRules",
    __base__=_Answer,
    __doc__="The zone's rules as the plan states them (layer catalogue: the columns marked as rules).",
    **{c.name: _rule_field(c) for c in ZONES.rules()},
)

ZoneBasis: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ZoneBasis",
    __base__=_Answer,
    __doc__="Where each number of the rules comes from: the plan, the plan leaving it open (khongGioiHan), no data, "
    "or a zone read from a scanned map (a draft).",
    **{c.name: (Basis, Field(description=f"Basis of {c.name}")) for c in ZONES.rules() if c.is_numeric},
)


class LandUse(_Answer):
    """A land-use code with its names and official colour."""

    code: str | None = Field(description="Land-use code (mã loại đất), e.g. ODT")
    name_vi: str | None
    name_en: str | None
    color: str | None = Field(description="Official colour, #rrggbb")


class LonLat(_Answer):
    """A point in WGS84 degrees."""

    lon: float
    lat: float


class Location(LonLat):
    """The point asked about, in WGS84 and in VN-2000 (EPSG:9214) metres."""

    e: float = Field(description="Easting, VN-2000 TM-3 107°00' (EPSG:9214), m")
    n: float = Field(description="Northing, VN-2000 TM-3 107°00' (EPSG:9214), m")


class Parcel(_Answer):
    """The cadastral parcel (thửa đất) found."""

    id: int
    ward: str | None = Field(description="Ward (phường/xã)")
    ward_code: str | None
    sheet_no: int | None = Field(description="Map sheet number (số tờ)")
    parcel_no: int | None = Field(description="Parcel number (số thửa)")
    address: str | None
    area_m2: float | None = Field(description="Recorded area, m²")
    measured_area_m2: float | None = Field(description="Area measured in VN-2000, m²")
    land_use: LandUse | None = Field(description="The parcel's recorded land use")
    centroid: LonLat = Field(description="A point inside the parcel")


class PlanRef(_Answer):
    """The approved plan version a zone belongs to, with its approval decision."""

    id: int
    code: str = Field(description="Plan code (mã hồ sơ quy hoạch)")
    name: str
    level: Literal["land_use", "general", "zoning", "detailed"]
    version: int
    decision_no: str | None = Field(description="Approval decision number (số quyết định)")
    decision_date: str | None = Field(description="Approval decision date, YYYY-MM-DD")
    approving_authority: str | None


class AsOfAnswer(_Answer):
    """The date a lookup answers for (``as_of``) and the plan versions in force that day."""

    date: str = Field(description="The date answered for, YYYY-MM-DD (today when a later date was asked)")
    requested: str = Field(description="The date asked for (as_of), YYYY-MM-DD")
    plans: list[PlanRef] = Field(
        description="Every plan version in force that day (anywhere, not only here); empty: no plan was in force"
    )


class ConsultedPlan(_Answer):
    """The draft version under consultation."""

    id: int
    code: str = Field(description="Plan code (mã hồ sơ quy hoạch)")
    name: str
    level: Literal["land_use", "general", "zoning", "detailed"]
    version: int
    status: str = Field(description="The version's status: draft (not in force)")


class ConsultationRef(_Answer):
    """A consultation running today: its id, period (dates in Huế, both included) and draft version."""

    id: int
    starts_on: str = Field(description="First day, YYYY-MM-DD")
    ends_on: str = Field(description="Last day, YYYY-MM-DD")
    plan: ConsultedPlan


class ConsultationNotice(_Answer):
    """In view=consultation: the notice that the answer is a draft, and the consultations running today."""

    notice_vi: str = Field(description="Dự thảo đang lấy ý kiến — chưa có hiệu lực")
    notice_en: str = Field(description="Draft under consultation — not in force")
    consultations: list[ConsultationRef] = Field(description="Every consultation running today; empty: none")


class Provenance(_Answer):
    """Where the zone comes from (``feature_sources``) and whether a planner has checked it."""

    method: str | None = Field(description="gis, cad or scan; null: not recorded (drawn by editing)")
    file: str | None = Field(description="Source file inside the dossier")
    layer: str | None = Field(description="Layer of the file (GIS), or the kind of layer read (CAD, scan)")
    sheet: str | None = Field(description="Sheet or drawing (scans and CAD)")
    sha256: str | None = Field(description="SHA-256 of the source files")
    imported_by: str | None
    imported_at: str | None
    reason: str | None = Field(description="Why it was imported")
    position_error_m: float | None = Field(description="Estimated positional error, m (georeferencing of a scan)")
    review_status: str = Field(description="digitised, checked or approved")
    sentence_vi: str
    sentence_en: str


class Zone(_Answer):
    """A zone of an approved plan (or of one in force on ``as_of``) at the place, its share of the parcel, its rules."""

    id: int
    zone_code: str | None = Field(description="Zone code (ký hiệu ô)")
    name: str | None
    land_use: LandUse
    area_m2: float | None = Field(description="Area of the parcel in this zone, m² (null for a point lookup)")
    share_pct: float | None = Field(description="Share of the parcel in this zone, %")
    rules: ZoneRules  # type: ignore[valid-type]
    basis: ZoneBasis  # type: ignore[valid-type]
    confidence: float | None = Field(description="For a zone read from a scan: the reading's confidence, 0-1")
    provenance: Provenance
    plan: PlanRef


class LookupEnvelope(EnvelopeSummary):
    """What may be built on the parcel (its geometry at ``href``)."""

    href: str = Field(description="The envelope with its geometry: /parcels/{id}/envelope")


class LookupAnswer(_Answer):
    """The zoning of a place or parcel: the parcel, the zones of approved plans there and their rules."""

    query: dict[str, Any] = Field(description="The question as understood (mode and values)")
    location: Location | None = Field(description="The point asked about; null for a parcel lookup")
    parcel: Parcel | None = Field(description="The parcel there; null when none")
    zones: list[Zone] = Field(description="Zones there, the largest share first; empty when no approved plan")
    plan_data: Literal["plan", "scanned_draft", "no_data", "no_plan_in_force", "no_consultation"] = Field(
        description="What the plan says here: its data, a scanned draft, nothing (no approved plan covers it, or "
        "none in force on as_of), or, on an as_of date before any plan was in force, no_plan_in_force; with "
        "view=consultation and no draft under consultation, no_consultation"
    )
    view: Literal["consultation"] | None = Field(
        default=None,
        description="consultation: the zones are of drafts under consultation, not in force; null: approved plans",
    )
    consultation: ConsultationNotice | None = Field(
        default=None, description="With view=consultation: the notice and the consultations running today"
    )
    as_of: AsOfAnswer | None = Field(
        default=None,
        description="With as_of: the date answered for and the plan versions in force then; null: the approved "
        "versions today",
    )
    envelope: LookupEnvelope | None = Field(
        default=None,
        description="The parcel's buildable envelope, unless envelope=false, no parcel, or no plan in force on as_of",
    )
