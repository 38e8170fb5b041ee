"""What a planning-information certificate says about a parcel, as data: :class:`CertificateContent`.

The content is drawn from the zoning lookup (:func:`gis_service.lookup.lookup_json`: zones, shares, rules, plans)
and the rule model (:func:`gis_service.rules.fetch_site` and :func:`gis_service.rules.envelope_of`: the red lines,
building lines and the buildable envelope), never from a computation of its own. It carries:

* the parcel (ward, sheet, parcel number, address, recorded and measured area, its outline in EPSG:9214);
* every zone the parcel lies in with its area, share and rules (value, basis, legal source), the plans with their
  approval decisions, the red lines and building lines near the parcel, the envelope and capacity;
* what the data cannot settle (:class:`MissingItem`), in Vietnamese and English;
* with an "as of" date (:class:`AsOfFacts`): the day it answers for and the day asked. The zones, rules, envelope,
  lines, map extract and plans are then those of the plan versions in force that day, by the one rule of
  :mod:`gis_service.as_of`; the parcel and its neighbours are the cadastre as it is today. Without a date the
  content has no ``as_of`` at all (its JSON is what it was before dates were possible);
* the map extract (:class:`MapExtract`: the scale chosen, the zones, red lines, building lines and neighbouring
  parcels in the map's box);
* the **pins**: the plan rows it was drawn from (table, id, row version), as recorded permit checks pin theirs
  (:func:`gis_service.permits.check.pins_of`). The content of a parcel computed again later equals the issued one
  exactly when nothing it says has changed; :func:`changes_between` says in words what did.

The content is plain data: it round-trips through JSON exactly, so a certificate can be re-rendered from what was
stored at issue (:mod:`gis_service.certificates.document`).
"""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import Any, Literal

import psycopg
import shapely
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from gis_service.errors import NotFound, PlanningError, ValidationError
from gis_service.lookup import RULES, LookupQuery, lookup_json
from gis_service.permits.check import pins_of
from gis_service.rules import Site, envelope_of, fetch_site
from gis_service.rules.answers import EnvelopeSummary
from gis_service.rules.drawing import geojson
from gis_service.rules.envelope_answer import envelope_summary
from gis_service.rules.footprint import governing_zones
from gis_service.rules.limits import plan_source, zone_limit
from gis_service.wording import lower_first

__all__ = [
    "MAP_HEIGHT_MM",
    "MAP_SCALES",
    "MAP_WIDTH_MM",
    "AsOfFacts",
    "CertificateContent",
    "LandUse",
    "LineFacts",
    "MapExtract",
    "MapFeature",
    "MissingItem",
    "NoPlanInForce",
    "ParcelFacts",
    "PinnedRow",
    "PlanFacts",
    "RuleFacts",
    "ZoneFacts",
    "certificate_content",
    "choose_scale",
    "find_parcel",
    "lower_first",
]

#: The map extract's size on the page (mm) and the scales it may be drawn at, most detailed first.
MAP_WIDTH_MM = 180.0
MAP_HEIGHT_MM = 120.0
MAP_SCALES = (500, 1000, 2000, 5000, 10000, 25000)
#: The surroundings shown around the parcel: at least this many metres, or this share of its size, on each side
#: (the Imperial City, a square of 1 km, fits at 1:10000).
MAP_MARGIN_M = 15.0
MAP_MARGIN_SHARE = 0.08
#: A part of the parcel in no zone smaller than this is the noise of the plan's lines, not a gap worth reporting.
UNCOVERED_M2 = 1.0
UNCOVERED_PCT = 0.5

