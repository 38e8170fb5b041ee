"""Sources into the pipeline: a layer's batches, its CRS, its fields, and the kept features' values of a field."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

from converters.crs import SourceCRS, parse_crs, recognise_crs
from converters.errors import ConverterError, MissingCRS
from converters.importer.arrays import factorize, is_text, none
from converters.importer.columns import REQUIRED
from converters.importer.options import ImportOptions
from converters.importer.suggest import Suggestion
from converters.importer.threads import in_two
from converters.mapping import FieldMap, Profile
from converters.report import ImportReport
from converters.sources import ArrowFields, Batch, SourceLayer, layer_info, read_vector


def read_batches(src: SourceLayer, opts: ImportOptions) -> Iterator[Batch]:
    """The batches of a GIS layer, as its reader gives them."""
    if src.fmt == "vector":
        yield from read_vector(src, batch_size=opts.batch_size)
    else:  # pragma: no cover - find_sources only makes the formats above
        raise ConverterError(f"{src.label}: no reader for {src.fmt}")


def feature_count(src: SourceLayer) -> int | None:
    """The number of features the layer says it has (for the progress bar), or None."""
    return int(layer_info(src).get("features") or 0) or None


def source_crs(batch: Batch, src: SourceLayer, opts: ImportOptions, report: ImportReport) -> SourceCRS:
    """The layer's CRS: ``--src-crs`` if given (warning when it overrides the file's), else the file's own."""
    file_crs = batch.crs_wkt
    if opts.src_crs:
        crs = parse_crs(opts.src_crs)
        if file_crs and not CRS.from_user_input(file_crs).equals(crs, ignore_axis_order=True):
            report.warn(f"{src.label}: --src-crs {opts.src_crs} overrides the file's own CRS")
        return SourceCRS(crs, f"--src-crs {opts.src_crs}")
    if not file_crs:
        why = "CAD drawings never carry one" if src.fmt in ("dxf", "dgn") else "no .prj or CRS in the file"
        raise MissingCRS(
            f"{src.label} has no coordinate reference system ({why}): "
            "give it with --src-crs, e.g. --src-crs EPSG:9214 (VN-2000 / TM-3 107-00, Huế) or vn2000:107.75"
        )
    sc = recognise_crs(CRS.from_user_input(file_crs))
    if sc.warning:
        report.warn(f"{src.label}: {sc.warning}")
    return sc


def check_required(
    src: SourceLayer, kind: str, fmap: FieldMap, profile: Profile, batch: Batch, suggestions: Sequence[Suggestion] = ()
) -> None:
    """Refuse a layer that has no field for a column its kind requires (a parcel's number, a zone's code), naming
    the field proposed for it when one was found."""
    if kind not in REQUIRED:
        return
    missing = [c for c in REQUIRED[kind] if c not in fmap.columns and not (batch.preset and c in batch.preset)]
    if missing:
        names = {c: profile.fields.get(kind, {}).get(c, [])[:4] for c in missing}
        raise ConverterError(
            f"{src.label}: no field for {', '.join(missing)} of {kind} (looked for "
            f"{'; '.join(f'{c}: ' + ', '.join(v) for c, v in names.items())}; fields are "
            f"{', '.join(batch.fields) or 'none'}): add a mapping profile with --mapping"
            + "".join(f"; {s.sentence(applied=False)}" for s in suggestions if s.column in missing)
        )


def read_shapes(batch: Batch, label: str, pool: ThreadPoolExecutor) -> np.ndarray:
    """The batch's shapes as GEOS geometries (read from WKB, in two threads for a large batch); a shape that cannot
    be read stops the import, naming its features."""
    geoms = batch.geoms
    if geoms.dtype == object and not (len(geoms) and isinstance(geoms[0], (bytes, bytearray))):
        return geoms
    geoms = in_two(pool, lambda wkb: shapely.from_wkb(wkb, on_invalid="ignore"), geoms)
    missing = shapely.is_missing(geoms)
    bad = np.flatnonzero(missing & ~none(batch.geoms)) if missing.any() else np.zeros(0, dtype=np.intp)
    if len(bad):
        raise ConverterError(
            f"{label}: unreadable geometry in feature(s) "
            f"{', '.join(str(batch.fids[i]) for i in bad[:10])}: "
            "the file is corrupt"
        )
    return geoms


def arrow_values(batch: Batch, name: str, keep: np.ndarray) -> np.ndarray | pa.Array:
    """The kept features' values of a source field: as Arrow gave them when it did, else as numpy."""
    if isinstance(batch.fields, ArrowFields):
        arr = batch.fields.arrow(name)
        return arr if len(keep) == len(arr) else arr.take(pa.array(keep))  # keep is sorted: all, or some left out
    return np.asarray(batch.fields[name][keep])


def field_codes(batch: Batch, name: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~converters.importer.arrays.factorize` of the kept features' values of a source field.

    A text field that Arrow holds is dictionary-encoded by Arrow, in C: no Python object per feature, where the
    field's few distinct values need only a handful.
    """
    if isinstance(batch.fields, ArrowFields) and is_text(arr := arrow_values(batch, name, keep)):
        enc = arr.dictionary_encode(null_encoding="encode")
        uniq = np.empty(len(enc.dictionary), dtype=object)
        uniq[:] = enc.dictionary.to_pylist()
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.intp), uniq
    return factorize(np.asarray(batch.fields[name][keep]))


def source_values(batch: Batch, fmap: FieldMap, col: str, keep: np.ndarray) -> np.ndarray | None:
    """The kept features' source values for a model column (preset by a CAD or scan reader, or a mapped field)."""
    if batch.preset is not None and col in batch.preset:
        vals = np.empty(len(keep), dtype=object)
        vals[:] = [batch.preset[col][i] for i in keep]
        return vals
    if col in fmap.columns:
        return np.asarray(batch.fields[fmap.columns[col]][keep])
    return None


def building_key(batch: Batch, profile: Profile, i: int) -> str | None:
    """Feature ``i``'s building id in the source (the profile's key fields, any case), by which a re-import finds
    the building again."""
    for name in profile.building_key:
        for f in batch.fields:
            if f.lower() == name.lower():
                v = batch.fields[f][i]
                if v is not None and str(v).strip():
                    return str(v).strip()
    return None
