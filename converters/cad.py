"""CAD drawings (DXF, DGN v7): closed shapes become zones, their labels become attributes.

DXF is read with ezdxf rather than GDAL: GDAL's DXF driver approximates arcs (polyline bulges, hatch edges) with a
fixed 4° step, which strays more than 5 cm from a large-radius street curve (sagitta R·(1 − cos 2°) ≈ 6 cm at
R = 100 m), and passes MTEXT formatting codes through in places. ezdxf flattens every curve to a distance we
choose (1 cm here) and gives MTEXT as plain text. DGN v7 is read with GDAL (ezdxf does not read DGN); its text
elements come as points with a ``Text`` field.

Labels inside a polygon give its attributes, by the usual conventions: a land-use code ``ODT``, density
``MĐXD 60%``, floors ``TC 5``, ``TC 3-5`` or ``5T``, FAR ``HSSDĐ 3.0``, height ``H 18m``, setback ``KL 3m``, zone code
``ÔQH-12``; any other text is the zone's name. TCVN3 and VNI labels are converted to Unicode first.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ezdxf
import ezdxf.path
import numpy as np
import pyogrio.errors
import shapely
from ezdxf import recover
from pyogrio import raw
from shapely.geometry import LineString, Point, Polygon

from converters.encoding import to_unicode
from converters.errors import CorruptFile, EmptyLayer
from converters.mapping import CodeBook, Profile, _norm
from converters.report import ImportReport
from converters.sources import Batch, SourceLayer

__all__ = ["FLATTEN_TOLERANCE_M", "CadNotes", "parse_labels", "read_cad"]

FLATTEN_TOLERANCE_M = 0.01  # arcs become chords that stray at most 1 cm from the curve

_NUM = r"(\d+(?:[.,]\d+)?)"
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("max_density_pct", re.compile(r"(?i)\bM[ĐD]XD\s*[:=]?\s*" + _NUM + r"\s*%?")),
    ("max_far", re.compile(r"(?i)\bHSSD[ĐD]\s*[:=]?\s*" + _NUM)),
    ("max_height_m", re.compile(r"(?i)\bH(?:max)?\s*[:=]?\s*" + _NUM + r"\s*m\b")),
    ("min_setback_m", re.compile(r"(?i)\bKL\s*[:=]?\s*" + _NUM + r"\s*m?\b")),
    ("min_ground_elev_m", re.compile(r"(?i)\bC[ĐD]N\s*[:=]?\s*[+]?" + _NUM + r"\s*m?\b")),
]
_FLOORS_TC = re.compile(r"(?i)\b(?:TC|T[ầa]ng\s*cao)\s*[:=]?\s*(\d+)(?:\s*[-–÷]\s*(\d+))?\b")
_FLOORS_T = re.compile(r"(?i)^(\d+)\s*T$")
_ZONE_CODE = re.compile(r"^[A-ZĐÔƠƯ]{1,5}\d*\s*[-.]\s*\d+[A-Z]?$")
_LAND_USE = re.compile(r"^[A-Z]{3}$")


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def _match_measures(t: str, out: dict[str, Any]) -> bool:
    """Set the numeric attributes ``t`` states that ``out`` lacks yet; whether any rule matched."""
    matched = False
    for col, rx in _RULES:
        m = rx.search(t)
        if m and col not in out:
            out[col] = _num(m.group(1))
            matched = True
    return matched


def _match_floors(t: str, out: dict[str, Any]) -> bool:
    """Set the floors ``t`` states (``TC 5``, ``TC 3-5``, ``5T``) unless ``out`` has them; whether it did."""
    m = _FLOORS_TC.search(t) or _FLOORS_T.match(t)
    if not m or "max_floors" in out:
        return False
    lo, hi = m.group(1), (m.group(2) if m.lastindex and m.lastindex >= 2 else None)
    if hi:
        out["min_floors"], out["max_floors"] = int(lo), int(hi)
    else:
        out["max_floors"] = int(lo)
    return True


def _parse_line(t: str, out: dict[str, Any], names: list[str]) -> None:
    """One non-empty label line into ``out``; a line that is no attribute goes to ``names``."""
    measured = _match_measures(t, out)  # both looked at: a line may give a measure and the floors
    if _match_floors(t, out) or measured:
        return
    if _LAND_USE.match(t) and "land_use_code" not in out:
        out["land_use_code"] = t
    elif _ZONE_CODE.match(t) and "zone_code" not in out:
        out["zone_code"] = re.sub(r"\s+", "", t)
    else:
        names.append(t)


def parse_labels(texts: list[str], codes: CodeBook | None = None) -> dict[str, Any]:
    """Attributes from the label lines of one polygon (already in Unicode).

    >>> parse_labels(["ODT", "ÔQH-12", "MĐXD 60%", "TC 3-5", "HSSDĐ 3,0"])["max_floors"]
    5
    >>> parse_labels(["5T", "TMD"])["max_floors"], parse_labels(["5T", "TMD"])["land_use_code"]
    (5, 'TMD')
    """
    out: dict[str, Any] = {}
    names: list[str] = []
    for raw_text in texts:
        for line in re.split(r"[\n;]+", raw_text):
            t = line.strip()
            if t:
                _parse_line(t, out, names)
    if names:
        out["name"] = " ".join(names)
        if "land_use_code" not in out and codes is not None:
            by_name = codes.names.get(_norm(out["name"]))
            if by_name:
                out["land_use_code"] = by_name
    return out


@dataclass
class _Drawing:
    shapes: list[tuple[str, Any, str]] = field(default_factory=list)  # (handle, shapely geometry, layer)
    labels: list[tuple[str, Point]] = field(default_factory=list)
    hatches: list[tuple[str, Polygon, str]] = field(default_factory=list)


def _flatten(entity: Any) -> list[tuple[float, float]]:
    path = ezdxf.path.make_path(entity)
    return [(v.x, v.y) for v in path.flattening(distance=FLATTEN_TOLERANCE_M)]


def _open_dxf(path: Path, label: str) -> Any:
    """The DXF document, or :class:`CorruptFile` saying what is wrong with the file."""
    try:
        doc, auditor = recover.readfile(str(path))
    except (ezdxf.DXFStructureError, ezdxf.DXFError, OSError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{label}: not a readable DXF file ({exc}): is it complete? Save it again as DXF") from None
    if auditor.has_errors:
        first = "; ".join(str(e.message) for e in auditor.errors[:3])
        raise CorruptFile(f"{label}: the DXF file is damaged ({first}): open and save it again in your CAD program")
    if doc.header.get("$ACADVER", "") and "EOF" not in _tail(path):
        raise CorruptFile(f"{label}: the DXF file ends before its end-of-file marker: it is truncated")
    return doc


def _model_entities(msp: Any) -> list[Any]:
    """The model space's entities, block references replaced by the entities they place."""
    entities: list[Any] = []
    for e in msp:
        if e.dxftype() == "INSERT":
            try:
                entities.extend(e.virtual_entities())
            except Exception:  # a broken block reference is skipped, the drawing is not lost
                continue
        else:
            entities.append(e)
    return entities


