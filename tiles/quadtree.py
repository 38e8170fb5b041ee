"""A fixed quadtree over the province in EPSG:9214, split where a cell holds too many features or vertices.

Every feature belongs to the cell of its bounding-box centre. The grid never moves (its root is a 262,144 m square
that covers Thừa Thiên Huế), so a feature keeps its tile across rebuilds unless it moves or its cell's split changes:
the addresses ``level/x/y`` are stable keys for incremental rebuilds. The tree starts at the smallest grid cell that
holds every feature, and only leaves carry content (refinement ADD).

>>> import numpy as np
>>> t = build_quadtree(np.array([561000.0, 561500.0]), np.array([1821000.0, 1821900.0]),
...                    np.array([10, 10]), max_features=1, max_vertices=1000)
>>> [(leaf.address, leaf.members.tolist()) for leaf in t.leaves()]
[('9/315/237', [0]), ('9/315/238', [1])]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["GRID_ORIGIN", "GRID_SIZE", "MAX_LEVEL", "Node", "build_quadtree", "cell_bounds"]

GRID_ORIGIN = (400_000.0, 1_700_000.0)  #: south-west corner of the root cell, EPSG:9214 metres
GRID_SIZE = float(2**18)  #: side of the root cell (m): E 400-662 km, N 1700-1962 km holds the province
MAX_LEVEL = 16  #: cells of 4 m: deeper splits cannot separate buildings any further

I64 = npt.NDArray[np.int64]


@dataclass
class Node:
    """A cell of the grid at ``level`` (column ``x``, row ``y``): its sub-cells, or the features of a leaf."""

    level: int
    x: int
    y: int
    children: list[Node] = field(default_factory=list)
    members: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # feature indices (leaves)

    @property
    def address(self) -> str:
        """The cell's stable key ``level/x/y``."""
        return f"{self.level}/{self.x}/{self.y}"

    @property
    def size(self) -> float:
        """The cell's side in metres."""
        return GRID_SIZE / 2**self.level

    def leaves(self) -> Iterator[Node]:
        """The leaves at or under this cell (the cells that carry content), depth first."""
        if not self.children:
            yield self
        for c in self.children:
            yield from c.leaves()

    def walk(self) -> Iterator[Node]:
        """This cell and every cell under it, depth first (parents before children)."""
        yield self
        for c in self.children:
            yield from c.walk()


def cell_bounds(level: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a cell in EPSG:9214."""
    s = GRID_SIZE / 2**level
    return GRID_ORIGIN[0] + x * s, GRID_ORIGIN[1] + y * s, GRID_ORIGIN[0] + (x + 1) * s, GRID_ORIGIN[1] + (y + 1) * s


def build_quadtree(
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
    vertices: I64,
    *,
    max_features: int,
    max_vertices: int,
) -> Node:
    """Quadtree of features by their centres ``(cx, cy)`` (EPSG:9214), leaves within the caps where possible.

    Leaf members are sorted by feature index; children by address. A cell at :data:`MAX_LEVEL` is never split.
    """
    n_cells = 2**MAX_LEVEL
    qx = np.clip(np.floor((cx - GRID_ORIGIN[0]) / GRID_SIZE * n_cells), 0, n_cells - 1).astype(np.int64)
    qy = np.clip(np.floor((cy - GRID_ORIGIN[1]) / GRID_SIZE * n_cells), 0, n_cells - 1).astype(np.int64)
    everyone = np.arange(cx.shape[0], dtype=np.int64)
    level = 0
    if everyone.size:
        while level < MAX_LEVEL:
            shift = MAX_LEVEL - level - 1
            if (qx >> shift).min() != (qx >> shift).max() or (qy >> shift).min() != (qy >> shift).max():
                break
            level += 1
    shift = MAX_LEVEL - level
    root_x = int(qx[0] >> shift) if everyone.size else 0
    root_y = int(qy[0] >> shift) if everyone.size else 0

    def grow(node: Node, members: I64) -> Node:
        too_big = members.size > max_features or int(vertices[members].sum()) > max_vertices
        if node.level >= MAX_LEVEL or members.size <= 1 or not too_big:
            node.members = np.sort(members)
            return node
        s = MAX_LEVEL - node.level - 1
        child_x = qx[members] >> s
        child_y = qy[members] >> s
        key = (child_x - 2 * node.x) * 2 + (child_y - 2 * node.y)
        for k in range(4):
            sub = members[key == k]
            if sub.size:
                node.children.append(grow(Node(node.level + 1, 2 * node.x + k // 2, 2 * node.y + k % 2), sub))
        return node

    return grow(Node(level, root_x, root_y), everyone)
