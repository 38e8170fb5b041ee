"""Work of one batch split between two threads, for the steps that release Python's lock (GEOS)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Batches at least this long have their GEOS reading and validity checks split between two threads.
SPLIT_GEOS_AT = 20_000


def in_two(pool: ThreadPoolExecutor, fn: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
    """``fn`` over ``values``: the second half in ``pool``'s thread, the first here.

    For shapely's vectorised functions, which release the GIL: reading WKB and checking validity are the longest
    step of a batch before its rows can be encoded.
    """
    if len(values) < SPLIT_GEOS_AT:
        return fn(values)
    mid = len(values) // 2
    second = pool.submit(fn, values[mid:])
    first = fn(values[:mid])
    return np.concatenate([first, second.result()])