def _add_text(d: _Drawing, e: Any, kind: str, handle: str, layer: str) -> None:
    """A TEXT label, placed at its alignment point when it is aligned."""
    halign, valign = e.dxf.get("halign", 0), e.dxf.get("valign", 0)
    p = e.dxf.align_point if (halign or valign) and e.dxf.hasattr("align_point") else e.dxf.insert
    d.labels.append((e.dxf.text, Point(p.x, p.y)))


def _add_mtext(d: _Drawing, e: Any, kind: str, handle: str, layer: str) -> None:
    """An MTEXT label as plain text (formatting codes removed)."""
    p = e.dxf.insert
    d.labels.append((e.plain_text(), Point(p.x, p.y)))


def _add_hatch(d: _Drawing, e: Any, kind: str, handle: str, layer: str) -> None:
    """A hatch's filled area, its boundary paths combined by the even-odd rule."""
    rings = []
    for hp in ezdxf.path.from_hatch(e):
        pts = [(v.x, v.y) for v in hp.flattening(distance=FLATTEN_TOLERANCE_M)]
        if len(pts) >= 3:
            rings.append(Polygon(pts).buffer(0))
    if rings:
        poly = functools.reduce(lambda a, b: a.symmetric_difference(b), rings)  # even-odd fill
        d.hatches.append((handle, poly, layer))


def _is_closed(e: Any, kind: str, pts: list[tuple[float, float]]) -> bool:
    """Whether a flattened curve encloses an area."""
    closed = (
        kind in ("CIRCLE",)
        or bool(getattr(e, "closed", False))
        or (kind in ("LWPOLYLINE", "POLYLINE", "SPLINE", "ELLIPSE") and len(pts) > 3 and pts[0] == pts[-1])
    )
    if kind == "ELLIPSE":
        closed = closed or abs(e.dxf.end_param - e.dxf.start_param - 2 * np.pi) < 1e-9
    return closed


