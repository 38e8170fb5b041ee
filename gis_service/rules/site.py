"""What the rules look at around one lot: the :class:`Site`, read from PostGIS in one statement.

A site holds the lot (a parcel, or a lot drawn by the user), the proposed footprint when there is one, the zones of
the approved plans under them, the red lines and building lines of the approved plans within :data:`SEARCH_M` of the
lot, and the alleys (kiệt, from the base map) that touch it. Geometry comes back as WKB in EPSG:9214 (legal metres;
a footprint or lot in lon/lat goes through the database's official VN-2000 shift) and all measuring is done by
:mod:`gis_service.rules.roads` and the rules, so the envelope and the check measure alike.

Three sources share the statement's shape: ``live`` (the plan as it is now), ``in_force`` (the plan versions in
force on a past date, :mod:`gis_service.as_of`) and ``pinned`` (the very rows a recorded permit check used, read back
from ``planning.change_history`` by entry id, so a re-run gives the original answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.errors import NotFound, PlanningError, ValidationError

__all__ = [
    "SEARCH_M",
    "Alley",
    "Line",
    "Plan",
    "Site",
    "Zone",
    "fetch_parcel_sites",
    "fetch_site",
    "fetch_site_async",
    "site_statement",
]

#: How far from the lot red lines and building lines are looked for (m).
SEARCH_M = 30.0
#: How far from the lot an alley may run and still serve it (m): digitised lots and alleys rarely meet exactly.
ALLEY_M = 1.0
#: Plan levels, most detailed last: where plans of several levels cover a lot, the most detailed governs.
LEVEL_RANK = {"land_use": 1, "general": 2, "zoning": 3, "detailed": 4}


@dataclass(frozen=True)
class Plan:
    """An approved plan version, as the answers cite it."""

    id: int
    code: str
    name: str | None
    level: str
    version: int
    decision_no: str | None
    decision_date: str | None
    approving_authority: str | None
    row_version: int
    history_id: int | None = None

    @property
    def rank(self) -> int:
        """How detailed the plan's level is (higher: more detailed)."""
        return LEVEL_RANK.get(self.level, 0)

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON."""
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "version": self.version,
            "decision_no": self.decision_no,
            "decision_date": self.decision_date,
            "approving_authority": self.approving_authority,
            "row_version": self.row_version,
        }


@dataclass(frozen=True)
class Zone:
    """A zone of an approved plan with its rules (``None``: the plan gives no value)."""

    id: int
    plan: Plan
    zone_code: str | None
    name: str | None
    land_use_code: str
    color: str | None
    max_density_pct: float | None
    max_floors: int | None
    min_floors: int | None
    max_height_m: float | None
    max_far: float | None
    min_setback_m: float | None
    min_ground_elev_m: float | None
    heritage_zone: str | None
    source: str | None
    attributes: dict[str, Any]
    row_version: int
    history_id: int | None
    geom: BaseGeometry

    @property
    def label(self) -> str:
        """The zone's code, else its id."""
        return self.zone_code or f"#{self.id}"

    @cached_property
    def no_limit(self) -> frozenset[str]:
        """Values the plan explicitly leaves unlimited (``khongGioiHan``: column names, comma-separated)."""
        raw = self.attributes.get("khongGioiHan") or self.attributes.get("no_limit") or ""
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return frozenset(str(i).strip() for i in items if str(i).strip())

    @property
    def new_area(self) -> bool:
        """A new development area (``khuVucMoi``), where QCVN's smallest lot sizes apply."""
        value = self.attributes.get("khuVucMoi", self.attributes.get("new_area"))
        return str(value).strip().lower() in ("1", "true", "yes", "có")

    @property
    def scanned(self) -> bool:
        """Digitised from a scanned map (a draft reading with a confidence, not the plan's own data)."""
        return self.source == "scan" or self.attributes.get("digitized_from") == "scan"

    @property
    def confidence(self) -> float | None:
        """How sure a scanned map's reading is, when recorded."""
        value = self.attributes.get("confidence")
        return None if value is None else float(value)

    @property
    def allowed_uses(self) -> tuple[str, ...]:
        """Land-use codes the zone allows besides its own."""
        return tuple(self.attributes.get("allowed_uses") or ())