GeoJSON = dict[str, Any]
Basis = Literal["plan", "no_limit", "no_data", "scanned_draft"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoPlanInForce(PlanningError, LookupError):
    """No plan version was in force on the date asked: there is no planning information to certify (HTTP 404)."""

    status_code = 404
    code = "NoPlanInForce"


class AsOfFacts(_Model):
    """The date a certificate answers for (the plan versions in force that day) and the date asked."""

    date: str = Field(description="The day the content answers for, YYYY-MM-DD")
    requested: str = Field(description="The day asked for (a later day than today answers for today), YYYY-MM-DD")


class LandUse(_Model):
    """A land-use code (TT 08/2024) with its names and official map colour."""

    code: str | None
    name_vi: str | None
    name_en: str | None
    color: str | None = Field(description="Official colour, #rrggbb")


class ParcelFacts(_Model):
    """The cadastral parcel (thửa đất)."""

    id: int
    ward: str | None
    ward_code: str | None
    sheet_no: int | None = Field(description="Map sheet number (số tờ)")
    parcel_no: int | None = Field(description="Parcel number (số thửa)")
    address: str | None
    area_m2: float | None = Field(description="Area as recorded in the cadastre, m²")
    measured_area_m2: float = Field(description="Area measured from the outline in VN-2000 (EPSG:9214), m²")
    land_use: LandUse | None = Field(description="The land use the cadastre records")
    geometry: GeoJSON = Field(description="The outline, EPSG:9214 metres to the millimetre")


class PlanFacts(_Model):
    """An approved plan version the certificate cites, with its approval decision."""

    id: int
    code: str = Field(description="Plan code (mã hồ sơ quy hoạch)")
    name: str | None
    level: str = Field(description="land_use, general, zoning (1/2000) or detailed (1/500)")
    version: int
    decision_no: str | None
    decision_date: str | None = Field(description="YYYY-MM-DD")
    approving_authority: str | None
    row_version: int


class RuleFacts(_Model):
    """One rule of a zone as the plan states it, with its basis and legal source."""

    name: str = Field(description="The rule's column in the layer catalogue, e.g. max_floors")
    label_vi: str
    label_en: str
    unit: str
    value: int | float | str | None
    basis: Basis | None = Field(description="Where a number comes from; null for texts")
    source: str = Field(description="Decision, plan version and zone")


class ZoneFacts(_Model):
    """A zone of an approved plan the parcel lies in."""

    id: int
    zone_code: str | None
    name: str | None
    land_use: LandUse
    area_m2: float = Field(description="Area of the parcel in this zone, m²")
    share_pct: float = Field(description="Share of the parcel in this zone, %")
    governing_m2: float = Field(
        description="Area of the parcel where this zone governs, m²: where plans of several levels overlap, the most "
        "detailed governs (gis_service.rules.footprint)"
    )
    plan_id: int
    confidence: float | None = Field(description="For a zone read from a scanned map: the reading's confidence")
    rules: list[RuleFacts]

    @property
    def label(self) -> str:
        """The zone's code, else its id (a lot of a detailed plan may have no code)."""
        return self.zone_code or f"#{self.id}"


class LineFacts(_Model):
    """A red line (chỉ giới đường đỏ) or building line (chỉ giới xây dựng) of an approved plan near the parcel."""

    id: int
    plan_id: int
    road_name: str | None
    width_m: float | None = Field(description="The road's red-line width, m")
    setback_m: float | None = Field(description="A building line's setback from the red line, m")
    distance_m: float = Field(description="Distance from the parcel, m")


class MissingItem(_Model):
    """Something the data cannot settle, said plainly."""

    topic: Literal["no_plan", "no_data", "scanned_draft", "uncovered", "envelope", "recorded_area"]
    zone_code: str | None = None
    text_vi: str
    text_en: str


class MapFeature(_Model):
    """A feature of the map extract, cut to the map's box (EPSG:9214, to the centimetre)."""

    id: int
    label: str | None
    geometry: GeoJSON
    land_use_code: str | None = None
    color: str | None = None
    area_m2: float | None = None
    label_at: tuple[float, float] | None = None
    width_m: float | None = None
    setback_m: float | None = None


class MapExtract(_Model):
    """The map extract: a box around the parcel at a stated scale, and what the plans and cadastre hold in it."""

    crs: str = "EPSG:9214"
    scale_denominator: int = Field(description="The map is drawn at 1:scale_denominator")
    width_mm: float
    height_mm: float
    bbox: tuple[float, float, float, float] = Field(description="xmin, ymin, xmax, ymax in EPSG:9214 metres")
    zones: list[MapFeature]
    red_lines: list[MapFeature]
    building_lines: list[MapFeature]
    parcels: list[MapFeature] = Field(description="The neighbouring parcels")
    legend: list[LandUse] = Field(description="The land uses on the map, in the official colours")


class PinnedRow(_Model):
    """A plan row the certificate was drawn from: its table, id and row version."""

    table: Literal["plans", "zones", "red_lines", "building_lines", "map_features", "parcels"]
    id: int
    row_version: int


class CertificateContent(_Model):
    """Everything a planning-information certificate says (see the module docstring)."""

    format: int = Field(default=1, description="The content's format version")
    as_of: AsOfFacts | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # a certificate of today's plan keeps the JSON (and hash) it always had
        description="The plan as of a date: the date answered for and the date asked; absent: the plan at issue",
    )
    parcel: ParcelFacts
    plan_data: Literal["plan", "scanned_draft", "no_data"] = Field(
        description="What the plan says here: its data, a scanned draft, or nothing"
    )
    zones: list[ZoneFacts] = Field(description="The zones, the largest share first")
    plans: list[PlanFacts]
    red_lines: list[LineFacts]
    building_lines: list[LineFacts]
    envelope: EnvelopeSummary | None
    missing: list[MissingItem]
    map: MapExtract
    pins: list[PinnedRow]

    def pinned_versions(self) -> list[str]:
        """The plan versions the content is drawn from, as ``code vN`` (the certificate's footer)."""
        return [f"{p.code} v{p.version}" for p in self.plans]


