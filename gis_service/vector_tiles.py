"""Mapbox vector tiles (OGC API - Tiles, WebMercatorQuad) of zones, parcels, red lines and the base map.

Built by PostGIS (``ST_AsMVT``) from the maintained ``geom_3857`` column with an integer SRID (pygeoapi's MVT
provider transforms with a text SRID per tile, many times slower: docs/decisions.md). Zones carry their code, names
(Vietnamese, English) and the official land-use colour; only features of approved plans are in the tiles, or with
``as_of`` those of the plan versions in force that day (:mod:`gis_service.as_of`), or with ``view=consultation`` only
those of the drafts under consultation today (:mod:`gis_service.consultation.view`, marked ``plan_status`` draft);
parcels and the base map stay as they are today. The base map (``map_features``) comes in by kind as the map zooms
in: water and walls, then landmarks, streets, alleys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from gis_service.as_of import plans_in_force_async
from gis_service.errors import NotFound, ValidationError
from gis_service.model import LAYERS as CATALOGUE
from gis_service.model.visibility import consultation_filter, in_force_filter, is_dated, lonlat_window, public_filter

__all__ = [
    "TILE_LAYERS",
    "TileLayer",
    "check_as_of_layers",
    "check_consultation_layers",
    "check_tile",
    "tile_async",
    "tile_sql",
]

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileLayer:
    """A layer of the vector tiles: a catalogue layer, the zoom it starts at and any constant properties."""

    name: str
    min_zoom: int = 0
    geometry_type: str | None = "polygons"  # OGC API - Tiles: points, lines or polygons; None when mixed
    #: The zoom from which each value of ``kind`` is in the tiles (a layer of several kinds of features).
    kind_min_zoom: tuple[tuple[str, int], ...] = ()
    #: Properties every feature carries (SQL of alias ``t``), beside the catalogue's columns.
    constants: str = ""

    @property
    def title_vi(self) -> str:
        """The catalogue's Vietnamese title."""
        return CATALOGUE[self.name].title_vi

    @property
    def title_en(self) -> str:
        """The catalogue's English title."""
        return CATALOGUE[self.name].title_en

    @property
    def public_filter(self) -> str:
        """The rows the public sees."""
        return public_filter(CATALOGUE[self.name])

    def rows(self, as_of: bool, consultation: bool = False) -> str:
        """The rows in the tiles: the public's, or on a past date those of the plan versions in force then (their
        ids in the tile's ``e.plan_ids``), or the drafts' under consultation; layers outside plan versions are the
        same on every date and in every view."""
        if consultation:
            return consultation_filter(CATALOGUE[self.name]) or self.public_filter
        if as_of:
            return in_force_filter(CATALOGUE[self.name], "e.plan_ids") or self.public_filter
        return self.public_filter

    @property
    def select(self) -> str:
        """The properties: the id, the catalogue's tiled columns, the land use's names and colour (alias ``c``)."""
        columns = [c for c in CATALOGUE[self.name].columns if c.vector_tiles]
        parts = ["t.id", *(f"{c.sql_value()} AS {c.name}" for c in columns)]
        if any(c.name == "land_use_code" for c in columns):
            parts.append("c.name_vi, c.name_en, c.color_hex AS color")
        return ", ".join(parts + ([self.constants] if self.constants else []))

    def kinds_at(self, z: int) -> list[str] | None:
        """The kinds in a tile at zoom ``z``; None when the layer has no kinds."""
        if not self.kind_min_zoom:
            return None
        return [kind for kind, zoom in self.kind_min_zoom if z >= zoom]


TILE_LAYERS: dict[str, TileLayer] = {
    t.name: t
    for t in (
        TileLayer("zones"),
        # from z14, where the viewer draws them: a z12 tile of the 1,000,000-parcel benchmark held 220,000 parcels
        # (9.4 MB), a z13 one 55,000 (2.3 MB), a z14 one 14,000 (0.57 MB); docs/ogc.md, "Published vector tiles"
        TileLayer("parcels", min_zoom=14),
        TileLayer(
            "red_lines",
            geometry_type="lines",
            constants="'#e31a1c' AS color, 'Chỉ giới đường đỏ' AS name_vi, 'Red line' AS name_en",
        ),
        TileLayer(
            "map_features",
            min_zoom=12,
            geometry_type=None,
            kind_min_zoom=(("water", 12), ("wall", 12), ("landmark", 13), ("street", 14), ("alley", 16)),
        ),
    )
}


def check_as_of_layers(layers: list[str]) -> None:
    """Raise ValidationError when ``as_of`` is asked of tiles holding no plan layer (they are the same any day)."""
    if not any(is_dated(CATALOGUE[n]) for n in layers if n in TILE_LAYERS):
        raise ValidationError(
            f"as_of: {', '.join(layers)} is no plan layer, it is kept as it is today; as_of applies to zones and "
            "red_lines (and to the plan map's tiles)"
        )