@dataclass(frozen=True)
class Line:
    """A red line or building line of an approved plan."""

    id: int
    plan_id: int
    plan_rank: int
    road_name: str | None
    width_m: float | None
    setback_m: float | None
    row_version: int
    plan_row_version: int
    history_id: int | None
    geom: BaseGeometry


@dataclass(frozen=True)
class Alley:
    """A kiệt (alley) of the base map: access to back lots, not a planned road."""

    id: int
    name: str | None
    width_m: float | None
    row_version: int
    history_id: int | None
    geom: BaseGeometry


@dataclass(frozen=True)
class Site:
    """Everything the rules measure around one lot, in EPSG:9214."""

    lot: BaseGeometry
    footprint: BaseGeometry | None
    parcel: dict[str, Any] | None
    zones: tuple[Zone, ...]
    red_lines: tuple[Line, ...]
    building_lines: tuple[Line, ...]
    alleys: tuple[Alley, ...]
    plans: dict[int, Plan] = field(default_factory=dict)

    @property
    def address_road(self) -> str | None:
        """The road the parcel is addressed on (its ``tenDuong``), if the cadastre says."""
        return None if self.parcel is None else self.parcel.get("road_name")


# -- the statement ------------------------------------------------------------------------------------------------

_ZONE_COLS = (
    "id, plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, min_floors, max_height_m, max_far, "
    "min_setback_m, min_ground_elev_m, heritage_zone, source, attributes, row_version"
)
_PLAN_COLS = "id, code, name, level, version, decision_no, decision_date, approving_authority, row_version"
_PARCEL_COLS = "id, ward, ward_code, sheet_no, parcel_no, area_m2, land_use_code, address, attributes, row_version"
_LINE_COLS = "id, plan_id, road_name, red_line_width_m, row_version"
_ALLEY_COLS = "id, name, width_m, row_version"


def _cols(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def _live(table: str, columns: str | None, where: str) -> str:
    # None: every column (a CTE read once is inlined: only the columns the answer names are read)
    picked = "t.*" if columns is None else _cols(columns, "t")
    return f"SELECT {picked}, NULL::bigint AS history_id FROM planning.{table} t WHERE {where}"


def _pinned(table: str, columns: str, where: str) -> str:
    return (
        f"SELECT {_cols(columns, 'r')}, h.id AS history_id, h.after_geom AS geom FROM planning.change_history h "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::planning.{table}, h.after) r "
        f"WHERE h.table_name = '{table}' AND {where}"
    )


_NEAR_LOT = "t.plan_id IN (SELECT id FROM plans) AND ST_DWithin(t.geom, (SELECT g FROM lot), %(search_m)s)"
SOURCES: dict[str, dict[str, str]] = {
    "live": {
        "plans": _live("plans", _PLAN_COLS, "t.status = 'approved'"),
        "parcel": _live("parcels", None, "t.id = %(parcel_id)s"),
        "zones": _live(
            "zones",
            None,
            "t.plan_id IN (SELECT id FROM plans) AND t.geom && (SELECT box FROM reach) "
            "AND (ST_Intersects(t.geom, (SELECT g FROM lot)) OR ST_Intersects(t.geom, (SELECT g FROM fp)))",
        ),
        "red_lines": _live(
            "red_lines",
            None,
            f"CASE WHEN %(red_line_id)s::bigint IS NULL THEN {_NEAR_LOT} ELSE t.id = %(red_line_id)s END",
        ),
        "building_lines": _live("building_lines", None, _NEAR_LOT),
        "alleys": _live(
            "map_features", None, "t.kind = 'alley' AND ST_DWithin(t.geom, (SELECT g FROM lot), %(alley_m)s)"
        ),
    },
    "pinned": {
        "plans": _pinned("plans", _PLAN_COLS, "h.id = ANY(%(plan_h)s)"),
        "parcel": _pinned("parcels", _PARCEL_COLS, "h.id = %(parcel_h)s"),
        "zones": _pinned("zones", _ZONE_COLS, "h.id = ANY(%(zone_h)s)"),
        "red_lines": _pinned("red_lines", _LINE_COLS, "h.id = ANY(%(red_h)s)"),
        "building_lines": _pinned("building_lines", _LINE_COLS + ", setback_m", "h.id = ANY(%(bl_h)s)"),
        "alleys": _pinned("map_features", _ALLEY_COLS, "h.id = ANY(%(alley_h)s)"),
    },
}


