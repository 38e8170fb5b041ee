"""The certificate's figures as plain shapes (:mod:`gis_service.printing`): the map extract, its legend, the QR code.

The map is drawn at its stated scale: one millimetre on the page is ``scale_denominator`` millimetres on the ground
(page units are PDF points, 1/72 inch; the HTML page shows the SVG at the same size in millimetres).
"""

from __future__ import annotations

from gis_service.certificates.content import MapExtract, MapFeature, ParcelFacts
from gis_service.printing import Figure, Frame, Shape, geojson_parts, north_arrow, scale_bar

__all__ = ["MM", "legend_figure", "map_figure", "qr_figure"]

#: PDF points per millimetre.
MM = 72 / 25.4

PARCEL = "#000000"
NEIGHBOUR = "#5a5a5a"
RED_LINE = "#e00000"
BUILDING_LINE = "#0050c8"
ZONE_EDGE = "#4b2a73"
NO_COLOUR = "#dddddd"
#: The least area on the page (pt²) a zone or neighbouring parcel needs to be labelled.
ZONE_LABEL_PT2 = 1200.0
PARCEL_LABEL_PT2 = 260.0

_WORDS = {
    "scale": ("Tỷ lệ", "Scale"),
    "parcel": ("Thửa đất", "The parcel"),
    "neighbours": ("Ranh giới thửa đất lân cận", "Neighbouring parcels"),
    "zone_edge": ("Ranh giới ô quy hoạch", "Zone boundary"),
    "red_line": ("Chỉ giới đường đỏ", "Red line"),
    "building_line": ("Chỉ giới xây dựng", "Building line"),
}


def _w(key: str, lang: str) -> str:
    return _WORDS[key][0 if lang == "vi" else 1]


def _grouped(n: float) -> str:
    """A whole number with thin groups of three digits (as map coordinates are written).

    >>> _grouped(1821650.26)
    '1 821 650'
    """
    return f"{round(n):,}".replace(",", " ")


def map_figure(m: MapExtract, parcel: ParcelFacts, lang: str) -> Figure:
    """The map extract at its scale: zones in their colours, parcels, red and building lines, the parcel on top."""
    width, height = m.width_mm * MM, m.height_mm * MM
    x0, y0, x1, y1 = m.bbox
    fr = Frame(x0, y0, x1, y1, scale=1000 / m.scale_denominator * MM, ox=0.0, oy=0.0)
    shapes = [Shape("polygon", [[(0, 0), (width, 0), (width, height), (0, height), (0, 0)]], fill="#ffffff")]
    thin = 1.0 if m.scale_denominator <= 2000 else 0.5  # lines of a small-scale map would cover the plan
    shapes += _zones(m.zones, fr, thin)
    shapes += _neighbours(m.parcels, fr)
    for line in m.red_lines:
        shapes += [
            Shape("line", [[fr.tr(p) for p in part[0]]], stroke=RED_LINE, width=1.4 * thin) for part in _lines(line)
        ]
    for line in m.building_lines:
        shapes += [
            Shape("line", [[fr.tr(p) for p in part[0]]], stroke=BUILDING_LINE, width=thin, dash=(4, 2))
            for part in _lines(line)
        ]
    parcel_shapes = _parcel(parcel, fr)
    shapes += parcel_shapes
    taken = [s.points[0][0] for s in parcel_shapes if s.kind == "text"]
    shapes += _zone_labels(m.zones, fr, width, height, taken)
    shapes += _furniture(m, fr, width, height, lang)
    return Figure(width, height, shapes)


def _lines(f: MapFeature) -> list[list[list[tuple[float, float]]]]:
    return geojson_parts(f.geometry)


def _zones(zones: list[MapFeature], fr: Frame, thin: float) -> list[Shape]:
    """Each zone filled in its land use's colour; the zones' edges drawn over all fills (dash-dot, as on plans)."""
    polys = [(z, fr.poly(poly)) for z in zones for poly in geojson_parts(z.geometry)]
    fills = [Shape("polygon", rings, fill=z.color or NO_COLOUR, opacity=0.8) for z, rings in polys]
    edges = [Shape("polygon", rings, stroke=ZONE_EDGE, width=0.8 * thin, dash=(7, 2)) for _z, rings in polys]
    return fills + edges


def _neighbours(parcels: list[MapFeature], fr: Frame) -> list[Shape]:
    shapes = [
        Shape("polygon", fr.poly(poly), stroke=NEIGHBOUR, width=0.35)
        for p in parcels
        for poly in geojson_parts(p.geometry)
    ]
    for p in parcels:
        if p.label_at and p.label and (p.area_m2 or 0) * fr.scale**2 >= PARCEL_LABEL_PT2:
            x, y = fr.tr(p.label_at)
            shapes.append(Shape("text", [[(x, y + 2)]], fill=NEIGHBOUR, text=p.label, size=5.5, anchor="middle"))
    return shapes


def _parcel(parcel: ParcelFacts, fr: Frame) -> list[Shape]:
    """The parcel's outline, thick over a white halo, and its number in a white box where the parcel is."""
    shapes = []
    for poly in geojson_parts(parcel.geometry):
        rings = fr.poly(poly)
        shapes.append(Shape("polygon", rings, stroke="#ffffff", width=3.6))
        shapes.append(Shape("polygon", rings, stroke=PARCEL, width=2.0))
    if parcel.parcel_no is not None:
        import shapely

        at = shapely.point_on_surface(shapely.geometry.shape(parcel.geometry))
        x, y = fr.tr((at.x, at.y))
        text = str(parcel.parcel_no)
        half = 3.2 * len(text) + 3
        shapes.append(_box(x - half, y - 7, x + half, y + 5))
        shapes.append(Shape("text", [[(x, y + 2.5)]], fill=PARCEL, text=text, size=8.5, anchor="middle", bold=True))
    return shapes


