"""The detailed plan 1/500 of a Kim Long block (``46QCT0000001``), drawn in AutoCAD style and saved as DXF: CAD
layers with colour numbers, closed polylines with arcs (bulges), a hatch, TEXT and MTEXT labels (some in TCVN3, as a
.VnTime font stores them), one lot without labels and one label outside every lot. It lies over part of the zoning
plan's Kim Long zones and parcels (north of Kim Long street, between Phú Mộng and Vạn Xuân) with somewhat
different rules: the detailed plan governs where it exists. No CRS, as every DXF (import it with EPSG:9214)."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import ezdxf
from ezdxf.enums import TextEntityAlignment

from sample.blocks import Block, block_at
from sample.frame import ANGLE, world_xy
from sample.network import kl_north

# TCVN3 (ABC) bytes of the Vietnamese letters used in the CAD labels, as a drafter's .VnTime font would store them.
TCVN3 = str.maketrans(
    {
        "Đ": "§",
        "đ": "®",
        "ấ": "Ê",
        "ở": "ë",
        "ạ": "¹",
        "ô": "«",
        "ị": "Þ",
        "ử": "ö",
        "Ô": "¤",
        "ư": "­",
        "ơ": "¬",
        "ì": "×",
        "à": "µ",
        "á": "¸",
        "ả": "¶",
        "ồ": "å",
        "ê": "ª",
        "ế": "Õ",
        "ỳ": "ú",
        "ậ": "Ë",
        "â": "©",
        "ă": "¨",
        "ặ": "Æ",
        "ố": "è",
        "ờ": "ê",
        "ớ": "í",
        "ợ": "î",
        "ụ": "ô",
        "ứ": "ø",
        "ừ": "õ",
        "ự": "ù",
        "ú": "ó",
        "ù": "ï",
        "ó": "ã",
        "ò": "ß",
        "é": "Ð",
        "è": "Ì",
        "í": "Ý",
        "ỏ": "á",
        "ọ": "ä",
        "ộ": "é",
        "ủ": "ñ",
        "ũ": "ò",
        "ỉ": "Ø",
        "ĩ": "Ü",
        "ẹ": "Ñ",
        "ẻ": "Î",
        "ệ": "Ö",
        "ể": "Ó",
        "ễ": "Ô",
        "ề": "Ò",
        "ầ": "Ç",
        "ẩ": "È",
        "ẫ": "É",
    }
)


def tcvn3(text: str) -> str:
    """Unicode → TCVN3 as stored by a .VnTime font (each byte read as Latin-1)."""
    return text.translate(TCVN3)


@dataclass
class Grid:
    """The drawing's own frame: (u, v) metres from ``origin`` (EPSG:9214), u along ``angle`` (degrees from east)."""

    origin: tuple[float, float]
    angle: float

    def xy(self, u: float, v: float) -> tuple[float, float]:
        """The EPSG:9214 position of the drawing's point (u, v), to the millimetre."""
        a = math.radians(self.angle)
        return (
            round(self.origin[0] + u * math.cos(a) - v * math.sin(a), 3),
            round(self.origin[1] + u * math.sin(a) + v * math.cos(a), 3),
        )


def grid(blocks: list[Block]) -> Grid:
    """The drawing's frame: along the block's red line on Kim Long street, 4 m in front of its first lots (v = -4 is
    the red line), starting 45 m from the corner."""
    block = block_at(blocks, *kl_north(2))
    side = block.sides[block.sides_on("Kim Long")[0]]
    start = side.pt(45.0, 4.0)
    e = side.e
    return Grid(world_xy(float(start[0]), float(start[1])), math.degrees(math.atan2(e[1], e[0])) + ANGLE)


def bulge(p0: tuple[float, float], p1: tuple[float, float], sagitta: float) -> float:
    """DXF bulge of an arc from p0 to p1 with the given sagitta (positive: arc to the left)."""
    chord = math.dist(p0, p1)
    return 2 * sagitta / chord