def _geom_in_9214(param: str, srid: str) -> str:
    return (
        f"CASE WHEN %({param})s::bytea IS NULL THEN NULL::geometry WHEN %({srid})s::int = 9214 "
        f"THEN ST_SetSRID(ST_GeomFromWKB(%({param})s::bytea), 9214) "
        f"ELSE ST_Transform(ST_SetSRID(ST_GeomFromWKB(%({param})s::bytea), %({srid})s::int), 9214) END"
    )


def _hex(expr: str) -> str:
    return f"encode(ST_AsBinary({expr}), 'hex')"


_TEMPLATE = """WITH fp AS (SELECT {fp} AS g
), parcel AS ({parcel}
), lot AS (SELECT coalesce((SELECT geom FROM parcel), {lot}) AS g
), reach AS (SELECT ST_Expand(ST_Envelope(ST_Collect(lot.g, fp.g)), %(search_m)s) AS box FROM lot, fp
), plans AS ({plans}
), zones AS ({zones}
), red_lines AS ({red_lines}
), building_lines AS ({building_lines}
), alleys AS ({alleys}
) SELECT json_build_object('lot', (SELECT {lot_hex} FROM lot), 'fp', (SELECT {fp_hex} FROM fp),
'parcel', (SELECT row_to_json(p) FROM (SELECT {parcel_cols}, nullif(btrim(attributes->>'tenDuong'), '') AS road_name,
 history_id FROM parcel) p),
'plans', (SELECT json_agg(p) FROM (SELECT {plan_cols}, history_id FROM plans) p),
'zones', (SELECT json_agg(z ORDER BY z.id) FROM (SELECT {zone_cols}, z.history_id, c.color_hex AS color,
 {zone_hex} AS geom FROM zones z JOIN plans p ON p.id = z.plan_id
 LEFT JOIN planning.land_use_codes c ON c.code = z.land_use_code) z),
'red_lines', (SELECT json_agg(r ORDER BY r.id) FROM (SELECT {line_cols}, NULL AS setback_m, r.history_id,
 p.row_version AS plan_row_version, {line_hex} AS geom FROM red_lines r JOIN plans p ON p.id = r.plan_id) r),
'building_lines', (SELECT json_agg(r ORDER BY r.id) FROM (SELECT {line_cols}, r.setback_m, r.history_id,
 p.row_version AS plan_row_version, {line_hex} AS geom FROM building_lines r JOIN plans p ON p.id = r.plan_id) r),
'alleys', (SELECT json_agg(a ORDER BY a.id) FROM (SELECT {alley_cols}, a.history_id, {alley_hex} AS geom
 FROM alleys a) a)
)::text"""


def _statement(source: dict[str, str]) -> str:
    # Zones and lines are cut to the reach of the lot (their far parts change no answer and cost transfer).
    return _TEMPLATE.format(
        fp=_geom_in_9214("fp", "fp_srid"),
        lot=_geom_in_9214("lot", "lot_srid"),
        lot_hex=_hex("lot.g"),
        fp_hex=_hex("fp.g"),
        zone_hex=_hex("ST_ClipByBox2D(z.geom, (SELECT box FROM reach))"),
        line_hex=_hex("ST_ClipByBox2D(r.geom, (SELECT box FROM reach))"),
        alley_hex=_hex("ST_ClipByBox2D(a.geom, (SELECT box FROM reach))"),
        parcel_cols=_PARCEL_COLS.replace(", attributes", ""),
        plan_cols=_PLAN_COLS,
        zone_cols=_cols(_ZONE_COLS, "z"),
        line_cols=_cols(_LINE_COLS, "r").replace("r.red_line_width_m", "r.red_line_width_m AS width_m"),
        alley_cols=_cols(_ALLEY_COLS, "a"),
        **source,
    )


