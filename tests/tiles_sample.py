"""A small plan around the Kinh thành control point for the tiler tests, and readers of the tiles written.

Zones with a hole, a two-part multipolygon and a ring stored clockwise; parcels; a grid of rectangular and L-shaped
buildings, dense enough that small tile caps split the quadtree over several levels.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import meshoptimizer  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.editing import insert_feature

E, N = 561625.296, 1821650.262  # the VN-2000 control point (EPSG:9214)
PLAN_CODE = "46QPK0000001"
WHO = {"user": "tiles.test", "reason": "dữ liệu thử 3D"}


def ring(x0: float, y0: float, w: float, h: float, *, clockwise: bool = False) -> str:
    pts = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0)]
    if clockwise:
        pts.reverse()
    return "(" + ",".join(f"{x:.3f} {y:.3f}" for x, y in pts) + ")"


@dataclass
class Sample:
    plan_id: int
    courtyard_zone: int  # ODT, a square with a hole, max height 12.5 m
    twin_zone: int  # TMD, two parts, 5 floors
    plain_zone: int  # DGD, clockwise ring, no height rule
    courtyard_corner: tuple[float, float]  # south-west outer corner, EPSG:9214
    buildings: list[int]
    parcels: list[int]


def make_sample(conn: Connection) -> Sample:
    plan_id = conn.execute(
        sa.text(
            "INSERT INTO planning.plans (code, name, level, scale_denominator, status, decision_no, decision_date) "
            "VALUES (:code, 'Phân khu Kinh thành Huế', 'zoning', 2000, 'approved', '06/2024/QĐ-UBND', "
            "'2024-03-01') RETURNING id"
        ),
        {"code": PLAN_CODE},
    ).scalar_one()
    x0, y0 = E - 150.0, N - 120.0
    courtyard = insert_feature(
        conn,
        "zones",
        {
            "plan_id": plan_id,
            "zone_code": "ÔQH-01",
            "name": "Khu ở Thuận Thành",
            "land_use_code": "ODT",
            "max_height_m": 12.5,
            "max_floors": 3,
            "max_density_pct": 60,
            "max_far": 1.8,
            "heritage_zone": "Kinh thành, vùng bảo vệ II",
            "geom": f"MULTIPOLYGON(({ring(x0, y0, 100, 80)},{ring(x0 + 30, y0 + 20, 40, 30, clockwise=True)}))",
        },
        **WHO,
    )["id"]
    twin = insert_feature(
        conn,
        "zones",
        {
            "plan_id": plan_id,
            "zone_code": "ÔQH-02",
            "name": "Thương mại dịch vụ Đông Ba",
            "land_use_code": "TMD",
            "max_floors": 5,
            "geom": f"MULTIPOLYGON(({ring(E + 20, N - 120, 60, 40)}),({ring(E + 20, N - 60, 60, 40)}))",
        },
        **WHO,
    )["id"]
    plain = insert_feature(
        conn,
        "zones",
        {
            "plan_id": plan_id,
            "zone_code": "ÔQH-03",
            "name": "Trường học",
            "land_use_code": "DGD",
            "geom": f"MULTIPOLYGON(({ring(E - 150, N + 20, 70, 50, clockwise=True)}))",
        },
        **WHO,
    )["id"]
    parcels = []
    for i in range(4):
        parcels.append(
            insert_feature(
                conn,
                "parcels",
                {
                    "ward": "Thuận Thành",
                    "sheet_no": 12,
                    "parcel_no": 100 + i,
                    "area_m2": 600,
                    "land_use_code": "ODT",
                    "address": f"{10 + i} Đinh Tiên Hoàng",
                    "geom": f"MULTIPOLYGON(({ring(x0 + 2 + i * 24, y0 + 2, 22, 16)}))",
                },
                **WHO,
            )["id"]
        )
    values = []
    for i in range(8):
        for j in range(8):
            bx, by = E + 100 + i * 25.0, N + 30 + j * 25.0
            if (i + j) % 3 == 0:  # L-shaped
                g = (
                    f"MULTIPOLYGON((({bx} {by},{bx + 14} {by},{bx + 14} {by + 6},{bx + 6} {by + 6},"
                    f"{bx + 6} {by + 12},{bx} {by + 12},{bx} {by})))"
                )
            else:
                g = f"MULTIPOLYGON(({ring(bx, by, 12, 9)}))"
            values.append({"floors": 1 + (i + j) % 4, "height_m": None if j % 2 else 3.5 * (1 + i % 3), "g": g})
    buildings = [
        int(r)
        for r in conn.execute(
            sa.text(
                "INSERT INTO planning.buildings (floors, height_m, geom, parcel_id) "
                "SELECT (v->>'floors')::int, (v->>'height_m')::numeric, ST_GeomFromText(v->>'g', 9214), :parcel "
                "FROM jsonb_array_elements(CAST(:values AS jsonb)) v RETURNING id"
            ),
            {"values": json.dumps(values), "parcel": parcels[0]},
        ).scalars()
    ]
    # One building inside the courtyard zone's parcel, with its own land use.
    buildings.append(
        insert_feature(
            conn,
            "buildings",
            {
                "name": "Nhà rường",
                "floors": 2,
                "height_m": 7.2,
                "land_use_code": "ODT",
                "parcel_id": parcels[1],
                "geom": f"MULTIPOLYGON(({ring(x0 + 30, y0 + 5, 10, 8)}))",
            },
            **WHO,
        )["id"]
    )
    return Sample(
        plan_id=plan_id,
        courtyard_zone=int(courtyard),
        twin_zone=int(twin),
        plain_zone=int(plain),
        courtyard_corner=(x0, y0),
        buildings=buildings,
        parcels=[int(p) for p in parcels],
    )


# --- reading tiles back -----------------------------------------------------------------------------------------


@dataclass
class Glb:
    gltf: dict[str, Any]
    binary: bytes

    def view(self, index: int) -> bytes:
        """A buffer view's bytes, decoded with meshoptimizer's own decoder when compressed."""
        v = self.gltf["bufferViews"][index]
        meshopt = v.get("extensions", {}).get("EXT_meshopt_compression")
        if meshopt is None:
            assert v["buffer"] == 0
            return self.binary[v.get("byteOffset", 0) : v.get("byteOffset", 0) + v["byteLength"]]
        start = meshopt.get("byteOffset", 0)
        data = self.binary[start : start + meshopt["byteLength"]]
        count, stride = meshopt["count"], meshopt["byteStride"]
        if meshopt["mode"] == "TRIANGLES":
            # The binding always returns uint32 elements, but the decoder writes indices of ``stride`` bytes.
            decoded = meshoptimizer.decode_index_buffer(count, stride, data).view(np.uint8)[: count * stride]
        else:
            decoded = meshoptimizer.decode_vertex_buffer(count, stride, data, dtype=np.dtype((np.uint8, stride)))
        out = bytes(decoded.tobytes())
        assert len(out) == v["byteLength"] == count * stride
        return out

    def accessor(self, index: int) -> npt.NDArray[Any]:
        """An accessor's values as stored (quantized integers stay integers)."""
        a = self.gltf["accessors"][index]
        dtype = np.dtype(
            {5126: "<f4", 5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4"}[a["componentType"]]
        )
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[a["type"]]
        view = self.gltf["bufferViews"][a["bufferView"]]
        stride = view.get("byteStride", dtype.itemsize * width)
        rows = np.frombuffer(self.view(a["bufferView"]), dtype=np.uint8).reshape(-1, stride)[: a["count"]]
        arr = np.ascontiguousarray(rows[:, : dtype.itemsize * width]).view(dtype)
        return arr.reshape(a["count"], width) if width > 1 else arr.reshape(-1)

    @property
    def primitive(self) -> dict[str, Any]:
        prim: dict[str, Any] = self.gltf["meshes"][0]["primitives"][0]
        return prim

    def positions_enu(self) -> npt.NDArray[np.float64]:
        """Vertex positions in the tileset frame (z up): node translation added, y-up turned back."""
        index = self.primitive["attributes"]["POSITION"]
        p = self.accessor(index).astype(np.float64)
        if self.gltf["accessors"][index].get("normalized"):  # KHR_mesh_quantization: int16 in [-1, 1]
            p = np.maximum(p / 32767, -1.0)
        node = self.gltf["nodes"][0]
        t = np.array(node.get("translation", [0, 0, 0]), dtype=np.float64)
        g = p * np.array(node.get("scale", [1, 1, 1]), dtype=np.float64) + t
        return np.stack([g[:, 0], -g[:, 2], g[:, 1]], axis=1)

    def feature_ids(self) -> npt.NDArray[np.int64]:
        return self.accessor(self.primitive["attributes"]["_FEATURE_ID_0"]).astype(np.int64)

    def table(self) -> dict[str, Any]:
        table: dict[str, Any] = self.gltf["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        return table

    def column(self, name: str) -> list[Any]:
        meta = self.gltf["extensions"]["EXT_structural_metadata"]
        table = self.table()
        prop = meta["schema"]["classes"][table["class"]]["properties"][name]
        entry = table["properties"][name]
        values = self.view(entry["values"])
        if prop["type"] == "STRING":
            offsets = np.frombuffer(self.view(entry["stringOffsets"]), dtype="<u4")
            return [values[offsets[i] : offsets[i + 1]].decode() for i in range(table["count"])]
        dtype = {"INT32": "<i4", "UINT32": "<u4", "FLOAT32": "<f4", "FLOAT64": "<f8"}[prop["componentType"]]
        return np.frombuffer(values, dtype=dtype, count=table["count"]).tolist()


def decoded_glb(glb: Glb) -> bytes:
    """The same glb with every meshopt view decoded into the binary chunk and the extension dropped.

    The Khronos validator does not know EXT_meshopt_compression: this copy lets it check the decoded accessors
    (bounds, index ranges, normalized values) too.
    """
    gltf = json.loads(json.dumps(glb.gltf))
    parts: list[bytes] = []
    size = 0
    for i, view in enumerate(gltf["bufferViews"]):
        data = glb.view(i)
        pad = (-size) % 8
        parts.append(b"\0" * pad)
        size += pad
        view.pop("extensions", None)
        view.update(buffer=0, byteOffset=size, byteLength=len(data))
        parts.append(data)
        size += len(data)
    binary = b"".join(parts) + b"\0" * ((-size) % 4)
    gltf["buffers"] = [{"byteLength": len(binary)}]
    gltf["extensionsUsed"] = [e for e in gltf["extensionsUsed"] if e != "EXT_meshopt_compression"]
    required = [e for e in gltf.pop("extensionsRequired", []) if e != "EXT_meshopt_compression"]
    if required:
        gltf["extensionsRequired"] = required
    js = json.dumps(gltf, separators=(",", ":")).encode()
    js += b" " * ((-len(js)) % 4)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, 28 + len(js) + len(binary)),
            struct.pack("<I4s", len(js), b"JSON"),
            js,
            struct.pack("<I4s", len(binary), b"BIN\0"),
            binary,
        ]
    )


def read_glb(path: Path) -> Glb:
    data = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    assert jtype == b"JSON"
    gltf = json.loads(data[20 : 20 + jlen])
    blen, btype = struct.unpack_from("<I4s", data, 20 + jlen)
    assert btype == b"BIN\0"
    return Glb(gltf, data[28 + jlen : 28 + jlen + blen])


def content_path(tileset_path: Path, uri: str) -> Path:
    return tileset_path.parent / uri.split("?")[0]


def walk(tile: dict[str, Any], depth: int = 0) -> list[tuple[dict[str, Any], int]]:
    out = [(tile, depth)]
    for child in tile.get("children", []):
        out += walk(child, depth + 1)
    return out
