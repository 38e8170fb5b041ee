"""The importer's column-wise steps built on Arrow give what the per-value Python they replace gave."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from converters.importer.attributes import text_members
from converters.importer.values import PY_WHITESPACE, arrow_text, code_pairs
from converters.mapping import FieldMap
from converters.sources import ArrowFields, Batch

TRICKY = ["Ô quy hoạch số 1", '  "ngoặc kép" \\ ', "xuống\ndòng\t", "\x1fÔQH-2\u3000", "", "   ", "Đất ở tại đô thị"]


def test_python_whitespace_is_what_str_strip_takes() -> None:
    assert set(PY_WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_attribute_members_are_json_dumps() -> None:
    values = np.array([*TRICKY, None], dtype=object)
    got = text_members("tênĐốiTượng", values)
    assert got is not None
    key = json.dumps("tênĐốiTượng", ensure_ascii=False)
    assert got.to_pylist() == [key + ": " + json.dumps(v, ensure_ascii=False) + ", " for v in TRICKY] + [""]
    assert text_members("n", np.array([1, 2], dtype=object)) is None  # not text: the per-value path
    assert text_members("n", np.array([b"\xd0\xe1t"], dtype=object)) is None  # bytes: read as Latin-1 there


def test_plain_text_columns_are_stripped_as_python_strips() -> None:
    arrow = pa.array([*TRICKY, None])
    batch = Batch(np.arange(len(arrow)), np.full(len(arrow), None), ArrowFields({"tenO": arrow}), None)
    fmap = FieldMap({"name": "tenO"}, [])
    keep = np.array([0, 1, 2, 3, 4, 5, 7])
    got = arrow_text(batch, fmap, "name", keep)
    assert got is not None
    expected = [(v.strip() or None) if v is not None else None for v in [*TRICKY, None]]
    assert got.to_pylist() == [expected[i] for i in keep]


def test_arrow_fields_become_numpy_only_when_asked() -> None:
    fields = ArrowFields({"tenO": pa.array(["a", "b"])})
    assert "tenO" in fields and "x" not in fields and list(fields) == ["tenO"] and not fields._numpy
    assert fields["tenO"].tolist() == ["a", "b"] and "tenO" in fields._numpy


def test_code_pairs_say_per_feature_what_the_per_feature_loop_said() -> None:
    """code_pairs: what the loops over the features said (the stored code another than the source's, the source's
    JSON member), worked out once per distinct (source code, stored code) pair."""
    raw = np.array(["BHK", "odt", None, "XYZ", "BHK", "ODT", "Đ1", None, "odt"], dtype=object)
    code = np.array(["HNK", "ODT", "ODT", None, "HNK", "ODT", "ODT", None, "ODT"], dtype=object)
    pair, changed, member = code_pairs(raw, code)
    assert len(changed) == len(member) == 7 and pair.tolist() == [0, 1, 2, 3, 0, 4, 5, 6, 1]
    loop = [i for i in range(len(raw)) if raw[i] is not None and code[i] is not None and raw[i].upper() != code[i]]
    assert [i for i in range(len(raw)) if changed[pair[i]]] == loop == [0, 4, 6]  # BHK → HNK twice, Đ1 → ODT
    assert [member[pair[i]] for i in range(len(raw))] == [
        None if not isinstance(r, str) else '"source_land_use_code": ' + json.dumps(r, ensure_ascii=False) for r in raw
    ]
    empty = code_pairs(np.array([], dtype=object), np.array([], dtype=object))
    assert len(empty[0]) == len(empty[1]) == len(empty[2]) == 0