def _zone_labels(
    zones: list[MapFeature], fr: Frame, width: float, height: float, taken: list[tuple[float, float]]
) -> list[Shape]:
    """Zone code and land use of each zone big enough on the page, inside the frame, off the parcel's number."""
    shapes = []
    for z in zones:
        if not z.label_at or (z.area_m2 or 0) * fr.scale**2 < ZONE_LABEL_PT2:
            continue
        x, y = fr.tr(z.label_at)
        text = " · ".join(t for t in (z.label, z.land_use_code) if t)
        half = 0.33 * 7 * len(text) + 3  # about half the text's width at 7 pt, bold
        x = min(max(x, half), width - half)
        y = min(max(y, 12.0), height - 6.0)
        if any(abs(y - ty) < 13 and abs(x - tx) < half + 12 for tx, ty in taken):
            y -= 14  # above the parcel's number
        shapes.append(Shape("text", [[(x, y + 2.5)]], fill="#202020", text=text, size=7, anchor="middle", bold=True))
    return shapes


def _box(x0: float, y0: float, x1: float, y1: float) -> Shape:
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return Shape("polygon", [ring], fill="#ffffff", stroke="#808080", width=0.4, opacity=0.9)


def _furniture(m: MapExtract, fr: Frame, width: float, height: float, lang: str) -> list[Shape]:
    """North arrow, scale bar with the stated scale, and the corner coordinates (VN-2000)."""
    caption = f"{_w('scale', lang)} 1:{m.scale_denominator:,}".replace(",", "." if lang == "vi" else ",")
    bar_w = min(width * 0.3, 150.0)
    bar = scale_bar(12, height - 22, fr.scale, bar_w, caption=caption)
    right = max(p.points[0][-1][0] if p.kind != "text" else p.points[0][0][0] for p in bar) + 10
    shapes = [_box(4, height - 36, right, height - 4), *bar]
    shapes += [_box(width - 32, 4, width - 4, 40), *north_arrow(width - 18, 8, 22)]
    x0, y0, x1, y1 = m.bbox
    corner = f"E {_grouped(x0)}  N {_grouped(y1)}"
    shapes.append(Shape("text", [[(4, 8)]], fill="#404040", text=corner, size=5.5))
    corner = f"E {_grouped(x1)}  N {_grouped(y0)}"
    shapes.append(Shape("text", [[(width - 4, height - 4)]], fill="#404040", text=corner, size=5.5, anchor="end"))
    return shapes


def legend_figure(m: MapExtract, lang: str, width: float) -> Figure:
    """The legend below the map: each land use on the map in its official colour, then the lines, in columns."""
    entries: list[tuple[str, Shape]] = []
    for lu in m.legend:
        name = (lu.name_vi if lang == "vi" else lu.name_en) or ""
        swatch = [(0.0, -6.0), (14.0, -6.0), (14.0, 2.0), (0.0, 2.0), (0.0, -6.0)]
        shape = Shape("polygon", [swatch], fill=lu.color or NO_COLOUR, stroke="#7a7a7a", width=0.4, opacity=0.8)
        entries.append((f"{lu.code} – {name}" if name else str(lu.code), shape))
    for key, stroke, w, dash in (
        ("parcel", PARCEL, 2.0, None),
        ("zone_edge", ZONE_EDGE, 0.8, (7.0, 2.0)),
        ("neighbours", NEIGHBOUR, 0.5, None),
        ("red_line", RED_LINE, 1.4, None),
        ("building_line", BUILDING_LINE, 1.0, (4.0, 2.0)),
    ):
        entries.append((_w(key, lang), Shape("line", [[(0.0, -2.0), (14.0, -2.0)]], stroke=stroke, width=w, dash=dash)))
    # three columns, or two when a name would run into the next column (DejaVu Sans is about 0.55 em a letter)
    longest = max(len(label) for label, _symbol in entries) * 0.55 * 6.8 + 22
    columns = 3 if longest <= width / 3 else 2
    col_w, row_h = width / columns, 11.0
    rows = -(-len(entries) // columns)
    shapes: list[Shape] = []
    for i, (label, symbol) in enumerate(entries):
        x, y = 2 + (i % columns) * col_w, 10 + (i // columns) * row_h
        symbol.points = [[(x + px, y + py) for px, py in ring] for ring in symbol.points]
        shapes.append(symbol)
        shapes.append(Shape("text", [[(x + 18, y + 1)]], fill="#000000", text=label, size=6.8))
    return Figure(width, 6 + rows * row_h, shapes)


def qr_figure(text: str, size: float) -> Figure:
    """A QR code of ``text`` (error correction M, a quiet zone of two modules), ``size`` page units wide."""
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    count = qr.getModuleCount()
    cell = size / (count + 4)
    shapes = [Shape("polygon", [[(0, 0), (size, 0), (size, size), (0, size), (0, 0)]], fill="#ffffff")]
    for r in range(count):
        c = 0
        while c < count:
            if not qr.isDark(r, c):
                c += 1
                continue
            start = c
            while c < count and qr.isDark(r, c):
                c += 1
            x0, x1 = (start + 2) * cell, (c + 2) * cell
            y0, y1 = (r + 2) * cell, (r + 3) * cell
            shapes.append(Shape("polygon", [[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]], fill="#000000"))
    return Figure(size, size, shapes)
