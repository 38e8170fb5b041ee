"""Binary glTF (glb) with ``EXT_mesh_features`` feature ids and ``EXT_structural_metadata`` property tables.

Written by hand with NumPy and ``json`` rather than through pygltflib or py3dtiles: neither writes the two 3D Tiles
1.1 metadata extensions (py3dtiles 12.1.1 only knows the 1.0 ``_BATCHID``, and writes it as UNSIGNED_INT, which
validators reject), and building pygltflib's object model per tile costs more than the whole tile here. The layout
follows the glTF 2.0 rules the Khronos validator checks: every buffer view starts on an 8-byte boundary, vertex
attributes are tightly packed 4-byte-aligned elements, ``POSITION`` has min/max, indices are UNSIGNED_SHORT when
they fit. pygltflib reads these files back in the tests.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tiles.mesh import Mesh

__all__ = ["Property", "glb_bytes"]

PropertyType = Literal["STRING", "INT32", "UINT32", "FLOAT32", "FLOAT64"]
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
FLOAT, UNSIGNED_BYTE, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5121, 5123, 5125
NUMPY_TYPES: dict[str, Any] = {"INT32": np.int32, "UINT32": np.uint32, "FLOAT32": np.float32, "FLOAT64": np.float64}


@dataclass(frozen=True)
class Property:
    """One column of a property table: its id, metadata type and a bilingual label."""

    id: str
    type: PropertyType
    label: str
    description: str = ""
    no_data: float | int | None = field(default=None)

    def schema(self) -> dict[str, Any]:
        """The property's class entry in the metadata schema (EXT_structural_metadata)."""
        out: dict[str, Any] = {"name": self.label}
        if self.description:
            out["description"] = self.description
        if self.type == "STRING":
            out["type"] = "STRING"
        else:
            out["type"] = "SCALAR"
            out["componentType"] = self.type
        if self.no_data is not None:
            out["noData"] = self.no_data
        return out