# -- finding the parcel ------------------------------------------------------------------------------------------


def _psycopg(conn: sa.Connection) -> psycopg.Connection[Any]:
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("certificates need a SQLAlchemy connection over psycopg 3")
    return raw


_SHEET_SQL = sa.text(
    "SELECT id, ward FROM planning.parcels WHERE sheet_no = :s AND parcel_no = :p "
    "AND (CAST(:w AS text) IS NULL OR ward = :w OR ward_code = :w) ORDER BY ward, id LIMIT 20"
)


def find_parcel(conn: sa.Connection, *, ward: str | None, sheet_no: int, parcel_no: int) -> int:
    """The id of the parcel with this sheet (tờ) and parcel (thửa) number, in ``ward`` (name or code) if given.

    Raises
    ------
    ValidationError
        A number is not a positive whole number, or the numbers exist in several wards and ``ward`` is not given.
    NotFound
        No such parcel.
    """
    query = LookupQuery(sheet_no=sheet_no, parcel_no=parcel_no, ward=ward)
    query.mode()  # checks the numbers
    rows = conn.execute(_SHEET_SQL, {"s": sheet_no, "p": parcel_no, "w": ward}).all()
    where = f"sheet {sheet_no}, parcel {parcel_no}" + (f" in {ward}" if ward else "")
    if not rows:
        raise NotFound(f"no parcel {where} (tờ {sheet_no}, thửa {parcel_no})")
    if len(rows) > 1:
        raise ValidationError(f"{where} exists in several wards ({', '.join(str(r[1]) for r in rows)}): give the ward")
    return int(rows[0][0])


# -- the content -------------------------------------------------------------------------------------------------


def certificate_content(conn: sa.Connection, parcel_id: int, *, as_of: date | None = None) -> CertificateContent:
    """The content of the certificate of a parcel, on the plan as it is now or as it stood on ``as_of``.

    Parameters
    ----------
    conn
        A SQLAlchemy connection (psycopg 3); nothing is written.
    parcel_id
        The parcel's id (:func:`find_parcel` finds it by ward, sheet and parcel number).
    as_of
        A date: the plan versions in force that day (:func:`gis_service.as_of.plans_in_force`; a later day than
        today answers for today). ``None``: the approved versions.

    Raises
    ------
    NotFound
        No parcel with that id.
    NoPlanInForce
        ``as_of`` is before the decision of any plan version.
    """
    pg = _psycopg(conn)
    answer = json.loads(lookup_json(pg, LookupQuery(parcel_id=parcel_id), as_of=as_of))
    dated = None if as_of is None else answer["as_of"]
    if dated is not None and answer["plan_data"] == "no_plan_in_force":
        raise _no_plan_in_force(pg, dated["requested"])
    plan_ids = None if dated is None else [p["id"] for p in dated["plans"]]
    site = fetch_site(pg, parcel_id=parcel_id, plan_ids=plan_ids)
    summary = EnvelopeSummary.model_validate(envelope_summary(envelope_of(site)))
    governing = {z.id: float(shapely.area(shapely.intersection(g, site.lot))) for z, g in governing_zones(site)}
    zones = [_zone(z, site, governing.get(z["id"], 0.0)) for z in answer["zones"]]
    plans = _plans(site, answer)
    parcel = _parcel(answer["parcel"], site)
    facts = None if dated is None else AsOfFacts(date=dated["date"], requested=dated["requested"])
    return CertificateContent(
        as_of=facts,
        parcel=parcel,
        plan_data=answer["plan_data"],
        zones=zones,
        plans=plans,
        red_lines=_lines(site, site.red_lines),
        building_lines=_lines(site, site.building_lines),
        envelope=summary,
        missing=_missing(answer["plan_data"], zones, parcel, site, summary, facts),
        map=map_extract(pg, site, parcel_id, plan_ids=plan_ids),
        pins=_pins(site),
    )


