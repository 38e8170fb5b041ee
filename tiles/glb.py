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

import meshoptimizer  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from tiles.mesh import Mesh

__all__ = ["Property", "glb_bytes"]

PropertyType = Literal["STRING", "INT32", "UINT32", "FLOAT32", "FLOAT64"]
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
FLOAT, BYTE, UNSIGNED_BYTE, SHORT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5120, 5121, 5122, 5123, 5125
#: Widest tile (half its largest side, m) whose positions are quantized to 16 bits: a step of 2 cm at most, so a
#: vertex moves by 1 cm at most; wider tiles keep float32 positions.
QUANTIZE_MAX_HALF_EXTENT_M = 655.0
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

    def __init__(self, index: int = 0, views: list[dict[str, Any]] | None = None) -> None:
        self.index = index
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict[str, Any]] = [] if views is None else views  # one list of views for every buffer

    def add(self, data: bytes, target: int | None = None) -> int:
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        view: dict[str, Any] = {"buffer": self.index, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        if self.index == 0:  # a fallback buffer only counts its bytes
            self.parts.append(data)
        self.size += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def bytes(self) -> bytes:
        data = b"".join(self.parts)
        return data + b"\0" * ((-len(data)) % 4)


class _Writer:
    """Buffer views and accessors of the vertex data: plain, or meshopt-compressed with a fallback buffer."""

    def __init__(self, *, compact: bool) -> None:
        self.compact = compact
        self.buf = _Buffer()
        self.fallback = _Buffer(index=1, views=self.buf.views)  # the decoded views' home: no bytes in the file
        self.accessors: list[dict[str, Any]] = []

    def _accessor(self, view: int, component: int, count: int, kind: str, **extra: Any) -> int:
        self.accessors.append({"bufferView": view, "componentType": component, "count": count, "type": kind, **extra})
        return len(self.accessors) - 1

    def vertices(self, rows: npt.NDArray[Any], component: int, kind: str, **extra: Any) -> int:
        """An accessor of one vertex attribute (``rows``: one row per vertex, padded to 4 bytes)."""
        if component in (BYTE, UNSIGNED_BYTE, SHORT):
            extra.setdefault("normalized", True)
        if self.compact:
            view = _meshopt_view(self.buf, self.fallback, rows, "ATTRIBUTES")
        else:
            view = self.buf.add(np.ascontiguousarray(rows).tobytes(), ARRAY_BUFFER)
        return self._accessor(view, component, rows.shape[0], kind, **extra)

    def indices(self, idx: npt.NDArray[Any]) -> int:
        """The accessor of the triangle indices (uint16 or uint32)."""
        if self.compact:
            view = _meshopt_view(self.buf, self.fallback, idx.reshape(-1, 1), "TRIANGLES")
        else:
            view = self.buf.add(idx.tobytes(), ELEMENT_ARRAY_BUFFER)
        return self._accessor(view, UNSIGNED_INT if idx.itemsize == 4 else UNSIGNED_SHORT, idx.shape[0], "SCALAR")


def _quantized_positions_normals(
    out: _Writer, yup: npt.NDArray[np.float64], normals: npt.NDArray[Any], node: dict[str, Any]
) -> tuple[int, int]:
    """KHR_mesh_quantization: positions as normalized int16 around the tile's centre, the node scaling them back
    (one scale for the three axes, so normals need no correction), and normals as normalized int8."""
    center = (yup.min(axis=0) + yup.max(axis=0)) / 2
    scale = max(float(np.abs(yup - center).max()), 1e-3)
    q = np.zeros((yup.shape[0], 4), dtype="<i2")  # padded to 8 bytes: attributes are 4-byte aligned
    q[:, :3] = np.rint((yup - center) / scale * 32767)
    node["translation"] = [t + float(c) for t, c in zip(node["translation"], center, strict=True)]
    node["scale"] = [scale, scale, scale]
    qn = np.zeros((yup.shape[0], 4), dtype="i1")
    qn[:, :3] = np.rint(np.clip(normals, -1, 1) * 127)
    a_pos = out.vertices(q, SHORT, "VEC3", min=q[:, :3].min(axis=0).tolist(), max=q[:, :3].max(axis=0).tolist())
    return a_pos, out.vertices(qn, BYTE, "VEC3")


def _meshopt_view(buf: _Buffer, fallback: _Buffer, arr: npt.NDArray[Any], mode: str) -> int:
    """A buffer view of ``arr`` (one row per vertex or index) compressed with meshopt into ``buf``.

    The view itself points into the fallback buffer, where a reader that decodes finds the bytes; the compressed
    stream is in the extension. Vertex rows must be a multiple of 4 bytes (the codec's and glTF's rule).
    """
    raw = np.ascontiguousarray(arr)
    stride = raw.itemsize * (raw.shape[1] if raw.ndim > 1 else 1)
    if mode == "TRIANGLES":
        data = meshoptimizer.encode_index_buffer(raw.reshape(-1).astype(np.uint32), raw.shape[0], int(raw.max()) + 1)
    else:
        data = meshoptimizer.encode_vertex_buffer(
            raw.view(np.uint8).reshape(raw.shape[0], stride), raw.shape[0], stride
        )
    offset = buf.add(data)
    compressed = buf.views.pop(offset)
    view = fallback.add(raw.tobytes(), ELEMENT_ARRAY_BUFFER if mode == "TRIANGLES" else ARRAY_BUFFER)
    entry = fallback.views[view]
    if mode == "ATTRIBUTES":
        entry["byteStride"] = stride
    entry["extensions"] = {
        "EXT_meshopt_compression": {
            "buffer": 0,
            "byteOffset": compressed["byteOffset"],
            "byteLength": compressed["byteLength"],
            "byteStride": stride,
            "count": raw.shape[0],
            "mode": mode,
        }
    }
    return view


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
    compact: bool = True,
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
    compact
        Quantized positions and normals (``KHR_mesh_quantization``: int16 positions scaled by the node, int8
        normals) and meshopt-compressed vertices and indices (``EXT_meshopt_compression``), both required
        extensions; ``False`` writes plain float32 views (kept for comparison in the benchmark).
    """
    n_features = len(next(iter(columns.values()))) if columns else 0
    out = _Writer(compact=compact)
    buf = out.buf
    local = mesh.positions - translation
    yup = np.stack([local[:, 0], local[:, 2], -local[:, 1]], axis=1)  # y-up: (east, up, -north)
    nrm_yup = np.stack([mesh.normals[:, 0], mesh.normals[:, 2], -mesh.normals[:, 1]], axis=1)
    node: dict[str, Any] = {
        "mesh": 0,
        "translation": [float(translation[0]), float(translation[2]), -float(translation[1])],
    }
    extensions = ["EXT_mesh_features", "EXT_structural_metadata"]
    required = ["EXT_meshopt_compression"] if compact else []
    half = float(np.abs(yup - (yup.min(axis=0) + yup.max(axis=0)) / 2).max()) if mesh.vertex_count else 0.0
    if compact and half <= QUANTIZE_MAX_HALF_EXTENT_M:
        required.append("KHR_mesh_quantization")
        a_pos, a_nrm = _quantized_positions_normals(out, yup, nrm_yup, node)
    else:  # plain, or a tile too wide for 16 bits to keep the centimetre: float positions
        pos = yup.astype("<f4")
        a_pos = out.vertices(pos, FLOAT, "VEC3", min=pos.min(axis=0).tolist(), max=pos.max(axis=0).tolist())
        a_nrm = out.vertices(nrm_yup.astype("<f4"), FLOAT, "VEC3")
    extensions += required
    a_col = out.vertices(np.ascontiguousarray(colors[mesh.feature_ids], dtype=np.uint8), UNSIGNED_BYTE, "VEC4")
    a_fid = out.vertices(mesh.feature_ids.astype("<f4").reshape(-1, 1), FLOAT, "SCALAR")
    a_idx = out.indices(mesh.indices.astype("<u4" if mesh.vertex_count > 65535 else "<u2"))
    accessors = out.accessors

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
        "extensionsUsed": extensions,
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [node],
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
    if required:
        gltf["extensionsRequired"] = required
    binary = buf.bytes()
    gltf["buffers"][0]["byteLength"] = len(binary)
    if out.fallback.size:
        # The decoded views' home: no bytes anywhere, which the extension allows once it is required.
        gltf["buffers"].append(
            {"byteLength": out.fallback.size, "extensions": {"EXT_meshopt_compression": {"fallback": True}}}
        )
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