def _add_curve(d: _Drawing, e: Any, kind: str, handle: str, layer: str) -> None:
    """A line or curve, flattened: a polygon when closed, else a line string."""
    if kind == "POLYLINE" and not (e.is_2d_polyline or e.is_3d_polyline):
        return  # meshes
    try:
        pts = _flatten(e)
    except (TypeError, ValueError):
        return
    if len(pts) < 2:
        return
    closed = _is_closed(e, kind, pts)
    geom: Any = Polygon(pts) if closed and len(pts) >= 3 else LineString(pts)
    d.shapes.append((handle, geom, layer))


#: What each kind of DXF entity adds to the drawing; other kinds are ignored.
_DXF_ENTITIES = {
    "TEXT": _add_text,
    "MTEXT": _add_mtext,
    "HATCH": _add_hatch,
    **dict.fromkeys(("LWPOLYLINE", "POLYLINE", "LINE", "CIRCLE", "ELLIPSE", "SPLINE", "ARC"), _add_curve),
}


def _read_dxf(path: Path, label: str) -> _Drawing:
    doc = _open_dxf(path, label)
    d = _Drawing()
    for e in _model_entities(doc.modelspace()):
        kind = e.dxftype()
        layer = str(e.dxf.get("layer", "0"))
        handle = str(e.dxf.get("handle", "")) or f"{kind}-{len(d.shapes)}"
        add = _DXF_ENTITIES.get(kind)
        if add is not None:
            add(d, e, kind, handle, layer)
    return d