def detailed_plan_dxf(path: Path, g: Grid) -> None:
    """The Kim Long detailed plan 1:500 drawn in AutoCAD style: layers, arcs, a hatch, labels (some TCVN3)."""
    ezdxf.options.write_fixed_meta_data_for_testing = True  # fixed dates and GUIDs: the same bytes on every run
    doc = ezdxf.new("R2010", setup=True)
    for name, color in (
        ("QH_DAT_O", 6),
        ("QH_THUONG_MAI", 1),
        ("QH_CAY_XANH", 3),
        ("QH_GIAO_DUC", 30),
        ("QH_TON_GIAO", 40),
        ("KY_HIEU_O", 7),
        ("CHI_GIOI_DUONG_DO", 1),
        ("CHI_GIOI_XAY_DUNG", 5),
        ("TIM_DUONG", 8),
    ):
        doc.layers.add(name, color=color)
    msp = doc.modelspace()
    lots = [  # (u0, v0, u1, v1, layer, labels, label style)
        (0, 0, 48, 40, "QH_DAT_O", ["ODT", "ÔQH-01", "MĐXD 60%", "TC 3", "HSSDĐ 1.8"], "mtext"),
        (52, 0, 100, 40, "QH_DAT_O", ["ODT", "ÔQH-02", "MĐXD 70%", "4T", "HSSDĐ 2.8"], "text"),
        (104, 0, 160, 40, "QH_THUONG_MAI", ["TMD", "ÔQH-03", "MĐXD 60%", "TC 5", "HSSDĐ 3.0"], "mtext"),
        (0, 48, 48, 96, "QH_DAT_O", ["ODT", "ÔQH-04", "MĐXD 60%", "TC 3", "Đất ở tại đô thị"], "tcvn3"),
        (52, 48, 100, 96, "QH_GIAO_DUC", ["DGD", "ÔQH-05", "MĐXD 40%", "TC 4", "HSSDĐ 1.6"], "text"),
        (104, 48, 160, 96, "QH_TON_GIAO", ["TON", "ÔQH-06", "MĐXD 30%", "2T", "HSSDĐ 0.6"], "mtext"),
        (0, 104, 48, 150, "QH_DAT_O", ["ODT", "ÔQH-07", "MĐXD 65%", "TC 3", "Thửa đất"], "tcvn3"),
        (52, 104, 100, 150, "QH_CAY_XANH", [], "none"),  # a park drawn without labels: its code comes from the layer
    ]
    for k, (u0, v0, u1, v1, layer, labels, style) in enumerate(lots):
        pts = [g.xy(u0, v0), g.xy(u1, v0), g.xy(u1, v1), g.xy(u0, v1)]
        # Rounded street corners (radius ~4 m) on the first lot of each row: a bulge on the corner chord.
        if k in (0, 3):
            c0, c1 = g.xy(u0, v0 + 4), g.xy(u0 + 4, v0)
            ring = [(*c1, 0.0), (*pts[1], 0.0), (*pts[2], 0.0), (*pts[3], 0.0), (*c0, math.tan(math.pi / 8))]
            msp.add_lwpolyline(
                [(x, y, 0, 0, b) for x, y, b in ring], format="xyseb", close=True, dxfattribs={"layer": layer}
            )
        else:
            msp.add_lwpolyline(pts, close=True, dxfattribs={"layer": layer})
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        if style == "mtext":
            m = msp.add_mtext("\\P".join(labels), dxfattribs={"layer": "KY_HIEU_O", "char_height": 1.6})
            m.set_location(g.xy(cu, cv), attachment_point=5)
        elif style in ("text", "tcvn3"):
            for r, label in enumerate(labels):
                text = tcvn3(label) if style == "tcvn3" else label
                t = msp.add_text(text, height=1.4, dxfattribs={"layer": "KY_HIEU_O", "style": "Standard"})
                t.set_placement(g.xy(cu, cv + 6 - r * 2.6), align=TextEntityAlignment.MIDDLE_CENTER)
    # A school yard bounded by a curved street (a 70 m radius arc: bulges must be followed within 5 cm).
    a, b = g.xy(164, 0), g.xy(164, 96)
    ring = [(*a, 0.0), (*g.xy(230, 0), 0.0), (*g.xy(230, 96), bulge(g.xy(230, 96), b, -16.0)), (*b, 0.0)]
    msp.add_lwpolyline(
        [(x, y, 0, 0, bb) for x, y, bb in ring], format="xyseb", close=True, dxfattribs={"layer": "QH_GIAO_DUC"}
    )
    m = msp.add_mtext(
        "DGD\\PÔQH-08\\PMĐXD 40%\\PTC 4\\PHSSDĐ 1.6", dxfattribs={"layer": "KY_HIEU_O", "char_height": 1.6}
    )
    m.set_location(g.xy(190, 48), attachment_point=5)
    # A green strip as a HATCH (no polyline), with an arc edge, labelled in TCVN3 with a zone name.
    hatch = msp.add_hatch(color=3, dxfattribs={"layer": "QH_CAY_XANH"})
    edges = hatch.paths.add_edge_path()
    h0, h1, h2 = g.xy(104, 104), g.xy(160, 104), g.xy(160, 150)
    edges.add_line(h0, h1)
    edges.add_line(h1, h2)
    h3 = g.xy(104, 150)
    edges.add_line(h2, h3)
    edges.add_line(h3, h0)
    hatch.set_pattern_fill("ANSI31", scale=0.5)
    for r, label in enumerate(["DKV", tcvn3("ÔQH-09"), tcvn3("MĐXD 5%"), "1T"]):
        t = msp.add_text(label, height=1.4, dxfattribs={"layer": "KY_HIEU_O"})
        t.set_placement(g.xy(132, 131 - r * 2.6), align=TextEntityAlignment.MIDDLE_CENTER)
    # A label that fell outside every lot, in the street (the importer reports it).
    t = msp.add_text("ODT", height=1.4, dxfattribs={"layer": "KY_HIEU_O"})
    t.set_placement(g.xy(130, -12), align=TextEntityAlignment.MIDDLE_CENTER)
    # Red lines and building lines along the streets; the centre line of Kim Long street (13 m).
    for layer, off in (("CHI_GIOI_DUONG_DO", -4.0), ("CHI_GIOI_XAY_DUNG", 3.0)):
        msp.add_lwpolyline([g.xy(-10, off), g.xy(240, off)], dxfattribs={"layer": layer})
        msp.add_lwpolyline(
            [g.xy(-10, 100 + (off if off > 0 else 0)), g.xy(170, 100 + (off if off > 0 else 0))],
            dxfattribs={"layer": layer},
        )
    msp.add_lwpolyline([g.xy(-10, -10.5), g.xy(240, -10.5)], dxfattribs={"layer": "TIM_DUONG"})
    doc.header["$INSUNITS"] = 6  # metres
    # ezdxf registers some CLASS entries in the order of a set (it changes with Python's string hashing): sorted
    # here, so that the file is the same on every run
    doc.classes.add_required_classes(doc.dxfversion)
    doc.classes.classes = OrderedDict(sorted(doc.classes.classes.items()))
    doc.saveas(path)


def lot_outlines(g: Grid) -> list[list[tuple[float, float]]]:
    """The drawing's lots as EPSG:9214 rings (for renders and checks)."""
    boxes = [
        (0, 0, 48, 40),
        (52, 0, 100, 40),
        (104, 0, 160, 40),
        (0, 48, 48, 96),
        (52, 48, 100, 96),
        (104, 48, 160, 96),
        (0, 104, 48, 150),
        (52, 104, 100, 150),
        (164, 0, 230, 96),
        (104, 104, 160, 150),
    ]
    return [[g.xy(u0, v0), g.xy(u1, v0), g.xy(u1, v1), g.xy(u0, v1)] for u0, v0, u1, v1 in boxes]