class _Buffer:
    """The binary chunk: buffer views appended on 8-byte boundaries."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict[str, Any]] = []

    def add(self, data: bytes, target: int | None = None) -> int:
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.parts.append(data)
        self.size += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def bytes(self) -> bytes:
        data = b"".join(self.parts)
        return data + b"\0" * ((-len(data)) % 4)


def _column_bytes(prop: Property, values: Sequence[Any]) -> tuple[bytes, bytes | None]:
    """The values of a column (and for strings, UINT32 offsets)."""
    if prop.type == "STRING":
        encoded = [("" if v is None else str(v)).encode("utf-8") for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype="<u4")
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return b"".join(encoded), offsets.tobytes()
    fill = prop.no_data if prop.no_data is not None else 0
    arr = np.array([fill if v is None else v for v in values], dtype=NUMPY_TYPES[prop.type])
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes(), None


def glb_bytes(
    mesh: Mesh,
    *,
    colors: npt.NDArray[np.uint8],
    translation: npt.NDArray[np.float64],
    class_id: str,
    class_name: str,
    properties: Sequence[Property],
    columns: Mapping[str, Sequence[Any]],
    translucent: bool = False,
) -> bytes:
    """A glb of one mesh with one feature per row of ``columns``.

    Parameters
    ----------
    mesh
        Triangles in the tileset's east-north-up frame (z up); written y-up as glTF wants (3D Tiles turns it back).
    colors
        (features, 4) RGBA per feature, written as a per-vertex ``COLOR_0``.
    translation
        East-north-up offset of this tile, kept in the node (double precision) so float32 positions stay exact
        to the tenth of a millimetre.
    class_id, class_name, properties, columns
        The ``EXT_structural_metadata`` class and its property table (one row per feature, in feature-id order).
    translucent
        Alpha blending and double-sided faces (zone envelopes).
    """
    n_features = len(next(iter(columns.values()))) if columns else 0
    buf = _Buffer()
    local = mesh.positions - translation
    pos = np.empty((mesh.vertex_count, 3), dtype="<f4")  # y-up: (east, up, -north)
    pos[:, 0] = local[:, 0]
    pos[:, 1] = local[:, 2]
    pos[:, 2] = -local[:, 1]
    nrm = np.empty((mesh.vertex_count, 3), dtype="<f4")
    nrm[:, 0] = mesh.normals[:, 0]
    nrm[:, 1] = mesh.normals[:, 2]
    nrm[:, 2] = -mesh.normals[:, 1]
    col = np.ascontiguousarray(colors[mesh.feature_ids], dtype=np.uint8)
    fid = mesh.feature_ids.astype("<f4")
    big = mesh.vertex_count > 65535
    idx = mesh.indices.astype("<u4" if big else "<u2")

    accessors: list[dict[str, Any]] = []

    def accessor(view: int, component: int, count: int, kind: str, **extra: Any) -> int:
        accessors.append({"bufferView": view, "componentType": component, "count": count, "type": kind, **extra})
        return len(accessors) - 1

    n = mesh.vertex_count
    a_pos = accessor(
        buf.add(pos.tobytes(), ARRAY_BUFFER),
        FLOAT,
        n,
        "VEC3",
        min=[float(x) for x in pos.min(axis=0)],
        max=[float(x) for x in pos.max(axis=0)],
    )
    a_nrm = accessor(buf.add(nrm.tobytes(), ARRAY_BUFFER), FLOAT, n, "VEC3")
    a_col = accessor(buf.add(col.tobytes(), ARRAY_BUFFER), UNSIGNED_BYTE, n, "VEC4", normalized=True)
    a_fid = accessor(buf.add(fid.tobytes(), ARRAY_BUFFER), FLOAT, n, "SCALAR")
    a_idx = accessor(
        buf.add(idx.tobytes(), ELEMENT_ARRAY_BUFFER), UNSIGNED_INT if big else UNSIGNED_SHORT, idx.shape[0], "SCALAR"
    )

    table: dict[str, Any] = {}
    for prop in properties:
        values, offsets = _column_bytes(prop, columns[prop.id])
        if not values:  # every value empty: leave the column out (no property is required; a viewer shows none)
            continue
        entry: dict[str, Any] = {"values": buf.add(values)}
        if offsets is not None:
            entry["stringOffsets"] = buf.add(offsets)
            entry["stringOffsetType"] = "UINT32"
        table[prop.id] = entry

    material: dict[str, Any] = {
        "name": class_name,
        "pbrMetallicRoughness": {
            "baseColorFactor": [1.0, 1.0, 1.0, 0.5 if translucent else 1.0],
            "metallicFactor": 0.0,
            "roughnessFactor": 1.0,
        },
    }
    if translucent:
        material["alphaMode"] = "BLEND"
        material["doubleSided"] = True
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "hue-planning tiles"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [float(translation[0]), float(translation[2]), -float(translation[1])]}],
        "meshes": [
            {
                "primitives": [
                    {
                        "attributes": {"POSITION": a_pos, "NORMAL": a_nrm, "COLOR_0": a_col, "_FEATURE_ID_0": a_fid},
                        "indices": a_idx,
                        "material": 0,
                        "mode": 4,
                        "extensions": {
                            "EXT_mesh_features": {
                                "featureIds": [
                                    {"featureCount": n_features, "attribute": 0, "propertyTable": 0, "label": class_id}
                                ]
                            }
                        },
                    }
                ]
            }
        ],
        "materials": [material],
        "accessors": accessors,
        "bufferViews": buf.views,
        "buffers": [{"byteLength": buf.size}],
        "extensions": {
            "EXT_structural_metadata": {
                "schema": {
                    "id": "hue_planning",
                    "classes": {class_id: {"name": class_name, "properties": {p.id: p.schema() for p in properties}}},
                },
                "propertyTables": [{"name": class_name, "class": class_id, "count": n_features, "properties": table}],
            }
        },
    }
    binary = buf.bytes()
    gltf["buffers"][0]["byteLength"] = len(binary)
    js = json.dumps(gltf, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * ((-len(js)) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(js), b"JSON"),
            js,
            struct.pack("<I4s", len(binary), b"BIN\0"),
            binary,
        ]
    )
