"""Small steps over numpy and Arrow arrays that the stages of the import share."""

from __future__ import annotations

import math
from typing import Any, TypeGuard, cast

import numpy as np
import pandas as pd
import pyarrow as pa


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's index among the distinct values, and the distinct values (found by hashing, in first-seen order).

    The per-value work of a batch (decoding legacy text, mapping codes, checking ranges) is then done once per
    distinct value: a million zones hold a few dozen codes, densities and floor counts.
    """
    idx, uniq = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(idx, dtype=np.intp), np.asarray(uniq)


def is_text(arr: object) -> TypeGuard[pa.Array]:
    """An Arrow array of text."""
    return isinstance(arr, pa.Array) and arr.type in (pa.string(), pa.large_string())


def is_null(v: Any) -> bool:
    """A missing value: None or NaN."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def none(values: np.ndarray | pa.Array) -> np.ndarray:
    """True where a value is None (compared element by element in C)."""
    if isinstance(values, pa.Array):
        nulls: np.ndarray = values.is_null().to_numpy(zero_copy_only=False)
        return nulls
    out: np.ndarray = np.equal(values, cast(Any, None))
    return out


def rows(values: np.ndarray | pa.Array, which: np.ndarray) -> np.ndarray | pa.Array:
    """The values of the features at ``which`` (sorted indexes)."""
    if len(which) == len(values):  # all of them (sorted indexes, none twice)
        return values
    if isinstance(values, pa.Array):
        return values.take(pa.array(which))
    out: np.ndarray = values[which]
    return out


def as_float(values: np.ndarray) -> np.ndarray:
    """Numbers as floats, None as NaN."""
    return np.where(none(values), np.nan, values).astype(float)
