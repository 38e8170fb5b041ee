"""EWKB of many MultiPolygons at once, and the same shapes in other coordinates, without a Python object per shape.

A bulk import writes each zone three times: in EPSG:9214, and as its lon/lat and Web Mercator serving copies. With
shapely that is ``set_coordinates`` and ``to_wkb`` per copy, new shapes each time. The three copies share
one structure (parts, rings, point counts), so this module writes the WKB once, finds where each point's x and y sit
in it, and writes the transformed coordinates into copies of the same bytes. The shapes stay in one buffer: binary
COPY takes them as Arrow arrays over it (:meth:`MultiPolygonWKB.field`), with no Python object per shape.

Layout read (ISO WKB, little-endian, 2D, as ``shapely.to_wkb(byte_order=1)`` writes it)::

    MultiPolygon: 01 | type 6 (u32) | n polygons (u32) | polygon...
    Polygon:      01 | type 3 (u32) | n rings (u32) | ring...
    ring:         n points (u32) | x y (f64 f64)...
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import shapely

from converters.pgcopy import Field, binary, binary_array, field_bytes, fixed_width

__all__ = ["MultiPolygonWKB", "RingPolygons", "copy_shapes"]

_MULTIPOLYGON, _POLYGON = 6, 3
_SRID_FLAG = 0x20000000


def _u32(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian uint32 at each byte offset ``at``."""
    b = buf[at[:, None] + np.arange(4)].astype(np.uint32)
    out: np.ndarray = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)
    return out.astype(np.int64)


