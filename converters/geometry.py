"""Geometry quality: read, repair, normalise to the model's types, drop empty and zero-area parts."""

from __future__ import annotations

import numpy as np
import shapely

from converters.report import LayerReport

__all__ = ["MIN_PART_AREA_M2", "normalise"]

MIN_PART_AREA_M2 = 0.01  # polygon parts smaller than this (1 dm²) are digitising slivers
MIN_PART_LENGTH_M = 0.001
POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
LINEAR = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING, shapely.GeometryType.LINEARRING)


def _repair(geoms: np.ndarray, fids: np.ndarray, report: LayerReport, valid: np.ndarray | None = None) -> np.ndarray:
    valid = shapely.is_valid(geoms) if valid is None else valid
    invalid = np.flatnonzero(~valid & ~shapely.is_missing(geoms))
    if not len(invalid):
        return geoms
    out = geoms.copy()
    reasons = shapely.is_valid_reason(geoms[invalid])
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    before = shapely.area(geoms[invalid])
    after = shapely.area(fixed)
    for k, i in enumerate(invalid):
        report.repair(
            fids[i].item() if hasattr(fids[i], "item") else fids[i],
            f"{reasons[k]}; made valid, area {before[k]:.2f} → {after[k]:.2f} m²",
        )
    out[invalid] = fixed
    return out


def _all_clean_polygons(geoms: np.ndarray, valid: np.ndarray | None = None) -> tuple[bool, np.ndarray | None]:
    """Whether every shape is a valid, non-empty 2D Polygon of at least the minimum area; and the validity of each
    when it was looked at (so a repair need not look again)."""
    if not len(geoms) or not (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON).all():
        return False, valid
    if shapely.has_z(geoms).any() or shapely.is_empty(geoms).any():
        return False, valid
    valid = shapely.is_valid(geoms) if valid is None else valid
    return bool(valid.all() and (shapely.area(geoms) >= MIN_PART_AREA_M2).all()), valid


def normalise(
    geoms: np.ndarray, fids: np.ndarray, kind: str, report: LayerReport, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Geometries as the model stores them (MultiPolygon or MultiLineString, 2D, valid); returns (geoms, kept index).

    Zones that need nothing done come back as the valid 2D Polygons they are (written as MultiPolygons by
    :class:`converters.wkb.MultiPolygonWKB`).

    Invalid geometries are repaired (each repair reported with the feature's id and what changed); empty and
    zero-area parts are dropped, and features left with nothing are dropped and reported. ``valid``: each shape's
    ``shapely.is_valid``, when the caller has it.
    """
    n = len(geoms)
    clean, valid = _all_clean_polygons(geoms, valid) if kind == "zones" else (False, valid)
    if clean:
        # The usual case, decided in a few vectorised GEOS passes: valid 2D polygons, none too small. They stay
        # Polygons: converters.wkb writes them as one-part MultiPolygons, without a new shape each.
        return geoms, np.arange(n)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        report.drop(fids[i].item() if hasattr(fids[i], "item") else fids[i], "no geometry")
    geoms = shapely.force_2d(geoms)
    polygonal = kind in ("zones", "parcels", "buildings", "plan-boundary")
    # A valid Polygon or MultiPolygon keeps its validity when regrouped below (parts dropped or not); anything else
    # (a collection, a repaired shape) is checked again once regrouped.
    regrouped = np.ones(n, dtype=bool)
    if polygonal:
        valid = shapely.is_valid(geoms) if valid is None else valid
        regrouped = ~(valid & np.isin(shapely.get_type_id(geoms), POLYGONAL))
        geoms = _repair(geoms, fids, report, valid)
    parts, idx, types = _parts(geoms)
    keep_type, wrong, small = _classify_parts(parts, types, polygonal)
    # parts of the wrong dimension (lines left by a repair, points) and slivers are dropped, the feature kept
    _report_dropped_parts(idx, wrong, small, missing, fids, polygonal, report)
    good = keep_type & ~small
    parts, idx = parts[good], idx[good]
    counts = np.bincount(idx, minlength=n)
    kept = np.flatnonzero(counts > 0)
    for i in np.flatnonzero((counts == 0) & ~missing):
        report.drop(fids[i].item() if hasattr(fids[i], "item") else fids[i], "nothing left after dropping empty parts"
                    if polygonal else "no line in the geometry")  # fmt: skip
    # re-number the features that keep parts 0..k-1 and build one multi-geometry each
    remap = np.full(n, -1)
    remap[kept] = np.arange(len(kept))
    if polygonal:
        out = shapely.multipolygons(parts, indices=remap[idx])
    else:
        out = shapely.multilinestrings(parts, indices=remap[idx])
    out = np.asarray(out, dtype=object).reshape(-1)
    if polygonal:
        _merge_overlapping_parts(out, kept, regrouped, fids, report)
    return out, kept


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single parts of the shapes, the index of the shape each came from, and their types.

    make_valid may give collections (polygons with stray lines): they are exploded one more level.
    """
    parts, idx = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    nested = np.isin(types, [shapely.GeometryType.GEOMETRYCOLLECTION, shapely.GeometryType.MULTIPOLYGON,
                             shapely.GeometryType.MULTILINESTRING])  # fmt: skip
    if nested.any():
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sub_idx]])
        types = shapely.get_type_id(parts)
    return parts, idx, types