def check_consultation_layers(layers: list[str]) -> None:
    """Raise ValidationError when ``view=consultation`` is asked of tiles holding no plan layer."""
    if not any(is_dated(CATALOGUE[n]) for n in layers if n in TILE_LAYERS):
        raise ValidationError(
            f"view=consultation: {', '.join(layers)} is no plan layer, a draft does not change it; the view "
            "applies to zones and red_lines (and to the plan map's tiles)"
        )


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ValidationError for a tile outside WebMercatorQuad."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValidationError(f"tileMatrix (zoom) must be between 0 and {MAX_ZOOM}, not {z}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise NotFound(f"tile {z}/{y}/{x} is outside WebMercatorQuad: at zoom {z} rows and columns run 0..{n - 1}")


# A WebMercatorQuad tile is a lon/lat rectangle too (Web Mercator maps meridians and parallels to straight lines),
# so features are found by their lon/lat copy with the tile's corners in lon/lat: the same features as
# geom_3857 && env, and planning.zones needs no Web Mercator index (migration 0004: one index less per bulk import).
# Zones have no lon/lat index either (migration 0006): the index on geom finds them, through the EPSG:9214 box of
# the tile and its buffer (reach_4326), all that ST_AsMVTGeom can draw; geom_4326 && env_4326 still decides.
_ENVELOPES = (
    "SELECT env, ST_Transform(env, 4326) AS env_4326, "
    f"ST_Transform(ST_Expand(env, (ST_XMax(env) - ST_XMin(env)) * {BUFFER} / {EXTENT}), 4326) AS reach_4326 "
    "FROM (SELECT ST_TileEnvelope(%s, %s, %s) AS env) t"
)


def _layer_sql(layer: TileLayer, z: int, as_of: bool, consultation: bool = False) -> str:
    # ordered by id: a parallel scan hands the rows over in any order, and the same features must give the same
    # bytes (the published tile's ETag, and no rewrite of a tile that did not change)
    kinds = layer.kinds_at(z)
    by_kind = "" if kinds is None else " AND t.kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
    # a draft's features say so, so that no client can mistake them for the plan in force
    marked = consultation and is_dated(CATALOGUE[layer.name])
    select = layer.select + (", 'draft' AS plan_status" if marked else "")
    return (
        f"SELECT ST_AsMVT(q, '{layer.name}', {EXTENT}, 'geom', 'id') FROM ("
        f"SELECT {select}, ST_AsMVTGeom(t.geom_3857, e.env, {EXTENT}, {BUFFER}, true) AS geom "
        f"FROM planning.{layer.name} t CROSS JOIN e "
        "LEFT JOIN planning.land_use_codes c ON c.code = "
        + ("t.land_use_code" if "c.color_hex" in layer.select else "NULL")
        + f" WHERE t.geom_4326 && e.env_4326 AND {lonlat_window(layer.name, 'e.reach_4326') or 'true'}"
        + f" AND {layer.rows(as_of, consultation)}{by_kind} ORDER BY t.id) q"
    )


def tile_sql(layers: list[str], z: int, *, as_of: bool = False, consultation: bool = False) -> str:
    """One statement returning the tile of ``layers`` (concatenated MVT layers) for parameters (z, x, y), or on a
    past date (``as_of``) for (the ids of the plan versions in force, z, x, y); with ``consultation`` the plan
    layers hold only the drafts under consultation today (parameters z, x, y)."""
    unknown = [n for n in layers if n not in TILE_LAYERS]
    if unknown:
        raise NotFound(f"no vector tiles for {', '.join(unknown)}; tiled collections: {', '.join(TILE_LAYERS)}")
    parts = [
        f"coalesce(({_layer_sql(TILE_LAYERS[n], z, as_of, consultation)}), ''::bytea)"
        for n in layers
        if z >= TILE_LAYERS[n].min_zoom
    ]
    # on a date, the plan versions' ids come first, in the tile's envelope row every layer joins
    ids = "%s::int[] AS plan_ids, " if as_of else ""
    if not parts:
        return f"WITH e AS (SELECT {ids}ST_TileEnvelope(%s, %s, %s) AS env) SELECT ''::bytea FROM e"
    return f"WITH e AS ({_ENVELOPES.replace('SELECT env,', f'SELECT {ids}env,', 1)}) SELECT " + " || ".join(parts)


async def tile_async(
    conn: psycopg.AsyncConnection[Any],
    layers: list[str],
    z: int,
    x: int,
    y: int,
    *,
    as_of: date | None = None,
    consultation: bool = False,
) -> bytes:
    """The MVT bytes of a tile (empty when nothing is there), on ``as_of`` when given, or of the drafts under
    consultation (``consultation``; not with ``as_of``)."""
    check_tile(z, x, y)
    if consultation:
        cur = await conn.execute(tile_sql(layers, z, consultation=True), (z, x, y))
    elif as_of is None:
        cur = await conn.execute(tile_sql(layers, z), (z, x, y))
    else:
        plan_ids = (await plans_in_force_async(conn, as_of)).plan_ids
        cur = await conn.execute(tile_sql(layers, z, as_of=True), (plan_ids, z, x, y))
    row = await cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
