"""What the printed documents share: fonts, drawings as plain shapes, and their SVG and reportlab writers.

The permit report (:mod:`gis_service.permits.report`) and the planning-information certificate
(:mod:`gis_service.certificates.document`) draw maps of a lot in EPSG:9214 metres. A drawing is built once as plain
shapes in page units (y down, as in SVG) and written by either backend: :func:`svg` for HTML pages, :func:`drawing`
for PDFs made with reportlab. The furniture of a map (:func:`north_arrow`, :func:`scale_bar`) is drawn the same way.

The PDFs need TrueType fonts with Vietnamese letters: DejaVu Sans and DejaVu Serif (Debian ``fonts-dejavu-core``,
which the set-up installs), looked for in the usual font folders.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis_service.errors import ConfigError, ValidationError

__all__ = [
    "FONT_DIRS",
    "LANGS",
    "Figure",
    "Frame",
    "Shape",
    "check_lang",
    "clipped",
    "drawing",
    "fonts",
    "geojson_parts",
    "north_arrow",
    "scale_bar",
    "svg",
]

LANGS = ("vi", "en")
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
    Path("/Library/Fonts"),
)

Ring = list[tuple[float, float]]


def check_lang(lang: str) -> str:
    """The language of a document, ``vi`` or ``en`` (raises ValidationError for any other).

    >>> check_lang("EN")
    'en'
    """
    lang = (lang or "vi").lower()[:2]
    if lang not in LANGS:
        raise ValidationError(f"lang must be vi or en, not {lang!r}")
    return lang


@dataclass
class Shape:
    """One shape of a figure, in page units: a polygon (rings), a line (one polyline) or a text (at a point)."""

    kind: str  # polygon | line | text
    points: list[Ring] = field(default_factory=list)  # rings or one polyline, page units
    fill: str | None = None
    stroke: str | None = None
    width: float = 1.0
    dash: tuple[float, float] | None = None
    opacity: float = 1.0
    text: str = ""
    size: float = 9.0
    anchor: str = "start"  # start | middle | end (texts)
    bold: bool = False


@dataclass
class Figure:
    """A drawing as plain shapes on a page of ``width`` × ``height`` units, for SVG and PDF alike."""

    width: float
    height: float
    shapes: list[Shape]


def geojson_parts(geojson: dict[str, Any] | None) -> list[list[Ring]]:
    """Polygons (list of rings) or lines (list with one polyline) of a GeoJSON geometry.

    >>> geojson_parts({"type": "LineString", "coordinates": [[0, 0], [1, 2]]})
    [[[(0, 0), (1, 2)]]]
    """
    if not geojson:
        return []
    t, c = geojson["type"], geojson.get("coordinates") or []
    if t == "Polygon":
        return [[[(p[0], p[1]) for p in ring] for ring in c]]
    if t == "MultiPolygon":
        return [[[(p[0], p[1]) for p in ring] for ring in poly] for poly in c]
    if t == "LineString":
        return [[[(p[0], p[1]) for p in c]]]
    if t == "MultiLineString":
        return [[[(p[0], p[1]) for p in line]] for line in c]
    if t == "GeometryCollection":
        return [part for g in geojson["geometries"] for part in geojson_parts(g)]
    return []


def clipped(geojson: dict[str, Any] | None, view: tuple[float, float, float, float]) -> dict[str, Any] | None:
    """A GeoJSON geometry cut to the drawn area (zones and lines reach far beyond the lot)."""
    if not geojson:
        return None
    import shapely

    geom = shapely.clip_by_rect(shapely.from_geojson(json.dumps(geojson)), *view)
    return None if geom.is_empty else json.loads(shapely.to_geojson(geom))


@dataclass(frozen=True)
class Frame:
    """The drawn area on the ground (``x0``..``x1``, ``y0``..``y1``) and how it maps onto the page.

    ``scale`` is page units per metre; ``ox``, ``oy`` the page position of the area's top left corner (y down).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    scale: float
    ox: float
    oy: float

    @property
    def view(self) -> tuple[float, float, float, float]:
        """The drawn area as ``(xmin, ymin, xmax, ymax)`` on the ground."""
        return (self.x0, self.y0, self.x1, self.y1)

    def tr(self, p: tuple[float, float]) -> tuple[float, float]:
        """A ground point on the page."""
        return self.ox + (p[0] - self.x0) * self.scale, self.oy + (self.y1 - p[1]) * self.scale

    def poly(self, poly: list[Ring]) -> list[Ring]:
        """A polygon's rings (or a line) on the page."""
        return [[self.tr(p) for p in ring] for ring in poly]


def north_arrow(x: float, y: float, size: float = 24.0) -> list[Shape]:
    """A north arrow whose tip is at ``(x, y)`` (page units, y down): a split arrowhead over the letter N."""
    half, body = size * 0.32, size * 0.78
    left = [(x, y), (x - half, y + body), (x, y + body * 0.72), (x, y)]
    right = [(x, y), (x + half, y + body), (x, y + body * 0.72), (x, y)]
    return [
        Shape("polygon", [left], fill="#000000", stroke="#000000", width=0.6),
        Shape("polygon", [right], fill="#ffffff", stroke="#000000", width=0.6),
        Shape("text", [[(x, y + size + 2)]], fill="#000000", text="N", size=size * 0.42, anchor="middle", bold=True),
    ]


def _bar_length(ground_m: float) -> float:
    """A round length (1, 2 or 5 × 10ⁿ m) not longer than ``ground_m``.

    >>> _bar_length(37.0)
    20.0
    """
    step = 10 ** math.floor(math.log10(ground_m))
    return float(max(s * step for s in (1, 2, 5) if s * step <= ground_m))