def _tail(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        return f.read().decode("latin-1")


def _read_dgn(path: Path, label: str) -> _Drawing:
    try:
        meta, fids, geoms, values = raw.read(str(path), return_fids=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, RuntimeError) as exc:
        raise CorruptFile(f"{label}: not a readable DGN v7 file ({exc})") from None
    fields = dict(zip(meta["fields"], values, strict=True))
    d = _Drawing()
    shapes = shapely.from_wkb(geoms)
    for i, g in enumerate(shapes):
        if g is None:
            continue
        layer = f"Level {fields['Level'][i]}" if "Level" in fields else "0"
        text = fields.get("Text")
        if text is not None and text[i]:
            p = g if g.geom_type == "Point" else g.centroid
            d.labels.append((str(text[i]), p))
        elif g.geom_type in ("Polygon", "MultiPolygon"):
            d.shapes.append((str(fids[i]), g, layer))
        elif g.geom_type in ("LineString", "MultiLineString"):
            if g.geom_type == "LineString" and g.is_closed and len(g.coords) >= 4:
                d.shapes.append((str(fids[i]), Polygon(g.coords), layer))
            else:
                d.shapes.append((str(fids[i]), g, layer))
    return d


_Poly = tuple[str, Any, str, dict[str, str] | None]  # (handle, polygon, layer, the layer's CAD rule)


@dataclass
class CadNotes:
    """What reading a drawing passed over, for the validation: outlines on a zone layer left open (handle, layer,
    line) and labels that lie in no closed shape (text in Unicode, point)."""

    open_outlines: list[tuple[str, str, Any]] = field(default_factory=list)
    orphan_labels: list[tuple[str, Any]] = field(default_factory=list)


def _sort_shapes(
    d: _Drawing, src: SourceLayer, profile: Profile, notes: CadNotes | None = None
) -> tuple[list[_Poly], dict[str, list[tuple[str, Any, str]]]]:
    """The drawing's areas (zones, plan boundary) and its plan lines by kind; a hatch filling a closed polyline is
    the same zone drawn twice: the polyline is kept."""
    polys: list[_Poly] = []
    lines: dict[str, list[tuple[str, Any, str]]] = {}
    for handle, g, layer in d.shapes:
        rule = profile.cad_rule(layer)
        kind = src.kind or (rule or {}).get("kind") or ("zones" if g.geom_type.endswith("Polygon") else None)
        if kind in ("red-lines", "building-lines"):
            lines.setdefault(kind, []).append((handle, g.exterior if g.geom_type == "Polygon" else g, layer))
        elif kind in ("zones", "plan-boundary") and g.geom_type.endswith("Polygon"):
            polys.append((handle, g, layer, rule))
        elif kind in ("zones", "plan-boundary") and notes is not None and len(g.coords) >= 3:
            notes.open_outlines.append((handle, layer, g))  # a polyline meant to enclose a zone, left open
    for handle, g, layer in d.hatches:
        rule = profile.cad_rule(layer)
        kind = src.kind or (rule or {}).get("kind") or "zones"
        if kind in ("zones", "plan-boundary") and not _drawn_already(g, polys):
            polys.append((handle, g, layer, rule))
    return polys, lines


def _drawn_already(g: Any, polys: list[_Poly]) -> bool:
    """Whether one of ``polys`` covers the same area as ``g`` (within 1 %)."""
    return any(
        p[1].is_valid and g.is_valid and p[1].symmetric_difference(g).area < 0.01 * max(g.area, 1e-9) for p in polys
    )


def read_cad(
    src: SourceLayer, profile: Profile, codes: CodeBook, report: ImportReport, notes: CadNotes | None = None
) -> dict[str, Batch]:
    """Batches by kind (zones, red-lines, building-lines, plan-boundary) from a CAD drawing; ``notes`` gets what
    was passed over (open outlines, labels in no shape)."""
    path = Path(src.path)
    d = _read_dxf(path, src.label) if src.fmt == "dxf" else _read_dgn(path, src.label)
    polys, lines = _sort_shapes(d, src, profile, notes)
    out: dict[str, Batch] = {}
    zones = [p for p in polys if (src.kind or (p[3] or {}).get("kind") or "zones") == "zones"]
    bounds = [p for p in polys if p not in zones]
    if zones:
        out["zones"] = _zones_batch(zones, d.labels, codes, report, src.label, notes)
    if bounds:
        out["plan-boundary"] = _batch([p[0] for p in bounds], [p[1] for p in bounds], [p[2] for p in bounds])
    for kind, items in lines.items():
        out[kind] = _batch([i[0] for i in items], [i[1] for i in items], [i[2] for i in items])
    if not out:
        raise EmptyLayer(f"{src.label}: the drawing holds no closed shape or plan line to import")
    return out


def _batch(
    handles: list[str], geoms: list[Any], layers: list[str], preset: dict[str, list[Any]] | None = None
) -> Batch:
    return Batch(
        fids=np.array(handles, dtype=object),
        geoms=np.array(geoms, dtype=object),
        fields={"layer": np.array(layers, dtype=object)},
        crs_wkt=None,
        preset=preset,
    )


def _report_orphans(orphans: list[tuple[str, Any]], report: ImportReport, label: str, notes: CadNotes | None) -> None:
    """Labels in no closed shape: a warning of the import, and the validation's notes."""
    if orphans:
        listed = "; ".join(f"{t!r} at E {p.x:.2f} N {p.y:.2f}" for t, p in orphans[:20])
        report.warn(f"{label}: {len(orphans)} label(s) lie in no closed shape: {listed}")
        if notes is not None:
            notes.orphan_labels += orphans


def _zones_batch(
    zones: list[tuple[str, Any, str, dict[str, str] | None]],
    labels: list[tuple[str, Point]],
    codes: CodeBook,
    report: ImportReport,
    label: str,
    notes: CadNotes | None = None,
) -> Batch:
    geoms = np.array([z[1] for z in zones], dtype=object)
    valid = np.array([g.buffer(0) if not g.is_valid else g for g in geoms], dtype=object)
    tree = shapely.STRtree(valid)
    texts: list[list[str]] = [[] for _ in zones]
    encodings: dict[str, int] = {}
    orphans: list[tuple[str, Any]] = []
    for text, point in labels:
        uni, enc = to_unicode(text)
        if enc:
            encodings[enc] = encodings.get(enc, 0) + 1
        hits = [int(i) for i in tree.query(point, predicate="within")]
        if not hits:
            orphans.append((uni, point))
            continue
        smallest = min(
            hits, key=lambda i: float(shapely.area(valid[i]))
        )  # nested shapes: the innermost holds the label
        texts[smallest].append(uni)
    _report_orphans(orphans, report, label, notes)
    if encodings:
        report.warn(
            f"{label}: labels converted to Unicode from {', '.join(f'{k} ({v})' for k, v in encodings.items())}"
        )
    cols = ["zone_code", "name", "land_use_code", "max_density_pct", "max_floors", "min_floors", "max_height_m",
            "max_far", "min_setback_m", "min_ground_elev_m"]  # fmt: skip
    preset: dict[str, list[Any]] = {c: [] for c in cols}
    preset["land_use_code_raw"] = []
    preset["attributes"] = []
    unlabelled = []
    for k, (handle, _g, layer, rule) in enumerate(zones):
        parsed = parse_labels(texts[k], codes)
        code = parsed.get("land_use_code") or (rule or {}).get("code")
        if not texts[k]:
            unlabelled.append(f"{handle} (layer {layer}{', code ' + code + ' from the layer' if code else ''})")
        parsed["land_use_code"] = code
        for c in cols:
            preset[c].append(parsed.get(c))
        preset["land_use_code_raw"].append(code)
        preset["attributes"].append({"labels": texts[k], "cad_layer": layer, "cad_handle": handle})
    if unlabelled:
        report.warn(f"{label}: {len(unlabelled)} closed shape(s) without labels: {'; '.join(unlabelled[:20])}")
    return _batch([z[0] for z in zones], list(geoms), [z[2] for z in zones], preset)
