"""CQL2 (text or JSON, parsed by pygeofilter) compiled to a PostgreSQL WHERE clause with bound parameters.

pygeofilter's own SQL back-ends either inline literals (``to_sql_where``) or need an SQLAlchemy model per table, and
an unknown property silently matches nothing. Here every property is checked against the layer's published
columns (unknown -> :class:`CqlError`, a 400), every value is a bound parameter (``%s`` for psycopg), and spatial
literals (CRS84, as pygeoapi hands them over) are compared with the maintained ``geom_4326`` column. A geometry
literal has at most :data:`MAX_VERTICES` vertices and finite coordinates (``NaN`` or ``1e400`` is a 400, never a
database error nor a filter silently dropped).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from pygeofilter import ast, values

from ogc.layers import NO_LONLAT_INDEX, Layer, lonlat_window

__all__ = ["MAX_VERTICES", "CqlError", "compile_filter"]

#: The most vertices of a geometry literal in a filter (a query shape, not a survey).
MAX_VERTICES = 10_000
GEOMETRY_NAMES = {"geometry", "geom", "the_geom", "shape"}

COMPARISON = {
    ast.ComparisonOp.EQ: "=",
    ast.ComparisonOp.NE: "<>",
    ast.ComparisonOp.LT: "<",
    ast.ComparisonOp.LE: "<=",
    ast.ComparisonOp.GT: ">",
    ast.ComparisonOp.GE: ">=",
}
SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects",
    ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
    ast.SpatialComparisonOp.CONTAINS: "ST_Contains",
    ast.SpatialComparisonOp.WITHIN: "ST_Within",
    ast.SpatialComparisonOp.TOUCHES: "ST_Touches",
    ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
    ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps",
    ast.SpatialComparisonOp.EQUALS: "ST_Equals",
}


class CqlError(ValueError):
    """A filter that cannot be applied to this layer (unknown property, unsupported operator, bad literal)."""


def _positions(geojson: dict[str, Any]) -> Iterator[Any]:
    """Every position of a GeoJSON geometry (of a collection's members too), without recursion."""
    stack: list[Any] = [geojson.get("coordinates", [])]
    stack.extend(g for g in geojson.get("geometries", []) or [] if isinstance(g, dict))
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.append(item.get("coordinates", []))
            stack.extend(g for g in item.get("geometries", []) or [] if isinstance(g, dict))
        elif isinstance(item, list | tuple) and item and not isinstance(item[0], list | tuple):
            yield item
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _check_literal(geojson: dict[str, Any]) -> None:
    """A geometry literal: at most :data:`MAX_VERTICES` positions, each of finite numbers."""
    for count, position in enumerate(_positions(geojson), start=1):
        if count > MAX_VERTICES:
            raise CqlError(f"filter: a geometry has more than {MAX_VERTICES} vertices")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in position):
            raise CqlError("filter: the coordinates of a geometry must be finite numbers")


def _finite(*corners: float) -> list[float]:
    values_ = [float(c) for c in corners]
    if not all(math.isfinite(v) for v in values_):
        raise CqlError("filter: the corners of a bbox must be finite numbers")
    return values_