def scale_bar(x: float, y: float, scale: float, max_width: float, *, caption: str = "") -> list[Shape]:
    """A scale bar in four black and white parts, its left end at ``(x, y)``, labelled in metres.

    ``scale`` is page units per metre; the bar is a round length not wider than ``max_width``. ``caption`` (e.g.
    "Tỷ lệ 1:1000") is written above it.
    """
    length = _bar_length(max_width / scale)
    part = length * scale / 4
    shapes = []
    for i in range(4):
        x0 = x + i * part
        box = [(x0, y), (x0 + part, y), (x0 + part, y + 4), (x0, y + 4), (x0, y)]
        shapes.append(Shape("polygon", [box], fill="#000000" if i % 2 == 0 else "#ffffff", stroke="#000000", width=0.5))
    for i in (0, 2, 4):
        label = f"{length * i / 4:g}" + (" m" if i == 4 else "")
        shapes.append(Shape("text", [[(x + i * part, y + 12)]], fill="#000000", text=label, size=6.5, anchor="middle"))
    if caption:
        shapes.append(Shape("text", [[(x, y - 3)]], fill="#000000", text=caption, size=7, bold=True))
    return shapes


def _svg_shape(s: Shape) -> str:
    dash = f' stroke-dasharray="{s.dash[0]:g},{s.dash[1]:g}"' if s.dash else ""
    if s.kind == "polygon":
        d = " ".join("M " + " L ".join(f"{x:.2f},{y:.2f}" for x, y in ring) + " Z" for ring in s.points)
        return (
            f'<path d="{d}" fill="{s.fill or "none"}" fill-opacity="{s.opacity:g}" fill-rule="evenodd" '
            f'stroke="{s.stroke or "none"}" stroke-width="{s.width:g}"{dash}/>'
        )
    if s.kind == "line":
        pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in s.points[0])
        return f'<polyline points="{pts}" fill="none" stroke="{s.stroke}" stroke-width="{s.width:g}"{dash}/>'
    x, y = s.points[0][0]
    weight = ' font-weight="bold"' if s.bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{s.size:g}" fill="{s.fill}" text-anchor="{s.anchor}"{weight} '
        f'font-family="DejaVu Sans, Arial, sans-serif">{html.escape(s.text)}</text>'
    )


def svg(fig: Figure, *, css_width: str | None = None) -> str:
    """The figure as an inline SVG element (every text escaped); ``css_width`` sets its printed width (e.g. 180mm)."""
    size = (
        f'width="{fig.width:.0f}" height="{fig.height:.0f}"'
        if css_width is None
        else f'width="{css_width}" style="max-width:100%;height:auto"'
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} viewBox="0 0 {fig.width:.0f} {fig.height:.0f}" role="img" '
        'class="figure">'
    ]
    out += [_svg_shape(s) for s in fig.shapes]
    out.append("</svg>")
    return "".join(out)


def fonts(font_dirs: tuple[Path, ...] = FONT_DIRS, family: str = "DejaVuSans") -> tuple[str, str]:
    """Register a DejaVu family (``DejaVuSans`` or ``DejaVuSerif``) with reportlab: ``(regular, bold)`` names.

    Raises
    ------
    ConfigError
        The font is not installed.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in font_dirs:
        regular, bold = folder / f"{family}.ttf", folder / f"{family}-Bold.ttf"
        if regular.is_file():
            if family not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(family, str(regular)))
                pdfmetrics.registerFont(TTFont(f"{family}-Bold", str(bold if bold.is_file() else regular)))
            return family, f"{family}-Bold"
    raise ConfigError(
        f"the PDF needs the {family} font (Vietnamese letters): install it with 'apt-get install fonts-dejavu-core'"
    )


def _pdf_shape(s: Shape, height: float, font: str, bold: str) -> Any:
    from reportlab.graphics.shapes import Path as RPath
    from reportlab.graphics.shapes import PolyLine, String
    from reportlab.lib import colors

    stroke = colors.HexColor(s.stroke) if s.stroke else None
    dash = list(s.dash) if s.dash else None
    if s.kind == "polygon":
        p = RPath(
            fillColor=colors.HexColor(s.fill) if s.fill else None,
            strokeColor=stroke,
            strokeWidth=s.width,
            fillOpacity=s.opacity,
            strokeDashArray=dash,
            fillMode=0,
        )
        for ring in s.points:
            p.moveTo(ring[0][0], height - ring[0][1])
            for x, y in ring[1:]:
                p.lineTo(x, height - y)
            p.closePath()
        return p
    if s.kind == "line":
        pts = [c for x, y in s.points[0] for c in (x, height - y)]
        return PolyLine(pts, strokeColor=stroke, strokeWidth=s.width, strokeDashArray=dash)
    x, y = s.points[0][0]
    return String(
        x,
        height - y,
        s.text,
        fontName=bold if s.bold else font,
        fontSize=s.size,
        fillColor=colors.HexColor(s.fill or "#000000"),
        textAnchor=s.anchor,
    )


def drawing(fig: Figure, font: str, *, bold: str | None = None, border: str | None = "#808080") -> Any:
    """The figure as a reportlab ``Drawing`` (page y runs down in the figure, up in reportlab), framed."""
    from reportlab.graphics.shapes import Drawing, Group, PolyLine
    from reportlab.lib import colors

    d = Drawing(fig.width, fig.height)
    g = Group()
    for s in fig.shapes:
        g.add(_pdf_shape(s, fig.height, font, bold or font))
    d.add(g)
    if border:
        w, h = fig.width, fig.height
        d.add(PolyLine([0, 0, w, 0, w, h, 0, h, 0, 0], strokeColor=colors.HexColor(border), strokeWidth=0.8))
    return d
