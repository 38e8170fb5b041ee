"""Zoning lookup for citizens: which zones of the approved plans a parcel (or a point) lies in, and their rules.

Every answer is computed by PostGIS in EPSG:9214 (legal metres): the parcel, each zone of an approved plan it
intersects with the area in m² and the share of the parcel in %, the zone's rules, the plan (code, decision number
and date), with Vietnamese and English names. A point outside every parcel gets the zones at that point.

The functions take a psycopg connection (the service's pool, see :func:`ogc.provider.get_pool`); the answer is
built as JSON by the database in one statement, so the web layer passes it through without re-encoding.

``as_of`` (a date) answers with the plan versions in force that day (:mod:`gis_service.as_of`) instead of the
approved ones, and says so in the answer's ``as_of``: the date answered for and the versions. A day before any plan
was in force answers ``plan_data`` ``no_plan_in_force``. The parcel is the cadastre as it is today.

``view=consultation`` (:mod:`gis_service.consultation.view`) answers with only the drafts under consultation today,
never mixed with the approved plans, and says so in the answer's ``view`` and ``consultation`` (the notice, each
consultation's id, period and draft version); when no draft is under consultation, ``plan_data`` is
``no_consultation``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from gis_service.as_of import AsOf, plans_in_force, plans_in_force_async
from gis_service.consultation.view import (
    CONSULTATION,
    ConsultationView,
    drafts_under_consultation,
    drafts_under_consultation_async,
)
from gis_service.errors import NotFound, PlanningError, ValidationError
from gis_service.model.layers import ZONES
from gis_service.provenance import provenance_sql
from gis_service.rules import envelope_of, fetch_site, fetch_site_async
from gis_service.rules.cache import SiteCache
from gis_service.rules.envelope_answer import envelope_summary
from gis_service.rules.site import fetch_parcel_sites
from gis_service.service_area import E_RANGE, LAT_RANGE, LON_RANGE, N_RANGE

__all__ = [
    "LookupQuery",
    "default_lookups",
    "lookup",
    "lookup_json",
    "lookup_json_async",
    "lookup_with_envelope",
    "lookup_with_envelope_async",
]

# Zones that only touch the parcel (shared edge, digitising noise) are not "in" it.
MIN_SHARED_AREA_M2 = 0.01

_ZONES_AND_ANSWER = """
, subject AS MATERIALIZED (
    SELECT par.geom AS parcel_geom, ST_Area(par.geom) AS parcel_m2, coalesce(par.geom, pt.g) AS g
    FROM pt LEFT JOIN parcel par ON true
), hits AS MATERIALIZED (
    SELECT z.id, z.zone_code, z.name, z.land_use_code, __RULE_COLUMNS__, z.source,
           __PROVENANCE__ AS provenance,
           string_to_array(replace(coalesce(z.attributes->>'khongGioiHan', ''), ' ', ''), ',') AS no_limit,
           z.attributes->>'confidence' AS confidence,
           pl.code AS plan_code, pl.name AS plan_name, pl.level AS plan_level, pl.version AS plan_version,
           pl.decision_no, pl.decision_date, pl.approving_authority, pl.id AS plan_pk, s.parcel_m2,
           CASE WHEN s.parcel_geom IS NULL THEN NULL
                WHEN ST_Contains(z.geom, s.parcel_geom) THEN s.parcel_m2
                ELSE ST_Area(ST_Intersection(z.geom, s.parcel_geom)) END AS shared_m2
    FROM subject s
    JOIN planning.zones z ON ST_Intersects(z.geom, s.g)
    JOIN planning.plans pl ON pl.id = z.plan_id AND pl.status = 'approved'
    LEFT JOIN planning.feature_sources fs ON fs.id = z.source_id
), zone_list AS (
    SELECT h.*, c.name_vi, c.name_en, c.color_hex
    FROM hits h LEFT JOIN planning.land_use_codes c ON c.code = h.land_use_code
    WHERE h.shared_m2 IS NULL OR h.shared_m2 >= %(min_area)s
)
SELECT json_build_object(
    'query', %(query)s::jsonb,
    'location', (SELECT json_build_object(
        'lon', round(ST_X(w)::numeric, 8), 'lat', round(ST_Y(w)::numeric, 8),
        'e', round(ST_X(g)::numeric, 3), 'n', round(ST_Y(g)::numeric, 3))
        FROM pt, LATERAL ST_Transform(pt.g, 4326) AS w WHERE pt.g IS NOT NULL),
    'parcel', (SELECT json_build_object(
        'id', p.id, 'ward', p.ward, 'ward_code', p.ward_code, 'sheet_no', p.sheet_no, 'parcel_no', p.parcel_no,
        'address', p.address, 'area_m2', p.area_m2::float8, 'measured_area_m2', round(p.geom_area_m2::numeric, 2),
        'land_use', CASE WHEN p.land_use_code IS NULL THEN NULL ELSE json_build_object(
            'code', p.land_use_code, 'name_vi', c.name_vi, 'name_en', c.name_en, 'color', c.color_hex) END,
        'centroid', json_build_object('lon', round(ST_X(w)::numeric, 8), 'lat', round(ST_Y(w)::numeric, 8)))
        FROM parcel p LEFT JOIN planning.land_use_codes c ON c.code = p.land_use_code,
             LATERAL ST_Transform(ST_PointOnSurface(p.geom), 4326) AS w),
    'zones', coalesce((SELECT json_agg(json_build_object(
        'id', z.id, 'zone_code', z.zone_code, 'name', z.name,
        'land_use', json_build_object('code', z.land_use_code, 'name_vi', z.name_vi, 'name_en', z.name_en,
                                      'color', z.color_hex),
        'area_m2', round(z.shared_m2::numeric, 2),
        'share_pct', round((100 * z.shared_m2 / nullif(z.parcel_m2, 0))::numeric, 2),
        'rules', json_build_object(__RULES__),
        -- where each value comes from: the plan, the plan leaving it open, no data, or a scanned map (a draft)
        'basis', json_build_object(__BASIS__),
        'confidence', z.confidence::float8,
        -- where the zone comes from and whether a planner checked it (gis_service.provenance)
        'provenance', z.provenance,
        'plan', json_build_object(
            'id', z.plan_pk, 'code', z.plan_code, 'name', z.plan_name, 'level', z.plan_level,
            'version', z.plan_version, 'decision_no', z.decision_no,
            'decision_date', to_char(z.decision_date, 'YYYY-MM-DD'), 'approving_authority', z.approving_authority))
        ORDER BY z.shared_m2 DESC NULLS LAST, z.id) FROM zone_list z), '[]'::json),
    -- what the plan says here: its data, a scanned draft, or nothing (no approved plan covers the place)
    'plan_data', CASE WHEN NOT EXISTS (SELECT 1 FROM zone_list) THEN 'no_data'
                      WHEN EXISTS (SELECT 1 FROM zone_list WHERE source = 'scan') THEN 'scanned_draft'
                      ELSE 'plan' END
)::text
"""

#: The zone rules of the catalogue, and those whose basis the answer gives: the plan's value, the plan leaving it
#: open (``khongGioiHan``), no data, or a zone read from a scanned map (a draft).
RULES = ZONES.rules()
BASIS_COLUMNS = tuple(c.name for c in RULES if c.is_numeric)
_ZONES_AND_ANSWER = (
    _ZONES_AND_ANSWER.replace("__RULE_COLUMNS__", ", ".join(f"z.{c.name}" for c in RULES))
    .replace("__PROVENANCE__", provenance_sql("z", "fs"))
    .replace("__RULES__", ", ".join(f"'{c.name}', {c.sql_value('z')}" for c in RULES))
    .replace(
        "__BASIS__",
        ", ".join(
            f"'{c}', CASE WHEN z.source = 'scan' THEN 'scanned_draft' WHEN z.{c} IS NOT NULL THEN 'plan' "
            f"WHEN '{c}' = ANY(z.no_limit) THEN 'no_limit' ELSE 'no_data' END"
            for c in BASIS_COLUMNS
        ),
    )
)


def _in_force_variant(sql: str, stated: str = "'as_of', %(as_of)s::jsonb", none: str = "no_plan_in_force") -> str:
    """The statement for a past date: zones of the versions in force (bound ids), the date and versions stated;
    or, with ``stated`` and ``none`` of the view, for the drafts under consultation."""
    swaps = (
        (
            "JOIN planning.zones z ON ST_Intersects(z.geom, s.g)",
            "JOIN planning.zones z ON ST_Intersects(z.geom, s.g) AND z.plan_id = ANY(%(plan_ids)s::int[])",
        ),
        ("pl.id = z.plan_id AND pl.status = 'approved'", "pl.id = z.plan_id"),
        (
            "'plan_data', CASE WHEN",
            f"{stated},\n    'plan_data', CASE WHEN cardinality(%(plan_ids)s::int[]) = 0 THEN '{none}' WHEN",
        ),
    )
    for old, new in swaps:
        assert sql.count(old) == 1, old
        sql = sql.replace(old, new)
    return sql


_BY_POINT_4326 = (
    "WITH pt AS MATERIALIZED (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326), 9214) AS g), "
    "parcel AS MATERIALIZED (SELECT p.* FROM planning.parcels p, pt WHERE ST_Intersects(p.geom, pt.g) "
    "ORDER BY p.id LIMIT 1)"
)
_BY_POINT_9214 = (
    "WITH pt AS MATERIALIZED (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 9214) AS g), "
    "parcel AS MATERIALIZED (SELECT p.* FROM planning.parcels p, pt WHERE ST_Intersects(p.geom, pt.g) "
    "ORDER BY p.id LIMIT 1)"
)
_BY_PARCEL = (
    "WITH pt AS MATERIALIZED (SELECT NULL::geometry AS g), "
    "parcel AS MATERIALIZED (SELECT p.* FROM planning.parcels p WHERE p.id = %(parcel_id)s)"
)
SQL = {
    "lonlat": _BY_POINT_4326 + _ZONES_AND_ANSWER,
    "en": _BY_POINT_9214 + _ZONES_AND_ANSWER,
    "parcel": _BY_PARCEL + _ZONES_AND_ANSWER,
}
#: The default lookup of many parcels in one statement (the preparation at publication): the parcel statement
#: above, run for each id of ``%(ids)s`` through a LATERAL join, echoing the query each would have had.
SQL_PARCELS = (
    "SELECT ids.id, a.answer FROM unnest(%(ids)s::bigint[]) AS ids(id) CROSS JOIN LATERAL ("  # noqa: S608 (ours)
    + SQL["parcel"]
    .replace("%(parcel_id)s", "ids.id", 1)
    .replace("%(query)s::jsonb", "jsonb_build_object('parcel_id', ids.id)", 1)
    + ") AS a(answer) ORDER BY ids.id"
)
assert "%(parcel_id)s" not in SQL_PARCELS and "%(query)s" not in SQL_PARCELS
#: The same statements on a past date (``as_of``); today's stay as they were, the hot path.
SQL_AS_OF = {mode: _in_force_variant(sql) for mode, sql in SQL.items()}
#: The same statements in ``view=consultation``: the drafts under consultation (bound ids), the view stated.
SQL_CONSULTATION = {
    mode: _in_force_variant(sql, f"'view', '{CONSULTATION}', 'consultation', %(view)s::jsonb", "no_consultation")
    for mode, sql in SQL.items()
}
#: What a lookup answers from: the approved plans (None), the plan on a date, or the drafts under consultation.
Selection = AsOf | ConsultationView | None


@dataclass(frozen=True)
class LookupQuery:
    """One lookup: a point (``lon``/``lat`` or VN-2000 ``e``/``n``), a sheet and parcel number, or a parcel id."""

    lon: float | None = None
    lat: float | None = None
    e: float | None = None
    n: float | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    ward: str | None = None
    parcel_id: int | None = None

    def mode(self) -> str:
        """Which kind of lookup this is, after checking the values (raises ValidationError)."""
        given = {k for k, v in self.__dict__.items() if v is not None}
        modes = {
            "lonlat": {"lon", "lat"},
            "en": {"e", "n"},
            "sheet": {"sheet_no", "parcel_no"},
            "parcel": {"parcel_id"},
        }
        for name, needed in modes.items():
            extra_ok = {"ward"} if name == "sheet" else set()
            if needed <= given and not (given - needed - extra_ok):
                self._check(name)
                return name
        raise ValidationError(
            "give one of: lon and lat (WGS84 degrees); e and n (VN-2000 EPSG:9214 metres); sheet_no and parcel_no "
            f"(optionally ward); or parcel_id. Got: {', '.join(sorted(given)) or 'nothing'}"
        )

    def _check(self, mode: str) -> None:
        for name in ("lon", "lat", "e", "n"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValidationError(f"{name} must be a finite number, not {value}")
        if mode == "lonlat":
            self._check_lonlat()
        if mode == "en":
            self._check_en()
        for name, top in (("sheet_no", 2**31), ("parcel_no", 2**31), ("parcel_id", 2**63)):
            value = getattr(self, name)
            if value is not None and not 0 < value < top:
                raise ValidationError(f"{name} must be a positive whole number below {top}, not {value}")

    def _check_lonlat(self) -> None:
        assert self.lon is not None and self.lat is not None
        if not -90 <= self.lat <= 90:
            hint = "; lon and lat look swapped" if -90 <= self.lon <= 90 else ""
            raise ValidationError(f"lat must be between -90 and 90 degrees, not {self.lat}{hint}")
        if not -180 <= self.lon <= 180:
            raise ValidationError(f"lon must be between -180 and 180 degrees, not {self.lon}")
        # anywhere in Việt Nam gets an answer (maybe with no zones); farther away the projection would fail
        (w, e), (s, n) = LON_RANGE, LAT_RANGE
        if not (w <= self.lon <= e and s <= self.lat <= n):
            raise ValidationError(
                f"lon={self.lon}, lat={self.lat} is not in Vietnam: this service answers for positions between "
                f"{w:.0f} and {e:.0f}° E and {s:.0f} and {n:.0f}° N (Huế is near lon 107.6, lat 16.5)"
            )

    def _check_en(self) -> None:
        assert self.e is not None and self.n is not None
        if not (E_RANGE[0] <= self.e <= E_RANGE[1] and N_RANGE[0] <= self.n <= N_RANGE[1]):
            swapped = E_RANGE[0] <= self.n <= E_RANGE[1] and N_RANGE[0] <= self.e <= N_RANGE[1]
            raise ValidationError(
                f"e={self.e}, n={self.n} is not a VN-2000 (EPSG:9214, TM-3 107-00) position in Huế: expected e "
                f"between {E_RANGE[0]:.0f} and {E_RANGE[1]:.0f} m and n between {N_RANGE[0]:.0f} and "
                f"{N_RANGE[1]:.0f} m" + ("; e and n look swapped" if swapped else "")
            )

    def as_json(self) -> str:
        """The values given, as JSON (the query echoed in the answer)."""
        import json

        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None}, ensure_ascii=False)


def _sheet_sql(query: LookupQuery) -> tuple[str, list[Any]]:
    sql = "SELECT id, ward FROM planning.parcels WHERE sheet_no = %s AND parcel_no = %s"
    args: list[Any] = [query.sheet_no, query.parcel_no]
    if query.ward is not None:
        sql += " AND (ward = %s OR ward_code = %s)"
        args += [query.ward, query.ward]
    return sql + " ORDER BY ward LIMIT 20", args


def _sheet_parcel_id(query: LookupQuery, rows: list[tuple[Any, ...]]) -> int:
    where = f"sheet {query.sheet_no}, parcel {query.parcel_no}" + (f" in {query.ward}" if query.ward else "")
    if not rows:
        raise NotFound(f"no parcel {where} (tờ {query.sheet_no}, thửa {query.parcel_no})")
    if len(rows) > 1:
        wards = ", ".join(str(r[1]) for r in rows)
        raise ValidationError(f"{where} exists in several wards ({wards}): add ward=")
    parcel_id: int = rows[0][0]
    return parcel_id


def _answer_sql(query: LookupQuery, mode: str, parcel_id: int | None, found: Selection) -> tuple[str, dict[str, Any]]:
    import json

    params: dict[str, Any] = {"query": query.as_json(), "min_area": MIN_SHARED_AREA_M2}
    if mode in ("sheet", "parcel"):
        mode, params["parcel_id"] = "parcel", parcel_id if parcel_id is not None else query.parcel_id
    elif mode == "lonlat":
        params["x"], params["y"] = query.lon, query.lat
    else:
        params["x"], params["y"] = query.e, query.n
    if found is None:
        return SQL[mode], params
    if isinstance(found, ConsultationView):
        params["plan_ids"], params["view"] = found.plan_ids, json.dumps(found.as_dict(), ensure_ascii=False)
        return SQL_CONSULTATION[mode], params
    params["plan_ids"], params["as_of"] = found.plan_ids, json.dumps(found.as_dict(), ensure_ascii=False)
    return SQL_AS_OF[mode], params


def _checked(text: str, mode: str, params: dict[str, Any]) -> str:
    if mode == "parcel" and '"parcel" : null' in text:
        raise NotFound(f"no parcel with id {params['parcel_id']}")
    return text


def lookup_json(
    conn: psycopg.Connection[Any], query: LookupQuery, *, as_of: date | None = None, consultation: bool = False
) -> str:
    """The lookup answer as JSON text (see the module docstring), on ``as_of`` when given, or of the drafts under
    consultation (``consultation``).

    Raises
    ------
    ValidationError
        Bad or ambiguous input (e.g. a sheet/parcel number found in several wards without ``ward``).
    NotFound
        No parcel with that id, or that sheet and parcel number.
    """
    return _lookup_text(conn, query, _selection(conn, as_of, consultation))


def _selection(conn: psycopg.Connection[Any], as_of: date | None, consultation: bool) -> Selection:
    if consultation:
        return drafts_under_consultation(conn)
    return None if as_of is None else plans_in_force(conn, as_of)


async def _selection_async(conn: psycopg.AsyncConnection[Any], as_of: date | None, consultation: bool) -> Selection:
    if consultation:
        return await drafts_under_consultation_async(conn)
    return None if as_of is None else await plans_in_force_async(conn, as_of)


def _lookup_text(conn: psycopg.Connection[Any], query: LookupQuery, found: Selection) -> str:
    mode = query.mode()
    parcel_id = None
    if mode == "sheet":
        sql, args = _sheet_sql(query)
        parcel_id = _sheet_parcel_id(query, conn.execute(sql, args, prepare=True).fetchall())
    sql, params = _answer_sql(query, mode, parcel_id, found)
    row = conn.execute(sql, params, prepare=True).fetchone()
    assert row is not None
    return _checked(row[0], "parcel" if mode == "sheet" else mode, params)


async def lookup_json_async(
    conn: psycopg.AsyncConnection[Any], query: LookupQuery, *, as_of: date | None = None, consultation: bool = False
) -> str:
    """:func:`lookup_json` on an asynchronous connection (the web routes)."""
    return await _lookup_text_async(conn, query, await _selection_async(conn, as_of, consultation))


async def _lookup_text_async(conn: psycopg.AsyncConnection[Any], query: LookupQuery, found: Selection) -> str:
    mode = query.mode()
    parcel_id = None
    if mode == "sheet":
        sql, args = _sheet_sql(query)
        cur = await conn.execute(sql, args, prepare=True)
        parcel_id = _sheet_parcel_id(query, await cur.fetchall())
    sql, params = _answer_sql(query, mode, parcel_id, found)
    cur = await conn.execute(sql, params, prepare=True)
    row = await cur.fetchone()
    assert row is not None
    return _checked(row[0], "parcel" if mode == "sheet" else mode, params)


def lookup(conn: psycopg.Connection[Any], query: LookupQuery, *, as_of: date | None = None) -> dict[str, Any]:
    """The lookup answer as a dict, with the parcel's envelope (see :func:`lookup_with_envelope`)."""
    import json

    result: dict[str, Any] = json.loads(lookup_with_envelope(conn, query, as_of=as_of))
    return result