def _no_plan_in_force(pg: psycopg.Connection[Any], requested: str) -> NoPlanInForce:
    row = pg.execute(
        "SELECT to_char(min(decision_date), 'YYYY-MM-DD') FROM planning.plans "
        "WHERE status IN ('approved', 'superseded')"
    ).fetchone()
    first = None if row is None else row[0]
    since = f"; the earliest decision of a published plan is dated {first}" if first else ""
    return NoPlanInForce(
        f"no plan was in force on {requested} (as_of){since}: there is no planning information to certify for that date"
    )


def _land_use(d: dict[str, Any] | None) -> LandUse | None:
    return None if d is None else LandUse(code=d["code"], name_vi=d["name_vi"], name_en=d["name_en"], color=d["color"])


def _parcel(p: dict[str, Any], site: Site) -> ParcelFacts:
    outline = geojson(site.lot)
    assert outline is not None
    return ParcelFacts(
        id=p["id"],
        ward=p["ward"],
        ward_code=p["ward_code"],
        sheet_no=p["sheet_no"],
        parcel_no=p["parcel_no"],
        address=p["address"],
        area_m2=p["area_m2"],
        measured_area_m2=p["measured_area_m2"],
        land_use=_land_use(p["land_use"]),
        geometry=outline,
    )


def _zone(z: dict[str, Any], site: Site, governing_m2: float) -> ZoneFacts:
    zone = next(s for s in site.zones if s.id == z["id"])  # the site holds every zone the lookup found
    rules = []
    for c in RULES:
        value = z["rules"][c.name]
        if not c.is_numeric and value is None:
            continue  # a text the plan does not give (notes, heritage zone) is no missing number
        source = zone_limit(zone, c.name).source if c.is_numeric else plan_source(zone)
        basis = z["basis"].get(c.name)
        rules.append(
            RuleFacts(
                name=c.name,
                label_vi=c.label_vi,
                label_en=c.label_en,
                unit=c.unit,
                value=value,
                basis=basis,
                source=source,
            )
        )
    land_use = _land_use(z["land_use"])
    assert land_use is not None
    return ZoneFacts(
        id=z["id"],
        zone_code=z["zone_code"],
        name=z["name"],
        land_use=land_use,
        area_m2=z["area_m2"],
        share_pct=z["share_pct"],
        governing_m2=round(governing_m2, 2),
        plan_id=z["plan"]["id"],
        confidence=z["confidence"],
        rules=rules,
    )


def _plans(site: Site, answer: dict[str, Any]) -> list[PlanFacts]:
    """The plans the zones and lines come from, the most detailed level last (then by code and version)."""
    ids = {z["plan"]["id"] for z in answer["zones"]} | {p for p, _v in pins_of({"site": site})["rows"]["plans"]}
    plans = sorted((site.plans[i] for i in ids), key=lambda p: (p.rank, p.code, p.version))
    return [PlanFacts.model_validate({k: v for k, v in p.as_dict().items()}) for p in plans]


