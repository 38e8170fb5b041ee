"""Zones: one spatial index per table, on the legal geometry; lon/lat windows find zones through it.

Why: every plan version an import loads built two R-trees over the same shapes, one on ``geom`` (EPSG:9214) and
one on its lon/lat copy ``geom_4326``: 1.1 s and 1.35 s per million zones, of the 3.6 s the server spent on keys
and indexes once the rows were in (``bench/import``). The lon/lat one served only the lon/lat windows of OGC API
bbox and CQL2 filters and of vector tiles, and those can use the other:

* ``planning.box_9214(g)`` is an EPSG:9214 box that holds every shape whose lon/lat copy meets the lon/lat geometry
  ``g``: ``g``'s bounding box, its edges cut every 0.01° and transformed by the official shift (``ST_Transform``,
  the transform that made the copies), then widened by 100 m.
* Why 100 m is enough: a shape's lon/lat copy has straight edges in lon/lat between its transformed vertices, while
  ``geom`` has straight edges in metres. A point of a copy's edge is therefore off ``geom``'s edge by at most the sag
  of a lon/lat straight line drawn in Transverse Mercator: L²κ/8 for an edge of length L, κ being that line's
  curvature in metres, about 4.6e-8 /m around Huế (measured with ``ST_Transform``: 0.58 m for a 10 km east-west
  edge, 14.5 m for 50 km: a parallel's tan(latitude)/R) and below 1.6e-7 /m wherever the box is computed (up to
  35°N). 100 m is reached only by edges of 70 km at that bound, longer than the province; the 0.01° cuts of the
  window's own edges (1.1 km) leave it within about 1 cm of its true image.
* Outside 90-125°E, 5°S-35°N (far from VN-2000's area, where Transverse Mercator on 107°E stops being of use) the
  box is the whole plane: such a window takes every zone through a full scan, which is what a window that wide
  needs anyway.
* The queries keep their lon/lat test and add ``geom && planning.box_9214(window)`` for the index. Where the test
  is exact (``ST_Intersects(geom_4326, window)``: OGC API bbox, CQL2) the rows are the same. A vector tile's test
  compares bounding boxes (``geom_4326 && tile``): a zone whose lon/lat box meets the tile's buffer while its shape
  stays over 100 m away (possible for zones tens of km wide, the two boxes being turned by the grid convergence)
  is no longer a candidate, and its clipped tile geometry was empty anyway: the tiles are the same (tests compare
  their features).

Other layers keep their lon/lat index: they are not loaded in bulk, and the ``serve`` benchmark reads parcels
through it.

Revision ID: 0006_zones_one_spatial_index
Revises: 0005_bulk_zone_validity
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006_zones_one_spatial_index"
down_revision = "0005_bulk_zone_validity"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE FUNCTION planning.box_9214(lonlat geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE
    WHEN ST_XMin(lonlat) >= 90 AND ST_XMax(lonlat) <= 125 AND ST_YMin(lonlat) >= -5 AND ST_YMax(lonlat) <= 35
    THEN ST_Expand(ST_Envelope(ST_Transform(ST_Segmentize(ST_Envelope(ST_SetSRID(lonlat, 4326)), 0.01), 9214)), 100)
    ELSE ST_MakeEnvelope(-1e300, -1e300, 1e300, 1e300, 9214)
END
$$;
COMMENT ON FUNCTION planning.box_9214(geometry) IS
  'An EPSG:9214 box holding every shape whose lon/lat copy meets the lon/lat geometry: '
  'WHERE geom && planning.box_9214(w) AND ST_Intersects(geom_4326, w) finds zones through their one spatial index';
DROP INDEX planning.zones_geom_4326_idx;  -- and its copy on each partition
"""

DOWNGRADE_SQL = """
CREATE INDEX zones_geom_4326_idx ON planning.zones USING gist (geom_4326);  -- on zones_default and each partition
DROP FUNCTION planning.box_9214(geometry);
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