def _any_plan(in_force: Selection) -> bool:
    """Whether a plan was in force (always today), or a draft is under consultation: else there is no envelope."""
    if isinstance(in_force, ConsultationView):
        return bool(in_force.drafts)
    return in_force is None or bool(in_force.plans)


def _parcel_answer(text: str, envelope: bool) -> tuple[dict[str, Any], int] | None:
    """The lookup answer read, and its parcel's id, when an envelope is wanted and a parcel was found."""
    import json

    if not envelope:
        return None
    answer: dict[str, Any] = json.loads(text)
    parcel = answer.get("parcel")
    return None if parcel is None else (answer, int(parcel["id"]))


def _with_envelope(answer: dict[str, Any], pid: int, summary: dict[str, Any]) -> str:
    """The lookup answer with the parcel's buildable envelope (its figures; the geometry has its own route)."""
    import json

    answer["envelope"] = {**summary, "href": f"/parcels/{pid}/envelope"}
    return json.dumps(answer, ensure_ascii=False)


def lookup_with_envelope(
    conn: psycopg.Connection[Any],
    query: LookupQuery,
    *,
    envelope: bool = True,
    as_of: date | None = None,
    consultation: bool = False,
) -> str:
    """:func:`lookup_json`, with the parcel's buildable envelope (``envelope``) when a parcel is found.

    On ``as_of``, the envelope is drawn from the plan versions in force that day (none before any plan); with
    ``consultation``, from the drafts under consultation.
    """
    in_force = _selection(conn, as_of, consultation)
    text = _lookup_text(conn, query, in_force)
    found = _parcel_answer(text, envelope and _any_plan(in_force))
    if found is None:
        return text
    answer, pid = found
    plan_ids = None if in_force is None else in_force.plan_ids
    return _with_envelope(
        answer, pid, envelope_summary(envelope_of(fetch_site(conn, parcel_id=pid, plan_ids=plan_ids)))
    )