def _lines(site: Site, lines: tuple[Any, ...]) -> list[LineFacts]:
    """The lines within reach of the lot (:data:`gis_service.rules.site.SEARCH_M`), the nearest first."""
    facts = [
        LineFacts(
            id=line.id,
            plan_id=line.plan_id,
            road_name=line.road_name,
            width_m=line.width_m,
            setback_m=line.setback_m,
            distance_m=round(float(shapely.distance(line.geom, site.lot)), 2),
        )
        for line in lines
    ]
    return sorted(facts, key=lambda f: (f.distance_m, f.id))


def _pins(site: Site) -> list[PinnedRow]:
    used = pins_of({"site": site})
    rows = [PinnedRow(table=t, id=i, row_version=v) for t, pairs in used["rows"].items() for i, v in pairs]
    if used["parcel"] is not None:
        rows.append(PinnedRow(table="parcels", id=used["parcel"][0], row_version=used["parcel"][1]))
    return sorted(rows, key=lambda r: (r.table, r.id))


# -- what cannot be settled --------------------------------------------------------------------------------------


def _missing(
    plan_data: str,
    zones: list[ZoneFacts],
    parcel: ParcelFacts,
    site: Site,
    envelope: EnvelopeSummary,
    as_of: AsOfFacts | None,
) -> list[MissingItem]:
    items: list[MissingItem] = []
    if plan_data == "no_data" and as_of is None:
        items.append(
            MissingItem(
                topic="no_plan",
                text_vi="Không có quy hoạch đã được phê duyệt tại thửa đất này.",
                text_en="No approved plan covers this parcel.",
            )
        )
    elif plan_data == "no_data" and as_of is not None:
        y, m, d = as_of.date.split("-")
        items.append(
            MissingItem(
                topic="no_plan",
                text_vi=f"Không có quy hoạch có hiệu lực tại thửa đất này vào ngày {d}/{m}/{y}.",
                text_en=f"No plan in force on {as_of.date} covers this parcel.",
            )
        )
    for z in zones:
        items += _zone_missing(z)
    items += _uncovered(site)
    if envelope.status == "needs_review":
        items += [
            MissingItem(topic="envelope", text_vi=vi, text_en=en)
            for vi, en in zip(envelope.notes_vi, envelope.notes_en, strict=False)
        ]
    if parcel.area_m2 is None:
        items.append(
            MissingItem(
                topic="recorded_area",
                text_vi="Hồ sơ địa chính không ghi diện tích thửa đất; diện tích đo trên bản đồ được dùng.",
                text_en="The cadastre records no area for the parcel; the area measured on the map is used.",
            )
        )
    return items


def _zone_missing(z: ZoneFacts) -> list[MissingItem]:
    code = z.label
    items = []
    if any(r.basis == "scanned_draft" for r in z.rules):
        conf = "" if z.confidence is None else f" ({z.confidence:.0%})"
        items.append(
            MissingItem(
                topic="scanned_draft",
                zone_code=z.zone_code,
                text_vi=f"Ô {code} được đọc từ bản đồ quét{conf}: các chỉ tiêu là bản nháp, cần đối chiếu hồ sơ gốc.",
                text_en=f"Zone {code} was read from a scanned map{conf}: its figures are a draft, to be checked "
                "against the original dossier.",
            )
        )
    lacking = [r for r in z.rules if r.basis == "no_data"]
    if lacking:
        items.append(
            MissingItem(
                topic="no_data",
                zone_code=z.zone_code,
                text_vi=f"Ô {code}: quy hoạch không có số liệu về "
                + ", ".join(lower_first(r.label_vi) for r in lacking)
                + ".",
                text_en=f"Zone {code}: the plan gives no " + ", ".join(lower_first(r.label_en) for r in lacking) + ".",
            )
        )
    return items


def _uncovered(site: Site) -> list[MissingItem]:
    """The part of the parcel in no zone of an approved plan (a street, or beyond the plans), when not negligible."""
    zones = shapely.union_all([z.geom for z in site.zones]) if site.zones else None
    lot_m2 = float(shapely.area(site.lot))
    rest = site.lot if zones is None else shapely.difference(site.lot, zones)
    rest_m2 = float(shapely.area(rest))
    if not site.zones or rest_m2 < UNCOVERED_M2 or 100 * rest_m2 / lot_m2 < UNCOVERED_PCT:
        return []  # no zone at all is said once, as "no approved plan"
    pct = 100 * rest_m2 / lot_m2
    return [
        MissingItem(
            topic="uncovered",
            text_vi=f"{rest_m2:.2f} m² ({pct:.2f} %) của thửa đất không thuộc ô quy hoạch nào "
            "(đất giao thông hoặc ngoài phạm vi quy hoạch).",
            text_en=f"{rest_m2:.2f} m² ({pct:.2f} %) of the parcel lies in no zone of an approved plan "
            "(road land, or outside the plans).",
        )
    ]