class MultiPolygonWKB:
    """The WKB of an array of 2D MultiPolygons (or Polygons, written as one-part MultiPolygons) as one buffer, with
    each shape's byte range and each point's offset."""

    def __init__(self, geoms: np.ndarray) -> None:
        wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
        lengths = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))
        self.buf = np.frombuffer(b"".join(wkb), dtype=np.uint8)
        self.starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        self.lengths = lengths
        types = _u32(self.buf, self.starts + 1) if len(wkb) else np.zeros(0, dtype=np.int64)
        self.polygons = bool(len(wkb)) and bool((types == _POLYGON).all())
        if len(wkb) and ((self.buf[self.starts] != 1).any() or not (self.polygons or (types == _MULTIPOLYGON).all())):
            raise ValueError("not little-endian 2D Polygon or MultiPolygon WKB (all of one type)")
        self.points = self._point_offsets()

    def _point_offsets(self) -> np.ndarray:
        """Byte offset of every point (x there, y 8 bytes on), in coordinate order, found level by level: all first
        polygons, then all second ones..., so a loop turns once per part or ring of the most divided shape."""
        buf = self.buf
        if self.polygons:  # each shape is its one polygon record
            n_polys = np.ones(len(self.starts), dtype=np.int64)
            cursor = self.starts.copy()
        else:
            n_polys = _u32(buf, self.starts + 5)
            cursor = self.starts + 9
        ring_starts: list[np.ndarray] = []
        ring_points: list[np.ndarray] = []
        order: list[np.ndarray] = []  # (shape, polygon, ring) of each ring, to put the points back in shape order
        rows = np.arange(len(self.starts))
        for p in range(int(n_polys.max(initial=0))):
            live = rows[n_polys > p]
            at = cursor[live]
            n_rings = _u32(buf, at + 5)
            at = at + 9
            for r in range(int(n_rings.max(initial=0))):
                has = n_rings > r
                n_pts = _u32(buf, at[has])
                ring_starts.append(at[has] + 4)
                ring_points.append(n_pts)
                order.append(np.stack([live[has], np.full(has.sum(), p), np.full(has.sum(), r)], axis=1))
                at[has] = at[has] + 4 + 16 * n_pts
            cursor[live] = at
        if not ring_starts:
            return np.zeros(0, dtype=np.int64)
        starts = np.concatenate(ring_starts)
        counts = np.concatenate(ring_points)
        key = np.concatenate(order)
        sort = np.lexsort((key[:, 2], key[:, 1], key[:, 0]))
        starts, counts = starts[sort], counts[sort]
        first = np.repeat(starts, counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        out: np.ndarray = first + 16 * within
        return out

    def _views(self, buf: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The points' x as float64 indexes into ``buf`` read from each of its 8 byte alignments: WKB puts a point
        at any byte offset, and a gather or scatter of whole doubles is far cheaper than one of 16 bytes each."""
        out = []
        shift = self.points % 8
        for s in range(8):
            which = np.flatnonzero(shift == s)
            if len(which):
                view = buf[s : s + (len(buf) - s) // 8 * 8].view("<f8")
                out.append((which, (self.points[which] - s) // 8, view))
        return out

    def coordinates(self) -> np.ndarray:
        """All points as an (n, 2) float array, in the order of ``shapely.get_coordinates``."""
        out = np.empty((len(self.points), 2), dtype=np.float64)
        for which, at, view in self._views(self.buf):
            out[which, 0] = view[at]
            out[which, 1] = view[at + 1]
        return out

    def with_points(self, xy: np.ndarray) -> np.ndarray:
        """A copy of the WKB buffer with its points replaced by ``xy`` (same order)."""
        buf = self.buf.copy()
        for which, at, view in self._views(buf):
            view[at] = xy[which, 0]
            view[at + 1] = xy[which, 1]
        return buf

    def field(self, srid: int, xy: np.ndarray | None = None) -> Field:
        """Each shape as the EWKB field of binary COPY (a MultiPolygon with ``srid``), with its points replaced by
        ``xy`` when given: a header the same for every shape, then the WKB as it is (after its own header)."""
        buf = self.buf if xy is None else self.with_points(xy)
        ends = np.append(self.starts, len(buf)) if len(self.starts) else np.zeros(1, dtype=np.int64)
        shapes = binary_array(buf, ends)
        # EWKB: the type gets the SRID flag and the SRID follows it; the rest is the WKB as it was.
        head = b"\x01" + (_MULTIPOLYGON | _SRID_FLAG).to_bytes(4, "little") + srid.to_bytes(4, "little")
        if self.polygons:  # a one-part MultiPolygon: the count, then the polygon record as it is
            return Field(self.lengths + 13, [binary(head + (1).to_bytes(4, "little")), shapes])
        return Field(self.lengths + 4, [binary(head), pc.binary_slice(shapes, 5, int(self.lengths.max(initial=5)))])

    def ewkb(self, srid: int, xy: np.ndarray | None = None) -> list[bytes]:
        """Each shape as EWKB bytes (what :meth:`field` gives binary COPY)."""
        return field_bytes(self.field(srid, xy))


class RingPolygons:
    """Polygons without holes, the usual zone, as EWKB fields without writing any WKB: a one-part MultiPolygon of
    one ring is a header the same for every shape, the ring's point count, then its points, so binary COPY takes
    the points straight from the coordinate array (this one's, or the serving copies')."""

    def __init__(self, geoms: np.ndarray) -> None:
        self.counts = shapely.get_num_coordinates(geoms).astype(np.int64)
        self.xy = shapely.get_coordinates(geoms)
        self.ends = np.concatenate([[0], np.cumsum(self.counts)]) * 16
        self.n_points = fixed_width(self.counts, "<u4")

    @staticmethod
    def fits(geoms: np.ndarray) -> bool:
        """Whether every shape is a 2D Polygon with no hole."""
        return bool(
            len(geoms)
            and (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON).all()
            and not shapely.has_z(geoms).any()
            and (shapely.get_num_interior_rings(geoms) == 0).all()
        )

    def coordinates(self) -> np.ndarray:
        """All points as an (n, 2) float array, in the order of ``shapely.get_coordinates``."""
        return self.xy

    def field(self, srid: int, xy: np.ndarray | None = None) -> Field:
        """Each shape as the EWKB field of binary COPY (a one-part MultiPolygon with ``srid``), with ``xy`` as its
        points when given."""
        points = np.ascontiguousarray(self.xy if xy is None else xy, dtype="<f8")
        rings = binary_array(points, self.ends)
        head = b"\x01" + (_MULTIPOLYGON | _SRID_FLAG).to_bytes(4, "little") + srid.to_bytes(4, "little")
        head += (1).to_bytes(4, "little")  # one polygon: byte order, type, one ring, then the ring
        head += b"\x01" + _POLYGON.to_bytes(4, "little") + (1).to_bytes(4, "little")
        return Field(len(head) + 4 + 16 * self.counts, [binary(head), self.n_points, rings])

    def ewkb(self, srid: int, xy: np.ndarray | None = None) -> list[bytes]:
        """Each shape as EWKB bytes (what :meth:`field` gives binary COPY)."""
        return field_bytes(self.field(srid, xy))


def copy_shapes(geoms: np.ndarray) -> RingPolygons | MultiPolygonWKB:
    """The shapes for binary COPY as MultiPolygon EWKB: :class:`RingPolygons` when they all are, else their WKB."""
    return RingPolygons(geoms) if RingPolygons.fits(geoms) else MultiPolygonWKB(geoms)