def _classify_parts(parts: np.ndarray, types: np.ndarray, polygonal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which parts have the kind's dimension, which another, and which are slivers (too small or short).

    For lines, rings among ``parts`` are made line strings in place.
    """
    if polygonal:
        keep_type = types == shapely.GeometryType.POLYGON
        wrong = np.isin(types, (*LINEAR, shapely.GeometryType.POINT))
        small = keep_type & (shapely.area(parts) < MIN_PART_AREA_M2)
        return keep_type, wrong, small
    keep_type = np.isin(types, (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING))
    if (types == shapely.GeometryType.LINEARRING).any():
        parts[types == shapely.GeometryType.LINEARRING] = shapely.linestrings(
            shapely.get_coordinates(parts[types == shapely.GeometryType.LINEARRING])
        )
    wrong = np.isin(types, (*POLYGONAL, shapely.GeometryType.POINT))
    small = keep_type & (shapely.length(parts) < MIN_PART_LENGTH_M)
    return keep_type, wrong, small


def _report_dropped_parts(
    idx: np.ndarray,
    wrong: np.ndarray,
    small: np.ndarray,
    missing: np.ndarray,
    fids: np.ndarray,
    polygonal: bool,
    report: LayerReport,
) -> None:
    """One repair per feature that loses parts: how many were slivers, how many of another dimension."""
    for i in np.unique(idx[(wrong | small) & ~missing[idx]]):
        what = "zero-area part" if polygonal else "zero-length part"
        n_small = int(((idx == i) & small).sum())
        n_wrong = int(((idx == i) & wrong).sum())
        msg = ", ".join(
            x
            for x in (
                f"{n_small} {what}(s)" if n_small else "",
                f"{n_wrong} part(s) of another dimension" if n_wrong else "",
            )
            if x
        )
        report.repair(fids[i].item() if hasattr(fids[i], "item") else fids[i], f"dropped {msg}")


def _merge_overlapping_parts(
    out: np.ndarray, kept: np.ndarray, regrouped: np.ndarray, fids: np.ndarray, report: LayerReport
) -> None:
    """MultiPolygons made from a collection's or a repair's polygons can be invalid once grouped: a collection is
    valid when each member is, but a MultiPolygon's parts must not overlap or share an edge. Such a shape is made
    the union of its parts (reported). The database is then sure to find every shape valid: it does not check
    bulk-loaded zones again (migration 0005)."""
    check = np.flatnonzero(regrouped[kept])
    if not len(check):
        return
    bad = check[~shapely.is_valid(out[check])]
    for j in bad:
        before = float(shapely.area(out[j]))
        merged = shapely.union_all(shapely.get_parts(out[j]))
        parts = [p for p in shapely.get_parts(merged) if p.geom_type == "Polygon"]
        out[j] = shapely.MultiPolygon(parts)
        i = kept[j]
        report.repair(
            fids[i].item() if hasattr(fids[i], "item") else fids[i],
            f"parts overlap or share an edge: merged, area {before:.2f} → {float(shapely.area(out[j])):.2f} m²",
        )
        if not shapely.is_valid(out[j]):  # pragma: no cover - a union of polygons is valid
            raise ValueError(f"feature {fids[i]}: no valid shape from its parts")