class _Compiler:
    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def attribute(self, node: ast.Attribute) -> str:
        name = node.name
        if name in GEOMETRY_NAMES:
            return "t.geom_4326"
        if name == "id":
            return "t.id"
        column = self.layer.column_map.get(name)
        if column is None:
            known = ", ".join(["id", *self.layer.column_map])
            raise CqlError(f"filter: collection {self.layer.name!r} has no property {name!r} (known: {known})")
        return f"t.{column.name}"

    def geometry(self, node: Any) -> str:
        if isinstance(node, values.Geometry):
            geo = dict(node.geometry)
            _check_literal(geo)
            crs = str(geo.pop("crs", {}).get("properties", {}).get("name", "")).upper()
            literal = f"ST_SetSRID(ST_GeomFromGeoJSON({self.param(json.dumps(geo))}), 4326)"
            if crs.endswith(("EPSG::4326", "EPSG:4326", "EPSG/0/4326")):  # latitude first: to lon/lat
                return f"ST_FlipCoordinates({literal})"
            if crs and "CRS84" not in crs:
                raise CqlError(f"filter: geometry in {crs} cannot be compared; use CRS84 or filter-crs")
            return literal
        if isinstance(node, values.Envelope):
            x1, y1, x2, y2 = _finite(node.x1, node.y1, node.x2, node.y2)
            return f"ST_MakeEnvelope({self.param(x1)}, {self.param(y1)}, {self.param(x2)}, {self.param(y2)}, 4326)"
        if isinstance(node, ast.Function) and node.name.lower() == "bbox" and len(node.arguments) in (4, 6):
            # CQL2 text's envelope literal BBOX(minx, miny, maxx, maxy), which pygeofilter reads as a function call
            a = node.arguments
            corners = (a[0], a[1], a[2], a[3]) if len(a) == 4 else (a[0], a[1], a[3], a[4])
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in corners):
                raise CqlError(f"filter: BBOX takes numbers, got {a!r}")
            return self.geometry(values.Envelope(*(float(corners[i]) for i in (0, 2, 1, 3))))
        if isinstance(node, ast.Attribute):
            sql = self.attribute(node)
            if sql != "t.geom_4326":
                raise CqlError(f"filter: {node.name!r} is not a geometry")
            return sql
        raise CqlError(f"filter: expected a geometry, got {node!r}")

    def with_window(self, test: str, lhs: Any, rhs: Any) -> str:
        """``test`` (a predicate that holds only where the two shapes meet) and, when it compares the layer's
        geometry with a literal, the window condition it implies (:func:`ogc.layers.lonlat_window`): for zones,
        what lets the index on ``geom`` find the rows."""
        pair = (lhs, rhs) if isinstance(lhs, ast.Attribute) else (rhs, lhs)
        if not isinstance(pair[0], ast.Attribute) or isinstance(pair[1], ast.Attribute):
            return test
        if self.layer.name not in NO_LONLAT_INDEX:
            return test
        return f"({test} AND {lonlat_window(self.layer.name, self.geometry(pair[1]))})"

    def scalar(self, node: Any) -> str:
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, bool | int | float | str | dt.date | dt.datetime):
            return self.param(node)
        if isinstance(node, values.Geometry | values.Envelope):
            return self.geometry(node)
        raise CqlError(f"filter: unsupported expression {type(node).__name__}")

    def compile(self, node: Any) -> str:
        """The SQL condition of a filter node, its values appended to :attr:`params`."""
        for kinds, method in _NODES:
            if isinstance(node, kinds):
                return method(self, node)
        if isinstance(node, bool):
            return "true" if node else "false"
        raise CqlError(f"filter: {type(node).__name__} is not supported")

    def _logical(self, node: ast.And | ast.Or) -> str:
        joiner = " AND " if isinstance(node, ast.And) else " OR "
        return "(" + joiner.join([self.compile(node.lhs), self.compile(node.rhs)]) + ")"

    def _not(self, node: ast.Not) -> str:
        return f"(NOT {self.compile(node.sub_node)})"

    def _comparison(self, node: ast.Comparison) -> str:
        return f"({self.scalar(node.lhs)} {COMPARISON[node.op]} {self.scalar(node.rhs)})"

    def _between(self, node: ast.Between) -> str:
        op = "NOT BETWEEN" if node.not_ else "BETWEEN"
        return f"({self.scalar(node.lhs)} {op} {self.scalar(node.low)} AND {self.scalar(node.high)})"

    def _like(self, node: ast.Like) -> str:
        op = ("NOT " if node.not_ else "") + ("LIKE" if node.nocase is False else "ILIKE")
        pattern = node.pattern
        if node.wildcard != "%" or node.singlechar != "_":
            pattern = pattern.replace(node.wildcard, "%").replace(node.singlechar, "_")
        return f"({self.scalar(node.lhs)}::text {op} {self.param(pattern)})"

    def _in(self, node: ast.In) -> str:
        items = ", ".join(self.scalar(v) for v in node.sub_nodes)
        return f"({self.scalar(node.lhs)} {'NOT IN' if node.not_ else 'IN'} ({items}))"

    def _is_null(self, node: ast.IsNull) -> str:
        return f"({self.scalar(node.lhs)} IS {'NOT ' if node.not_ else ''}NULL)"

    def _spatial(self, node: ast.SpatialComparisonPredicate) -> str:
        test = f"{SPATIAL[node.op]}({self.geometry(node.lhs)}, {self.geometry(node.rhs)})"
        if node.op == ast.SpatialComparisonOp.DISJOINT:
            return test
        return self.with_window(test, node.lhs, node.rhs)

    def _bbox(self, node: ast.BBox) -> str:
        env = values.Envelope(float(node.minx), float(node.maxx), float(node.miny), float(node.maxy))
        return self.with_window(f"ST_Intersects({self.geometry(node.lhs)}, {self.geometry(env)})", node.lhs, env)

    def _include(self, node: ast.Include) -> str:
        return "false" if node.not_ else "true"


#: How each kind of filter node compiles, looked at in this order.
_NODES: tuple[tuple[type | tuple[type, ...], Callable[[_Compiler, Any], str]], ...] = (
    ((ast.And, ast.Or), _Compiler._logical),
    (ast.Not, _Compiler._not),
    (ast.Comparison, _Compiler._comparison),
    (ast.Between, _Compiler._between),
    (ast.Like, _Compiler._like),
    (ast.In, _Compiler._in),
    (ast.IsNull, _Compiler._is_null),
    (ast.SpatialComparisonPredicate, _Compiler._spatial),
    (ast.BBox, _Compiler._bbox),
    (ast.Include, _Compiler._include),
)


def compile_filter(node: Any, layer: Layer) -> tuple[str, list[Any]]:
    """Compile a pygeofilter AST into ``(sql, params)`` for ``layer`` (table alias ``t``).

    >>> from pygeofilter.parsers.cql2_text import parse
    >>> from ogc.layers import LAYERS
    >>> compile_filter(parse("max_floors >= 3 AND land_use_code = 'ODT'"), LAYERS["zones"])
    ('((t.max_floors >= %s) AND (t.land_use_code = %s))', [3, 'ODT'])
    """
    compiler = _Compiler(layer)
    sql = compiler.compile(node)
    return sql, compiler.params
