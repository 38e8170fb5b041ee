"""The project's own pygeoapi feature provider (``ogc.provider.PlanningProvider``).

Why not pygeoapi's PostgreSQL provider (measured, see ``bench/serve.py``): it builds a pyproj ``Transformer`` and
transforms every feature in Python whenever the output CRS differs from the storage CRS, COUNTs the whole table on
every page, opens a SQLAlchemy engine per configuration, and answers a filter on an unknown property with an empty
200. This provider:

* reads the geometry copies PostgreSQL maintains (``geom_4326`` for CRS84 and EPSG:4326, ``geom_3857`` for Web
  Mercator; ``geom`` for the legal EPSG:9214), so no request transforms anything;
* counts only when it is free (a short last page) or asked (``resulttype=hits``);
* shares one psycopg connection pool per database and process (pygeoapi builds a provider per request);
* compiles CQL2 to SQL with bound parameters and refuses unknown properties (400);
* serves only what the public may see (features of approved plans), or of a plan layer the features of the plan
  versions in force on ``as_of`` (:mod:`gis_service.as_of`; the configuration lets pygeoapi hand the provider the
  query parameters it does not know, and the provider keeps ``as_of`` and the properties, as pygeoapi would), or
  with ``view=consultation`` only the features of the drafts under consultation today, each marked with
  ``view`` and ``plan_status`` (:mod:`gis_service.consultation.view`; never mixed with the approved plan).

pygeoapi is told that the storage CRS is EPSG:4326 (the ``geom_4326`` copy, read latitude first). Why: pygeoapi
transforms every bbox into the storage CRS with a new pyproj Transformer per request, which is slow with EPSG:9214
(and transforms only two corners of the box) and with CRS84 (``CRS.to_epsg()`` searches the whole EPSG database for
a CRS that has no EPSG code), and cheap with EPSG:4326 (``docs/decisions.md``). So the provider receives bbox and CQL2
geometry literals in EPSG:4326 axis order (latitude, longitude) and swaps them back; "no transform" (no ``crs``
transform spec) means EPSG:4326 output. The legal EPSG:9214 geometry is an output CRS, straight from ``geom``.

Ready for writes: the editing issue adds ``create``/``update``/``delete`` through :mod:`gis_service.editing`
(history, reason, transactions); reads here never hold a transaction open.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from gis_service.as_of import parse_as_of, plans_in_force
from gis_service.consultation.view import CONSULTATION, VIEW, parse_view
from gis_service.errors import ValidationError
from ogc.cql import CqlError, compile_filter
from ogc.layers import LAYERS, Column, Layer, lonlat_window

__all__ = [
    "AS_OF",
    "CRS84",
    "OUTPUT_CRS",
    "PLAN_VERSION",
    "STORAGE_CRS_FOR_PYGEOAPI",
    "VIEW",
    "PlanningProvider",
    "close_databases",
    "get_pool",
    "register_database",
]

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_CRS_FOR_PYGEOAPI = EPSG + "4326"


@dataclass(frozen=True)
class OutputCrs:
    uri: str
    geometry_sql: str  # expression over table alias t
    decimals: int  # 8 decimals of a degree ~ 1 mm; 3 decimals of a metre = 1 mm


# Every offered CRS, each read from a column PostgreSQL maintains (no transform per request).
OUTPUT_CRS: dict[str, OutputCrs] = {
    c.uri: c
    for c in (
        OutputCrs(CRS84, "t.geom_4326", 8),
        OutputCrs(EPSG + "4326", "ST_FlipCoordinates(t.geom_4326)", 8),  # EPSG:4326 is latitude first
        OutputCrs(EPSG + "9214", "t.geom", 3),
        OutputCrs(EPSG + "3857", "t.geom_3857", 3),
    )
}


@dataclass(frozen=True)
class DatabaseConfig:
    dsn: str
    pool_size: int = 10
    statement_timeout_ms: int = 30_000
    prepared_statements: bool = True


_DATABASES: dict[str, DatabaseConfig] = {}
_POOLS: dict[str, ConnectionPool] = {}
_LOCK = threading.Lock()
_FIELDS: dict[str, dict[str, dict[str, Any]]] = {}
_ID = Column("id", "integer", "Mã", "Id")  # every feature's id, which is no column of the layers' lists
#: The query parameter of a plan layer's features on a past date.
AS_OF = "as_of"
#: The plan version a planner asked for with ``plan``/``version`` (checked, token and all, by the web edge
#: ``gis_service.api.ogc_drafts``, which drops this parameter from every request it did not set itself).
PLAN_VERSION = "_plan_version"


def register_database(
    key: str, dsn: str, *, pool_size: int = 10, statement_timeout_ms: int = 30_000, prepared_statements: bool = True
) -> None:
    """Tell the providers of this process where database ``key`` is (the app does it in its lifespan).

    The URL stays in memory: the pygeoapi configuration on disk names only ``key``.
    """
    with _LOCK:
        old = _DATABASES.get(key)
        new = DatabaseConfig(dsn, pool_size, statement_timeout_ms, prepared_statements)
        if old != new and key in _POOLS:
            _POOLS.pop(key).close()
        _DATABASES[key] = new


def close_databases() -> None:
    """Close every pool of this process (at application shutdown)."""
    with _LOCK:
        for pool in _POOLS.values():
            pool.close()
        _POOLS.clear()


def get_pool(key: str) -> ConnectionPool:
    """The connection pool of database ``key``, opened on first use."""
    pool = _POOLS.get(key)
    if pool is not None:
        return pool
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            cfg = _DATABASES.get(key)
            if cfg is None:
                raise ProviderConnectionError(user_msg=f"database {key!r} is not configured in this process")
            options = f"-c statement_timeout={cfg.statement_timeout_ms}" if cfg.statement_timeout_ms else ""
            pool = ConnectionPool(
                cfg.dsn,
                min_size=1,
                max_size=cfg.pool_size,
                kwargs={
                    "autocommit": True,
                    "options": options,
                    "application_name": "hue-planning-ogc",
                    "prepare_threshold": 5 if cfg.prepared_statements else None,
                },
                open=True,
                name=f"ogc-{key}",
            )
            _POOLS[key] = pool
    return pool


def _parse_value(column: Column, raw: str) -> Any:
    """A query-string value as the column's type, or a 400 naming the property."""
    try:
        if column.type == "integer":
            return int(raw)
        if column.type == "number":
            return float(raw)
        if column.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
    except ValueError:
        raise ProviderInvalidQueryError(
            user_msg=f"property {column.name!r} takes a {column.type}, not {raw!r}"
        ) from None
    return raw