# -- the map extract ---------------------------------------------------------------------------------------------


def choose_scale(width_m: float, height_m: float) -> int:
    """The most detailed scale of :data:`MAP_SCALES` at which a parcel of this size fits with its surroundings.

    >>> choose_scale(20, 30), choose_scale(60, 40), choose_scale(1005, 1005)
    (500, 1000, 10000)
    """
    for denominator in MAP_SCALES:
        box_w, box_h = MAP_WIDTH_MM * denominator / 1000, MAP_HEIGHT_MM * denominator / 1000
        need_w = width_m + 2 * max(MAP_MARGIN_M, MAP_MARGIN_SHARE * width_m)
        need_h = height_m + 2 * max(MAP_MARGIN_M, MAP_MARGIN_SHARE * height_m)
        if need_w <= box_w and need_h <= box_h:
            return denominator
    return MAP_SCALES[-1]


_MAP_SQL = (files("gis_service.certificates") / "map_extract.sql").read_text(encoding="utf-8")
_APPROVED = "WHERE status = 'approved'"
assert _MAP_SQL.count(_APPROVED) == 1, "map_extract.sql: the plans are chosen in one place"
#: The same statement on a past date: the plan versions in force then (gis_service.as_of), bound as ``plan_ids``.
_MAP_SQL_AS_OF = _MAP_SQL.replace(_APPROVED, "WHERE id = ANY(%(plan_ids)s::int[])")


def map_extract(
    pg: psycopg.Connection[Any], site: Site, parcel_id: int, *, plan_ids: list[int] | None = None
) -> MapExtract:
    """The map extract around the site's lot: the scale chosen, and the plans and parcels in its box.

    The plans are the approved versions, or the versions ``plan_ids`` (those in force on a date); the parcels are
    the cadastre as it is today.
    """
    x0, y0, x1, y1 = (float(v) for v in shapely.bounds(site.lot))
    denominator = choose_scale(x1 - x0, y1 - y0)
    half_w, half_h = MAP_WIDTH_MM * denominator / 2000, MAP_HEIGHT_MM * denominator / 2000
    cx, cy = round((x0 + x1) / 2, 2), round((y0 + y1) / 2, 2)
    bbox = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    params: dict[str, Any] = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3], "parcel_id": parcel_id}
    sql = _MAP_SQL if plan_ids is None else _MAP_SQL_AS_OF
    if plan_ids is not None:
        params["plan_ids"] = plan_ids
    row = pg.execute(sql, params, prepare=True).fetchone()
    assert row is not None
    found = json.loads(row[0])
    zones = [MapFeature.model_validate(z) for z in found["zones"]]
    return MapExtract(
        scale_denominator=denominator,
        width_mm=MAP_WIDTH_MM,
        height_mm=MAP_HEIGHT_MM,
        bbox=bbox,
        zones=zones,
        red_lines=[MapFeature.model_validate(r) for r in found["red_lines"]],
        building_lines=[MapFeature.model_validate(b) for b in found["building_lines"]],
        parcels=[MapFeature.model_validate(p) for p in found["parcels"]],
        legend=_legend(pg, sorted({z.land_use_code for z in zones if z.land_use_code})),
    )


def _legend(pg: psycopg.Connection[Any], codes: list[str]) -> list[LandUse]:
    rows = pg.execute(
        "SELECT code, name_vi, name_en, color_hex FROM planning.land_use_codes WHERE code = ANY(%s) ORDER BY code",
        (codes,),
        prepare=True,
    ).fetchall()
    known = {r[0]: LandUse(code=r[0], name_vi=r[1], name_en=r[2], color=r[3]) for r in rows}
    return [known.get(c, LandUse(code=c, name_vi=None, name_en=None, color=None)) for c in codes]