def default_lookups(conn: psycopg.Connection[Any], parcel_ids: list[int]) -> dict[int, str | PlanningError]:
    """The default lookup of many parcels, in two statements: for each, what
    ``lookup_with_envelope(conn, LookupQuery(parcel_id=pid))`` answers, or the error it raises.

    The same statements (:data:`SQL_PARCELS`, :data:`gis_service.rules.site.SQL_PARCELS`) run for every id at once
    (the lookups prepared at publication, :mod:`gis_service.lookup_prepared`); the envelope is drawn as one by one.
    """
    params = {"ids": parcel_ids, "min_area": MIN_SHARED_AREA_M2}
    texts = conn.execute(SQL_PARCELS, params, prepare=True).fetchall()
    sites = fetch_parcel_sites(conn, parcel_ids)
    out: dict[int, str | PlanningError] = {}
    for pid, text in texts:
        site = sites[pid]
        try:
            found = _parcel_answer(_checked(text, "parcel", {"parcel_id": pid}), True)
            if isinstance(site, PlanningError):
                raise site
        except PlanningError as e:
            out[pid] = e
            continue
        assert found is not None
        answer, _pid = found
        out[pid] = _with_envelope(answer, pid, envelope_summary(envelope_of(site)))
    return out


async def lookup_with_envelope_async(
    conn: psycopg.AsyncConnection[Any],
    query: LookupQuery,
    *,
    envelope: bool = True,
    cache: SiteCache | None = None,
    as_of: date | None = None,
    consultation: bool = False,
) -> str:
    """:func:`lookup_with_envelope` on an asynchronous connection (the web routes); sites may come from ``cache``."""
    in_force = await _selection_async(conn, as_of, consultation)
    text = await _lookup_text_async(conn, query, in_force)
    found = _parcel_answer(text, envelope and _any_plan(in_force))
    if found is None:
        return text
    answer, pid = found
    plan_ids = None if in_force is None else in_force.plan_ids
    if cache is None:
        site = await fetch_site_async(conn, parcel_id=pid, plan_ids=plan_ids)
        return _with_envelope(answer, pid, envelope_summary(envelope_of(site)))
    prep, _fp = await cache.prepared(conn, pid, plan_ids=plan_ids)
    if ("summary", None) not in prep.answers:
        prep.answers["summary", None] = envelope_summary(envelope_of(prep.site))
    return _with_envelope(answer, pid, prep.answers["summary", None])
