"""The base map of a dossier (``NenDiaHinh``): water, citadel walls, street centre lines and landmarks.

Its four TT 16/2025 layers go to ``planning.map_features`` (migration 0009), each feature with a ``kind`` taken from
its layer and its class (``loai``):

=================  ====================  ===========================================
layer              kind                  geometry
=================  ====================  ===========================================
``ThuyHe_A``       ``water``             Polygon, MultiPolygon
``TuongThanh_A``   ``wall``              Polygon, MultiPolygon
``TimDuong_L``     ``alley`` (``loai``   LineString, MultiLineString
                   ``kiet``), else
                   ``street``
``DiaDanh_P``      ``landmark``          Point
=================  ====================  ===========================================

A base map holds hundreds or thousands of features, not millions: they are read, checked and written feature by
feature, apart from the bulk path of zones. A feature of the wrong geometry type stops the import with the layer and
the feature named (a river drawn as a line is an error of the file, not something to guess around); an invalid area
is repaired and reported, as zones are.

Features are keyed across re-imports by their source id (``maDoiTuong``; else the layer and the feature's id in the
file), as buildings are: importing the same file again changes nothing, a changed feature is updated (recorded in
the history), a new one added.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import psycopg
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.crs import STORAGE_EPSG, SourceCRS, check_in_vietnam, to_storage
from converters.encoding import to_unicode
from converters.errors import ConverterError, EmptyLayer
from converters.geometry import MIN_PART_AREA_M2, MIN_PART_LENGTH_M
from converters.mapping import FieldMap, _norm, coerce, jsonable
from converters.report import LayerReport
from converters.sources import Batch, SourceLayer
from gis_service.model.layers import MAP_FEATURES

__all__ = ["LAYER_KINDS", "import_base_map_layer", "kind_of"]

#: TT 16/2025 base-map layer (lower case) → the kind of its features.
LAYER_KINDS = {"thuyhe_a": "water", "tuongthanh_a": "wall", "timduong_l": "street", "diadanh_p": "landmark"}
#: The classes (``loai``) of a street centre line that make it an alley (kiệt), compared without accents.
ALLEY_CLASSES = frozenset({"kiet", "hem", "ngo"})
_AREAS = ("Polygon", "MultiPolygon")
_LINES = ("LineString", "MultiLineString")
#: Kind → the geometry types it is stored as, and what they are called in an error.
SHAPES: dict[str, tuple[tuple[str, ...], str]] = {
    "water": (_AREAS, "areas (Polygon or MultiPolygon)"),
    "wall": (_AREAS, "areas (Polygon or MultiPolygon)"),
    "street": (_LINES, "centre lines (LineString or MultiLineString)"),
    "alley": (_LINES, "centre lines (LineString or MultiLineString)"),
    "landmark": (("Point",), "points"),
}
#: Columns written besides ``source``, ``attributes`` and ``geom``; those a source field may fill.
COLUMNS = tuple(c.name for c in MAP_FEATURES.columns)
MAPPED = tuple(c.name for c in MAP_FEATURES.imported())
RANGES = {c.name: c.range for c in MAP_FEATURES.columns if c.range is not None}
KEY_FIELDS = ("maDoiTuong",)
MAX_LISTED = 20

ProgressFn = Callable[[str, int, int | None], None]


def kind_of(layer: str, subkind: str | None) -> str:
    """The kind of a feature of base-map ``layer`` with class ``subkind``.

    >>> kind_of("TimDuong_L", "kiet"), kind_of("TimDuong_L", "duong"), kind_of("ThuyHe_A", "song")
    ('alley', 'street', 'water')
    """
    base = LAYER_KINDS[layer.lower()]
    if base == "street" and subkind is not None and _plain(subkind) in ALLEY_CLASSES:
        return "alley"
    return base


def _plain(text: str) -> str:
    """Lower case without accents or separators: ``Kiệt`` and ``kiet`` alike."""
    return _norm(text.replace("đ", "d").replace("Đ", "D"))


class _Problems:
    """Errors found in a layer, listed (the first :data:`MAX_LISTED`) and counted."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []
        self.count = 0

    def add(self, fid: Any, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_LISTED:
            self.items.append(f"feature {fid}: {message}")

    def raise_if_any(self, what: str) -> None:
        if self.count:
            more = f" (and {self.count - len(self.items)} more)" if self.count > len(self.items) else ""
            raise ConverterError(f"{self.label}: {what}, nothing imported: {'; '.join(self.items)}{more}")


def _shape(geom: Any, kind: str, layer: str, fid: Any, lr: LayerReport, wrong: _Problems) -> Any | None:
    """The geometry as stored (2D, valid, of the kind's types), or None when the feature is dropped or refused."""
    if geom is None or shapely.is_empty(geom):
        lr.drop(fid, "no geometry")
        return None
    geom = shapely.force_2d(geom)
    types, what = SHAPES[kind]
    if geom.geom_type == "MultiPoint" and kind == "landmark" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type not in types:
        wrong.add(fid, f"a {geom.geom_type}, but {layer} holds {kind} features as {what}")
        return None
    if types == _AREAS:
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            before = geom.area
            fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
            parts = [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon"]
            parts += [q for p in shapely.get_parts(fixed) if p.geom_type == "MultiPolygon" for q in p.geoms]
            geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
            lr.repair(fid, f"{reason}; made valid, area {before:.2f} → {geom.area:.2f} m²")
        if geom.is_empty or geom.area < MIN_PART_AREA_M2:
            lr.drop(fid, "no area left")
            return None
    elif types == _LINES and (geom.length < MIN_PART_LENGTH_M or not geom.is_valid):
        lr.drop(fid, "a line of no length")
        return None
    return geom


def _text(value: Any, lr: LayerReport) -> Any:
    """A source value as Unicode (TCVN3 and VNI text converted and counted)."""
    if isinstance(value, str) and not value.isascii():
        text, encoding = to_unicode(value)
        if encoding:
            lr.encodings[encoding] += 1
        return text
    return value


def _key(batch: Batch, i: int, layer: str) -> str:
    for name in KEY_FIELDS:
        for f in batch.fields:
            if f.lower() == name.lower():
                v = batch.fields[f][i]
                if v is not None and str(v).strip():
                    return str(v).strip()
    return f"{layer}:{jsonable(batch.fids[i])}"


def _rows(
    batch: Batch,
    src: SourceLayer,
    source_crs: SourceCRS,
    fmap: FieldMap,
    lr: LayerReport,
    wrong: _Problems,
    bad: _Problems,
) -> list[tuple[Any, ...]]:
    """One batch's rows for the staging table (COPY text values)."""
    geoms = batch.geoms
    if geoms.dtype != object or (len(geoms) and isinstance(geoms[0], (bytes, bytearray))):
        geoms = shapely.from_wkb(geoms, on_invalid="ignore")
    geoms = to_storage(np.asarray(geoms, dtype=object), source_crs)
    check_in_vietnam(geoms, src.label, source_crs)
    layer = src.layer or ""
    rows = []
    for i in range(len(batch.fids)):
        fid = jsonable(batch.fids[i])
        lr.read += 1
        values: dict[str, Any] = {}
        for col in MAPPED:
            field = fmap.columns.get(col)
            raw = _text(batch.fields[field][i], lr) if field else None
            try:
                values[col] = coerce(col, raw)
            except (TypeError, ValueError) as exc:
                bad.add(fid, f"{field} = {raw!r} is not valid for {col} ({exc})")
                values[col] = None
                continue
            if values[col] is not None and col in RANGES:
                lo, hi = RANGES[col]
                if not lo <= values[col] <= hi:
                    bad.add(fid, f"{field} = {values[col]:g} is outside {lo:g}–{hi:g} ({col})")
        kind = kind_of(layer, values["subkind"])
        geom = _shape(geoms[i], kind, layer, fid, lr, wrong)
        if geom is None:
            continue
        key = _key(batch, i, layer)
        attributes: dict[str, Any] = {}
        for name in fmap.kept:
            v = jsonable(_text(batch.fields[name][i], lr))
            if v is not None:
                attributes[name] = v
        attributes |= {"source_fid": fid, "source_key": key}
        wkb = shapely.to_wkb(shapely.set_srid(geom, STORAGE_EPSG), hex=True, include_srid=True)
        rows.append(
            (
                kind,
                *(values[c] for c in MAPPED),
                src.label,
                json.dumps(attributes, ensure_ascii=False),
                wkb,
                key,
            )
        )
    return rows


def import_base_map_layer(
    conn: Connection,
    src: SourceLayer,
    lr: LayerReport,
    batches: Iterable[Batch],
    source_crs: SourceCRS,
    fmap: FieldMap,
    *,
    progress: ProgressFn | None = None,
    total: int | None = None,
) -> None:
    """Write a base-map layer's features into ``planning.map_features`` (in the caller's transaction); counts in
    ``lr``. Raises :class:`~converters.errors.ConverterError` on a feature of the wrong type or a bad value."""
    layer = src.layer or ""
    where = src.label if src.label.endswith(layer) else f"{src.label} (layer {layer})"  # a file's only layer
    if layer.lower() not in LAYER_KINDS:
        raise ConverterError(
            f"{where}: the kind of a base-map feature comes from its layer's TT 16/2025 name (ThuyHe_A water, "
            "TuongThanh_A walls, TimDuong_L streets and alleys, DiaDanh_P landmarks): rename the layer"
        )
    wrong, bad = _Problems(where), _Problems(where)
    rows: list[tuple[Any, ...]] = []
    for batch in batches:
        rows += _rows(batch, src, source_crs, fmap, lr, wrong, bad)
        if progress:
            progress(src.label, lr.read, total)
    wrong.raise_if_any("geometries of the wrong type")
    bad.raise_if_any("bad values")
    if not rows:
        raise EmptyLayer(f"{where}: no feature left to import ({lr.dropped_total} dropped: see the report)")
    lr.written, lr.updated = _write(conn, rows, where)
    lr.unchanged = len(rows) - lr.written - lr.updated


def _write(conn: Connection, rows: list[tuple[Any, ...]], label: str) -> tuple[int, int]:
    """Stage the rows, update the keyed features that changed, add the new ones: (added, updated)."""
    # Every name in this SQL is one of the module's constants (COLUMNS); values go by COPY.
    cols = [*COLUMNS, "source", "attributes", "geom"]
    listed = ", ".join(cols)
    conn.execute(sa.text("DROP TABLE IF EXISTS import_map_features"))
    conn.execute(
        sa.text(
            f"CREATE TEMP TABLE import_map_features ON COMMIT DROP AS SELECT {listed}, NULL::text AS source_key "  # noqa: S608
            "FROM planning.map_features WITH NO DATA"
        )
    )
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    with raw.cursor() as cur, cur.copy(f"COPY import_map_features ({listed}, source_key) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    dup = conn.execute(
        sa.text(
            "SELECT source_key, count(*) FROM import_map_features GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 20"
        )
    ).all()
    if dup:
        twice = "; ".join(f"{k} ({n}×)" for k, n in dup)
        raise ConverterError(f"{label}: the same maDoiTuong on more than one feature: {twice}")
    content = [c for c in cols if c not in ("source", "attributes")]

    def state(alias: str) -> str:
        return f"({', '.join(f'{alias}.{c}' for c in content)}, {alias}.attributes - 'source_fid')"

    source_columns = ", ".join(f"s.{c}" for c in cols)
    updated = conn.execute(
        sa.text(
            f"UPDATE planning.map_features t SET ({listed}) = ({source_columns}) FROM import_map_features s "  # noqa: S608
            f"WHERE t.attributes->>'source_key' = s.source_key AND {state('t')} IS DISTINCT FROM {state('s')}"
        )
    ).rowcount
    added = conn.execute(
        sa.text(
            f"INSERT INTO planning.map_features ({listed}) SELECT {source_columns} FROM import_map_features s "  # noqa: S608
            "WHERE NOT EXISTS (SELECT 1 FROM planning.map_features t WHERE t.attributes->>'source_key' = s.source_key)"
        )
    ).rowcount
    conn.execute(sa.text("DROP TABLE import_map_features"))
    return int(added), int(updated)
