"""One batch of a layer made ready for COPY, with no database: what the reading thread does to each batch."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from converters.crs import STORAGE_EPSG, SourceCRS, check_in_vietnam, to_storage
from converters.geometry import normalise
from converters.importer.arrays import rows
from converters.importer.attributes import attributes
from converters.importer.bulk_zones import zone_geometry_columns
from converters.importer.columns import BULK_DEFAULTS, COLUMNS, POLYGONAL_KINDS
from converters.importer.provenance import SourceRecord
from converters.importer.quality import ZoneShapes
from converters.importer.reading import building_key, read_shapes
from converters.importer.threads import in_two
from converters.importer.values import ColumnValues, TextState, ValueErrors, check_codes, check_parcel_keys
from converters.importer.writes import Writer
from converters.mapping import CodeBook, FieldMap, Profile
from converters.pgcopy import Const, numeric
from converters.report import LayerReport
from converters.sources import Batch, SourceLayer
from converters.wkb import copy_shapes

#: Binary COPY's rows, their count, the ids of the features written and the column names sent; or, for a plan's
#: boundary, its shapes, 0, [], [].
Prepared = tuple[Any, int, list[Any], list[str]]


@dataclass
class BatchPreparer:
    """Makes each batch of a layer ready for COPY: its shapes in EPSG:9214 and repaired, its values mapped and
    checked, its attributes JSON, its rows encoded.

    Column-wise: each step runs over the batch's arrays (GEOS, PROJ, numpy, Arrow), and Python touches each
    distinct value once; ``converters.pgcopy`` lays the columns into rows. No database here: it runs in the reading
    thread while the database writes the previous batch. The state it keeps across batches (the text fields'
    encodings, the bad values, the zones' shapes for the quality checks) lives in its fields.
    """

    src: SourceLayer
    kind: str
    plan_id: int | None
    profile: Profile
    codes: CodeBook
    fmap: FieldMap
    source_crs: SourceCRS
    lr: LayerReport
    errors: ValueErrors
    text: TextState
    writer: Writer | None
    pool: ThreadPoolExecutor
    zone_shapes: ZoneShapes | None
    #: The layer's ``feature_sources`` row, named by every feature written (None: no provenance, e.g. a boundary).
    origin: SourceRecord | None = None

    def __call__(self, batch: Batch) -> Prepared:
        """The batch's rows ready for COPY, or the boundary's geometries."""
        self.lr.read += len(batch.fids)
        geoms, keep = self._geometries(batch)
        if self.kind == "plan-boundary":
            return list(geoms), 0, [], []
        writer = self.writer
        assert writer is not None
        geometry: Future[list[Any]] | None = None
        if writer.bulk:  # WKB and PROJ work beside this thread (GEOS, PROJ and numpy release the GIL)
            geometry = self.pool.submit(zone_geometry_columns, geoms)
        unmapped: set[str] = set()
        steps = ColumnValues(batch, self.fmap, self.codes, self.lr, self.errors, keep, self.text)
        values = steps.of(self.kind, unmapped)
        fids = batch.fids[keep].tolist()
        ok = np.ones(len(keep), dtype=bool)
        more = np.full(len(keep), None, dtype=object)  # the source's own code, when it is not the one stored
        if "land_use_code" in values:
            ok = check_codes(steps, self.kind, values, fids, ok, more)
        if self.kind == "parcels":
            ok = check_parcel_keys(values, fids, ok, self.errors)
        self.errors.raise_if_any()
        attrs = attributes(batch, self.fmap, keep, self.lr, self.text, more)
        written = np.flatnonzero(ok)
        kept_geoms = geoms[written]
        columns = self._columns(batch, writer, values, keep, written, kept_geoms, attrs, geometry)
        written_fids = fids if len(written) == len(fids) else [fids[i] for i in written]
        if self.zone_shapes is not None and self.kind == "zones":
            zone_codes = rows(values["zone_code"], written)
            codes_list = zone_codes.to_pylist() if isinstance(zone_codes, pa.Array) else zone_codes.tolist()
            self.zone_shapes.append((kept_geoms, written_fids, codes_list))
        # Fields the source does not have are not sent (NULL is their default), nor what the plan's table of bulk
        # zones has as its defaults (plan, user): a third fewer fields to encode and parse for a usual plan file.
        sent = [
            (name, col)
            for name, col in zip(writer.columns, columns, strict=True)
            if not (writer.bulk and name in BULK_DEFAULTS) and name not in unmapped
        ]
        names_sent = [n for n, _ in sent]
        encoded = writer.encode(names_sent, [c for _, c in sent], len(written))
        return encoded, len(written), written_fids, names_sent

    def _geometries(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """The batch's shapes in EPSG:9214, checked to lie in Viet Nam and repaired; the indexes of those kept."""
        geoms = read_shapes(batch, self.src.label, self.pool)
        geoms = to_storage(geoms, self.source_crs)
        check_in_vietnam(geoms, self.src.label, self.source_crs)
        valid = in_two(self.pool, shapely.is_valid, geoms) if self.kind == "zones" else None
        geoms, keep = normalise(geoms, batch.fids, self.kind, self.lr, valid)
        return geoms, keep

    def _columns(
        self,
        batch: Batch,
        writer: Writer,
        values: dict[str, Any],
        keep: np.ndarray,
        written: np.ndarray,
        kept_geoms: np.ndarray,
        attrs: pa.Array,
        geometry: Future[list[Any]] | None,
    ) -> list[Any]:
        """The values of each of the writer's columns for the features written, in its order."""
        columns: list[Any] = []
        if writer.columns[0] == "plan_id":
            columns.append(Const(self.plan_id))
        columns += [rows(values[c], written) for c in COLUMNS[self.kind]]
        geom_column, bulk_columns = self._geometry_columns(keep, written, kept_geoms, geometry)
        if len(written) < len(keep):
            attrs = attrs.take(pa.array(written))
        origin = self.origin
        error = None if origin is None or origin.error_m is None else numeric(Decimal(str(origin.error_m)))
        columns += [Const(self.src.label), Const(origin and origin.id), Const(error), attrs]
        columns.append(geom_column)
        if self.kind == "buildings":
            keys = np.empty(len(written), dtype=object)
            keys[:] = [building_key(batch, self.profile, int(keep[i])) for i in written]
            columns.append(keys)
        if writer.bulk:
            columns += [*bulk_columns[1:], Const(writer.user), Const(writer.user)]
        return columns

    def _geometry_columns(
        self, keep: np.ndarray, written: np.ndarray, kept_geoms: np.ndarray, geometry: Future[list[Any]] | None
    ) -> tuple[Any, list[Any]]:
        """The ``geom`` column of the features written, and the serving columns of bulk zones (``[]`` otherwise)."""
        if geometry is not None:
            bulk_columns = geometry.result()
            if len(written) < len(keep):  # some zones left out (unknown codes): the shapes of those kept
                bulk_columns = zone_geometry_columns(kept_geoms)
            return bulk_columns[0], bulk_columns
        if self.kind in POLYGONAL_KINDS:
            return copy_shapes(kept_geoms).field(STORAGE_EPSG), []
        return shapely.to_wkb(shapely.set_srid(kept_geoms, STORAGE_EPSG), include_srid=True), []
