"""The ``attributes`` JSON of each feature (the source fields kept, its id, a reader's own), built by Arrow as
binary COPY jsonb fields."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from converters.importer.arrays import is_text, none
from converters.importer.reading import arrow_values, field_codes
from converters.importer.values import TextState
from converters.mapping import FieldMap, jsonable
from converters.pgcopy import BIN
from converters.report import LayerReport
from converters.sources import Batch

_JSON_ESCAPED = r'["\\\x00-\x1f]'  # what json.dumps(ensure_ascii=False) writes other than as it is


def text(value: str) -> pa.Scalar:
    """An Arrow text scalar, to join with arrays of text."""
    return pa.scalar(value, pa.large_string())


def text_members(name: str, values: np.ndarray | pa.Array) -> pa.Array | None:
    """``"name": "value", `` for each value of a text field taken as Unicode (empty where it has none), built by
    Arrow: most names in a plan file are all different, and json.dumps of each is slow by comparison. None if the
    field holds something other than text."""
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not is_text(arr):  # numbers, bytes (jsonable reads those as Latin-1)
        return None
    arr = arr.cast(pa.large_string())
    escaped = pc.match_substring_regex(arr, _JSON_ESCAPED).fill_null(False)
    key = text(json.dumps(name, ensure_ascii=False) + ': "')
    member = pc.binary_join_element_wise(key, arr, text('", '), text(""))
    if pc.any(escaped).as_py():  # quotes, backslashes, control characters: as json.dumps writes them
        which = np.flatnonzero(escaped.to_numpy(zero_copy_only=False))
        texts = arr.take(pa.array(which)).to_pylist()
        exact = [json.dumps(name, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False) + ", " for v in texts]
        mask = np.zeros(len(arr), dtype=bool)
        mask[which] = True
        member = pc.replace_with_mask(member, pa.array(mask), pa.array(exact, pa.large_string()))
    out: pa.Array = member.fill_null("")
    return out


def _field_members(batch: Batch, name: str, keep: np.ndarray, lr: LayerReport, text_state: TextState) -> pa.Array:
    """``"name": value, `` for each kept feature of a source field (empty where it has none): each distinct value
    decoded and encoded once."""
    if text_state.settled(name) and (member := text_members(name, arrow_values(batch, name, keep))) is not None:
        return member
    idx, uniq = field_codes(batch, name, keep)
    counts = np.bincount(idx, minlength=len(uniq))
    key = json.dumps(name, ensure_ascii=False) + ": "
    enc = np.empty(len(uniq), dtype=object)
    settled = text_state.settled(name)
    for u in range(len(uniq)):
        v = jsonable(uniq[u])
        if not settled and isinstance(v, str) and not v.isascii():
            v = text_state.convert(name, v, lr, int(counts[u]))
            settled = text_state.settled(name)
        enc[u] = "" if v is None else key + json.dumps(v, ensure_ascii=False) + ", "
    return pa.array(enc, pa.large_string()).take(pa.array(idx))


def _own_members(batch: Batch, keep: np.ndarray, more: np.ndarray) -> list[pa.Array | pa.Scalar]:
    """``"source_fid": ...`` for each kept feature, then a reader's own attributes and ``more``, each with its
    leading comma (empty where a feature has none)."""
    fids = batch.fids[keep]
    parts: list[pa.Array | pa.Scalar] = []
    if fids.dtype.kind in "iu":
        parts += [text('"source_fid": '), pa.array(fids, pa.int64()).cast(pa.large_string())]
    else:
        fid_member = ['"source_fid": ' + json.dumps(jsonable(f), ensure_ascii=False) for f in fids]
        parts.append(pa.array(fid_member, pa.large_string()))
    extra = batch.preset.get("attributes") if batch.preset else None
    if extra is not None:
        own = [json.dumps(extra[int(i)], ensure_ascii=False)[1:-1] for i in keep]
        parts.append(pa.array([", " + m if m else "" for m in own], pa.large_string()))
    if not none(more).all():
        parts.append(pa.array([", " + m if m is not None else "" for m in more.tolist()], pa.large_string()))
    return parts


def attributes(
    batch: Batch, fmap: FieldMap, keep: np.ndarray, lr: LayerReport, text_state: TextState, more: np.ndarray
) -> pa.Array:
    """The ``attributes`` JSON of each kept feature, as binary COPY jsonb fields.

    The source fields kept (each distinct value encoded once), ``source_fid``, a reader's own attributes, and
    ``more`` (a JSON member or None per feature). Later members win over earlier ones of the same name, as in the
    JSON's meaning for PostgreSQL. Arrow joins the members row by row. Each member carries its own comma (those
    before ``source_fid``, which every feature has, end with one; those after it start with one), and a member a
    feature lacks is empty.
    """
    parts: list[pa.Array | pa.Scalar] = [text("\x01{")]  # jsonb's format version, then the document
    parts += [_field_members(batch, name, keep, lr, text_state) for name in fmap.kept if name in batch.fields]
    parts += _own_members(batch, keep, more)
    parts.append(text("}"))
    out: pa.Array = pc.binary_join_element_wise(*parts, text(""))
    return out.cast(BIN)
