"""One batch of a layer made ready for COPY, with no database: what the reading thread does to each batch."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from converters.crs import STORAGE_EPSG
from converters.importer.arrays import rows
from converters.importer.attributes import attributes
from converters.importer.bulk_zones import zone_geometry_columns
from converters.importer.checking import LayerChecker
from converters.importer.columns import BULK_DEFAULTS, COLUMNS, POLYGONAL_KINDS
from converters.importer.provenance import SourceRecord
from converters.importer.quality import ZoneShapes
from converters.importer.reading import building_key
from converters.importer.writes import Writer
from converters.mapping import Profile
from converters.pgcopy import Const, numeric
from converters.report import LayerReport
from converters.sources import Batch, SourceLayer
from converters.wkb import copy_shapes

#: Binary COPY's rows, their count, the ids of the features written and the column names sent; or, for a plan's
#: boundary, its shapes, 0, [], [].
Prepared = tuple[Any, int, list[Any], list[str]]


@dataclass
class BatchPreparer:
    """Makes each batch of a layer ready for COPY: the shared reading and checking step
    (:class:`~converters.importer.checking.LayerChecker`: shapes in EPSG:9214 and repaired, values mapped and
    checked), then its attributes JSON and its rows encoded.

    Column-wise: each step runs over the batch's arrays (GEOS, PROJ, numpy, Arrow), and Python touches each
    distinct value once; ``converters.pgcopy`` lays the columns into rows. No database here: it runs in the reading
    thread while the database writes the previous batch. The state it keeps across batches (the text fields'
    encodings, the bad values, the zones' shapes for the quality checks) lives in its checker and its fields.
    """

    checker: LayerChecker
    plan_id: int | None
    profile: Profile
    writer: Writer | None
    zone_shapes: ZoneShapes | None
    #: The layer's ``feature_sources`` row, named by every feature written (None: no provenance, e.g. a boundary).
    origin: SourceRecord | None = None

    @property
    def src(self) -> SourceLayer:
        """The layer read."""
        return self.checker.src

    @property
    def kind(self) -> str:
        """What the layer holds."""
        return self.checker.kind

    @property
    def lr(self) -> LayerReport:
        """The layer's report."""
        return self.checker.lr

    def __call__(self, batch: Batch) -> Prepared:
        """The batch's rows ready for COPY, or the boundary's geometries."""
        shapes = self.checker.shapes(batch)
        geoms, keep = shapes.geoms, shapes.keep
        if self.kind == "plan-boundary":
            return list(geoms), 0, [], []
        writer = self.writer
        assert writer is not None
        geometry: Future[list[Any]] | None = None
        if writer.bulk:  # WKB and PROJ work beside this thread (GEOS, PROJ and numpy release the GIL)
            geometry = self.checker.pool.submit(zone_geometry_columns, geoms)
        checked = self.checker.values(batch, keep)
        values, unmapped, fids, ok = checked.values, checked.unmapped, checked.fids, checked.ok
        attrs = attributes(batch, self.checker.fmap, keep, self.lr, self.checker.text, checked.more)
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