class PlanningProvider(BaseProvider):
    """Features of one layer of schema ``planning`` (see :data:`ogc.layers.LAYERS`)."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        layer_name = provider_def.get("table", "")
        if layer_name not in LAYERS:
            raise ProviderConnectionError(user_msg=f"unknown layer {layer_name!r}")
        self.layer: Layer = LAYERS[layer_name]
        self.database_key = str(provider_def["data"])
        self.id_field = "id"
        self.title_field = provider_def.get("title_field")
        self.get_fields()

    # -- schema ------------------------------------------------------------------------------------------
    def get_fields(self) -> dict[str, dict[str, Any]]:
        """The layer's properties with their JSON types, as pygeoapi describes them (built once per layer)."""
        fields = _FIELDS.get(self.layer.name)
        if fields is None:
            fields = {}
            for c in self.layer.columns:
                kind = {"type": "string", "format": c.type} if c.type in ("date", "datetime") else {"type": c.type}
                fields[c.name] = {**kind, "title": c.title}
            _FIELDS[self.layer.name] = fields
        self._fields = fields
        return fields

    # -- reading -----------------------------------------------------------------------------------------
    def _output(self, crs_transform_spec: Any) -> OutputCrs:
        if crs_transform_spec is None:  # the output CRS is what pygeoapi was told is the storage CRS
            return OUTPUT_CRS[STORAGE_CRS_FOR_PYGEOAPI]
        try:
            return OUTPUT_CRS[crs_transform_spec.target_crs_uri]
        except KeyError:
            raise ProviderInvalidQueryError(
                user_msg=f"CRS {crs_transform_spec.target_crs_uri} is not offered; use one of {', '.join(OUTPUT_CRS)}"
            ) from None

    def _select(
        self, out: OutputCrs, skip_geometry: bool, select_properties: list[str] | None, consultation: bool = False
    ) -> str:
        columns = self.layer.columns
        if select_properties:
            unknown = [p for p in select_properties if p not in self.layer.column_map]
            if unknown:
                raise ProviderInvalidQueryError(
                    user_msg=f"properties: collection {self.layer.name!r} has no property {', '.join(unknown)}"
                )
            columns = tuple(c for c in columns if c.name in select_properties)
        props = ", ".join(f"'{c.name}', {c.sql_value()}" for c in columns)
        if consultation:  # a draft's features say so, whatever properties were asked
            props = ", ".join(p for p in (props, f"'view', '{CONSULTATION}', 'plan_status', 'draft'") if p)
        geometry = "NULL::json" if skip_geometry else f"ST_AsGeoJSON({out.geometry_sql}, {out.decimals})::json"
        return (
            "json_build_object('type', 'Feature', 'id', t.id, 'geometry', "
            f"{geometry}, 'properties', json_build_object({props}))"
        )

    def _run(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self._run_with(lambda conn: conn.execute(sql, params).fetchall())

    def _run_with(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            with get_pool(self.database_key).connection() as conn:
                return work(conn)
        except (psycopg.errors.DataError, psycopg.errors.InvalidParameterValue, psycopg.errors.InternalError_) as exc:
            LOGGER.info("a query of %s refused by the database: %s", self.layer.name, str(exc).splitlines()[0])
            raise ProviderInvalidQueryError(
                user_msg="a value of the query cannot be used (a number out of range, or a geometry PostGIS cannot "
                "read): check bbox, filter and the property values"
            ) from None
        except psycopg.errors.QueryCanceled:
            raise ProviderQueryError(user_msg="the query took too long; narrow it with bbox, filter or limit") from None
        except psycopg.OperationalError as exc:
            LOGGER.error("database unavailable: %s", exc)
            raise ProviderConnectionError(user_msg="the database is unavailable") from None

    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list[float] | None = None,
        datetime_: str | None = None,
        properties: list[tuple[str, str]] | None = None,
        sortby: list[dict[str, str]] | None = None,
        select_properties: list[str] | None = None,
        skip_geometry: bool = False,
        q: str | None = None,
        filterq: Any = None,
        crs_transform_spec: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A page of public features: bbox, property values and CQL2 filter applied, sorted, in the output CRS.

        ``numberMatched`` is given only when it costs nothing (the last page) or is asked for
        (``resulttype=hits``, which counts and returns no feature).
        """
        out = self._output(crs_transform_spec)
        consultation = self._consultation(properties or [])
        properties, plan_filter = self._plan_filter(properties or [], consultation)
        where, params = self._where(bbox, properties, filterq, plan_filter)
        where_sql = " AND ".join(where)

        if resulttype == "hits":
            (count,) = self._run(f"SELECT count(*) FROM {self.layer.table} t WHERE {where_sql}", params)[0]
            return {"type": "FeatureCollection", "features": [], "numberMatched": count, "numberReturned": 0}

        sql = (
            f"SELECT {self._select(out, skip_geometry, select_properties, consultation)} FROM {self.layer.table} t "
            f"WHERE {where_sql} ORDER BY {', '.join(self._order(sortby))} LIMIT %s OFFSET %s"
        )
        rows = self._run(sql, [*params, int(limit), int(offset)])
        features = [r[0] for r in rows]
        result: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": len(features),
        }
        if len(features) < limit and (features or offset == 0):
            result["numberMatched"] = offset + len(features)  # the last page: the count is free
        return result

    def _consultation(self, properties: list[tuple[str, str]]) -> bool:
        """Whether ``view=consultation`` was asked (a 400 for another value, with ``as_of``, or of a layer outside
        plan versions)."""
        raw = next((v for k, v in properties if k == VIEW), None)
        try:
            wanted = parse_view(raw, as_of=next((v for k, v in properties if k == AS_OF), None))
        except ValidationError as exc:
            raise ProviderInvalidQueryError(user_msg=exc.message) from None
        if wanted and self.layer.consultation_filter is None:
            raise ProviderInvalidQueryError(
                user_msg=f"view=consultation: collection {self.layer.name!r} is no plan layer, a draft does not "
                "change it; the view applies to plans, zones, red_lines and building_lines"
            )
        return wanted

    def _plan_filter(
        self, properties: list[tuple[str, str]], consultation: bool = False
    ) -> tuple[list[tuple[str, str]], tuple[str, list[Any]]]:
        """The property filters (parameters pygeoapi does not know, but ``as_of``, are dropped, as pygeoapi does)
        and the condition on the rows' plan versions: approved, in force on ``as_of`` (a 400 names a bad one), or
        the drafts under consultation."""
        kept = [(k, v) for k, v in properties if k in self._fields]
        version = next((v for k, v in properties if k == PLAN_VERSION), None)
        if version is not None:
            if self.layer.in_force_filter is None:
                raise ProviderInvalidQueryError(
                    user_msg=f"plan: collection {self.layer.name!r} is no plan layer; plan and version apply to "
                    "plans, zones, red_lines and building_lines"
                )
            return kept, (self.layer.in_force_filter, [[int(version)]])
        if consultation and self.layer.consultation_filter is not None:
            return kept, (self.layer.consultation_filter, [])
        raw = next((v for k, v in properties if k == AS_OF), None)
        if raw is None:
            return kept, (self.layer.public_filter, [])
        if self.layer.in_force_filter is None:
            raise ProviderInvalidQueryError(
                user_msg=f"as_of: collection {self.layer.name!r} is no plan layer, it is kept as it is today; "
                "as_of applies to plans, zones, red_lines and building_lines"
            )
        try:
            day = parse_as_of(raw)
        except ValidationError as exc:
            raise ProviderInvalidQueryError(user_msg=exc.message) from None
        plan_ids = self._run_with(lambda conn: plans_in_force(conn, day).plan_ids)
        return kept, (self.layer.in_force_filter, [plan_ids])

    def _where(
        self,
        bbox: list[float] | None,
        properties: list[tuple[str, str]] | None,
        filterq: Any,
        plan_filter: tuple[str, list[Any]],
    ) -> tuple[list[str], list[Any]]:
        """The conditions of a query (plan versions, bbox, property values, CQL2 filter) and their values."""
        where = [plan_filter[0]]
        params: list[Any] = list(plan_filter[1])
        if bbox:
            self._where_bbox(bbox, where, params)
        for name, raw in properties or []:
            column = self._property_column(name)
            where.append(f"t.{column.name} = %s")
            params.append(_parse_value(column, raw))
        if filterq is not None:
            try:
                sql, filter_params = compile_filter(filterq, self.layer)
            except CqlError as exc:
                raise ProviderInvalidQueryError(user_msg=str(exc)) from None
            where.append(sql)
            params.extend(filter_params)
        return where, params

    def _where_bbox(self, bbox: list[float], where: list[str], params: list[Any]) -> None:
        """The bbox's conditions; pygeoapi hands it over in EPSG:4326 order (lat, lon)."""
        if len(bbox) == 6:  # a 3D bbox: x y of its corners
            bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
        bbox = [bbox[1], bbox[0], bbox[3], bbox[2]]
        if not all(math.isfinite(float(v)) for v in bbox):
            raise ProviderInvalidQueryError(user_msg="bbox: the corners must be finite numbers (no NaN, no infinity)")
        env = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        where.append(f"ST_Intersects(t.geom_4326, {env})")
        params.extend(float(v) for v in bbox)
        if (window := lonlat_window(self.layer.name, env)) is not None:  # zones: through their index on geom
            where.append(window)
            params.extend(float(v) for v in bbox)

    def _property_column(self, name: str) -> Column:
        """The column a property filter (``?name=value``) compares; 400 for an unknown property."""
        if name == "id":
            return _ID
        column = self.layer.column_map.get(name)
        if column is None:
            raise ProviderInvalidQueryError(user_msg=f"collection {self.layer.name!r} has no property {name!r}")
        return column

    def _order(self, sortby: list[dict[str, str]] | None) -> list[str]:
        """ORDER BY terms for ``sortby``, then the id (pages must not overlap)."""
        order = []
        for s in sortby or []:
            prop = s["property"]
            if prop != "id" and prop not in self.layer.column_map:
                raise ProviderInvalidQueryError(user_msg=f"sortby: collection {self.layer.name!r} has no {prop!r}")
            order.append(f"t.{prop} {'DESC' if s.get('order') == '-' else 'ASC'}")
        order.append("t.id")
        return order

    def get(self, identifier: Any, crs_transform_spec: Any = None, **kwargs: Any) -> dict[str, Any]:
        """One public feature by its id, in the output CRS; not found (404) also for an id that is no 64-bit integer."""
        out = self._output(crs_transform_spec)
        try:
            fid = int(str(identifier))
        except ValueError:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r} in {self.layer.name}") from None
        if not -(2**63) <= fid < 2**63:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r} in {self.layer.name}")
        sql = (
            f"SELECT {self._select(out, False, None)} FROM {self.layer.table} t "
            f"WHERE t.id = %s AND {self.layer.public_filter}"
        )
        rows = self._run(sql, [fid])
        if not rows:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r} in {self.layer.name}")
        feature: dict[str, Any] = rows[0][0]
        return feature

    def __repr__(self) -> str:
        return f"<PlanningProvider> {self.layer.name}"