# The plan on a past date: the zones and lines of the versions in force then (gis_service.as_of), as they are kept.
SOURCES["in_force"] = {**SOURCES["live"], "plans": _live("plans", _PLAN_COLS, "t.id = ANY(%(plan_ids)s)")}
SQL = {mode: _statement(source) for mode, source in SOURCES.items()}
#: The live site of many parcels in one statement (the lookups prepared at publication): the live statement above,
#: run for each id of ``%(ids)s`` through a LATERAL join.
SQL_PARCELS = (
    "SELECT ids.id, s.site FROM unnest(%(ids)s::bigint[]) AS ids(id) CROSS JOIN LATERAL ("
    + SQL["live"].replace("%(parcel_id)s", "ids.id")
    + ") AS s(site) ORDER BY ids.id"
)


def site_statement(
    *,
    parcel_id: int | None = None,
    lot: tuple[bytes, int] | None = None,
    footprint: tuple[bytes, int] | None = None,
    red_line_id: int | None = None,
    pins: dict[str, Any] | None = None,
    plan_ids: list[int] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters: a parcel (``parcel_id``) or a drawn lot (WKB, SRID), and a footprint.

    The plan is the approved versions, or the rows ``pins`` names, or the versions ``plan_ids`` (those in force on
    a past date, :func:`gis_service.as_of.plans_in_force`).
    """
    params: dict[str, Any] = {
        "fp": None if footprint is None else footprint[0],
        "fp_srid": 9214 if footprint is None else footprint[1],
        "lot": None if lot is None else lot[0],
        "lot_srid": 9214 if lot is None else lot[1],
        "parcel_id": parcel_id,
        "red_line_id": red_line_id,
        "search_m": SEARCH_M,
        "alley_m": ALLEY_M,
    }
    if plan_ids is not None:
        return SQL["in_force"], {**params, "plan_ids": plan_ids}
    if pins is None:
        return SQL["live"], params
    params.update(
        plan_h=list(pins.get("plans", [])),
        zone_h=list(pins.get("zones", [])),
        red_h=list(pins.get("red_lines", [])),
        bl_h=list(pins.get("building_lines", [])),
        alley_h=list(pins.get("map_features", [])),
        parcel_h=pins.get("parcel"),
    )
    return SQL["pinned"], params


def _plan(d: dict[str, Any]) -> Plan:
    return Plan(
        id=d["id"],
        code=d["code"],
        name=d["name"],
        level=d["level"],
        version=d["version"],
        decision_no=d["decision_no"],
        decision_date=d["decision_date"],
        approving_authority=d["approving_authority"],
        row_version=d["row_version"],
        history_id=d["history_id"],
    )


def _geoms(items: list[dict[str, Any]]) -> list[BaseGeometry]:
    if not items:
        return []
    geoms = shapely.from_wkb([i["geom"] for i in items])
    # ST_ClipByBox2D may leave a clipped polygon invalid (its docs say so): overlays of invalid shapes go wrong
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = [polygonal_part(g) for g in shapely.make_valid(geoms[invalid])]
    return list(geoms)


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of a repaired shape (a repair can add the lines and points where the shape folded)."""
    if geom.geom_type in ("Polygon", "MultiPolygon", "LineString", "MultiLineString", "Point"):
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else geom


def _zones(raw: list[dict[str, Any]], plans: dict[int, Plan]) -> tuple[Zone, ...]:
    return tuple(
        Zone(
            id=z["id"],
            plan=plans[z["plan_id"]],
            zone_code=z["zone_code"],
            name=z["name"],
            land_use_code=z["land_use_code"],
            color=z["color"],
            max_density_pct=z["max_density_pct"],
            max_floors=z["max_floors"],
            min_floors=z["min_floors"],
            max_height_m=z["max_height_m"],
            max_far=z["max_far"],
            min_setback_m=z["min_setback_m"],
            min_ground_elev_m=z["min_ground_elev_m"],
            heritage_zone=z["heritage_zone"],
            source=z["source"],
            attributes=z["attributes"] or {},
            row_version=z["row_version"],
            history_id=z["history_id"],
            geom=g,
        )
        for z, g in zip(raw, _geoms(raw), strict=True)
        if not g.is_empty
    )


def _lines(raw: list[dict[str, Any]], plans: dict[int, Plan]) -> tuple[Line, ...]:
    return tuple(
        Line(
            id=r["id"],
            plan_id=r["plan_id"],
            plan_rank=plans[r["plan_id"]].rank,
            road_name=(r["road_name"] or "").strip() or None,
            width_m=r["width_m"],
            setback_m=r["setback_m"],
            row_version=r["row_version"],
            plan_row_version=r["plan_row_version"],
            history_id=r["history_id"],
            geom=g,
        )
        for r, g in zip(raw, _geoms(raw), strict=True)
        if not g.is_empty
    )


def _alleys(raw: list[dict[str, Any]]) -> tuple[Alley, ...]:
    return tuple(
        Alley(a["id"], a["name"], a["width_m"], a["row_version"], a["history_id"], g)
        for a, g in zip(raw, _geoms(raw), strict=True)
        if not g.is_empty
    )


def parse_site(
    text: str, *, parcel_id: int | None = None, red_line_id: int | None = None, pinned: bool = False
) -> Site:
    """The statement's JSON answer as a :class:`Site` (raises NotFound for an unknown parcel or red line)."""
    d = json.loads(text)
    if parcel_id is not None and d["parcel"] is None and not pinned:
        raise NotFound(f"no parcel with id {parcel_id}")
    if d["lot"] is None:
        raise ValidationError("lot: the lot is missing")
    lot = shapely.from_wkb(d["lot"])
    if lot.is_empty or lot.area == 0:
        raise ValidationError("lot: the lot has no area")
    plans = {p["id"]: _plan(p) for p in d["plans"] or []}
    zones = _zones(d["zones"] or [], plans)
    red = _lines(d["red_lines"] or [], plans)
    if red_line_id is not None and not pinned and not any(r.id == red_line_id for r in red):
        raise NotFound(f"no red line with id {red_line_id} in an approved plan")
    alleys = _alleys(d["alleys"] or [])
    return Site(
        lot=lot,
        footprint=None if d["fp"] is None else shapely.from_wkb(d["fp"]),
        parcel=d["parcel"],
        zones=zones,
        red_lines=red,
        building_lines=_lines(d["building_lines"] or [], plans),
        alleys=alleys,
        plans=plans,
    )


def fetch_site(conn: psycopg.Connection[Any], **kw: Any) -> Site:
    """Read a site (see :func:`site_statement` for the arguments) on a synchronous connection."""
    sql, params = site_statement(**kw)
    row = conn.execute(sql, params, prepare=True).fetchone()
    assert row is not None
    return parse_site(
        row[0], parcel_id=kw.get("parcel_id"), red_line_id=kw.get("red_line_id"), pinned=kw.get("pins") is not None
    )


def fetch_parcel_sites(conn: psycopg.Connection[Any], parcel_ids: list[int]) -> dict[int, Site | PlanningError]:
    """The live sites of these parcels in one statement: for each, what :func:`fetch_site` gives for it, or the
    error it raises (e.g. NotFound for an unknown parcel)."""
    params = {**site_statement(parcel_id=None)[1], "ids": parcel_ids}
    del params["parcel_id"]
    out: dict[int, Site | PlanningError] = {}
    for pid, text in conn.execute(SQL_PARCELS, params, prepare=True):
        try:
            out[pid] = parse_site(text, parcel_id=pid)
        except PlanningError as e:
            out[pid] = e
    return out


async def fetch_site_async(conn: psycopg.AsyncConnection[Any], **kw: Any) -> Site:
    """:func:`fetch_site` on an asynchronous connection (the web routes)."""
    sql, params = site_statement(**kw)
    cur = await conn.execute(sql, params, prepare=True)
    row = await cur.fetchone()
    assert row is not None
    return parse_site(
        row[0], parcel_id=kw.get("parcel_id"), red_line_id=kw.get("red_line_id"), pinned=kw.get("pins") is not None
    )
