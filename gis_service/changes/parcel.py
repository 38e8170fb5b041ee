"""What a new plan version changes for one parcel (:func:`parcel_changes`) or an area drawn on a map
(:func:`area_summary`), in plain words.

The comparison is :func:`~gis_service.changes.plan_diff` cut to the parcel: the zones the parcel lies in (a zone it
only touches along an edge is not "in" it), the changed parts that cover some of it, and the lines within 1 m of
it. Road land is land of the planned road: the zones of land use ``DGT`` and the road side of the red lines
(:func:`gis_service.rules.roads.roads_of`, as the rule model and the certificate measure it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.changes.diff import plan_diff
from gis_service.changes.lines import LineChange
from gis_service.changes.sentences import area_m2, attribute_phrase, line_count_phrase, line_sentence, zone_brief
from gis_service.changes.versions import VersionRef
from gis_service.changes.zones import MIN_AREA_M2, ZoneChange
from gis_service.errors import NotFound
from gis_service.printing import check_lang
from gis_service.rules.roads import roads_of
from gis_service.rules.site import SEARCH_M, Line, Site
from gis_service.wording import num, pick

__all__ = ["ROAD_LAND_USE", "ParcelChanges", "area_summary", "parcel_changes", "zone_meets"]

#: The land-use code of road land (đất giao thông, TT 08/2024).
ROAD_LAND_USE = "DGT"
#: At most this many zones are named in an area's summary; the others are counted.
AREA_LIST_MAX = 12

_PARCEL_SQL = sa.text(
    "SELECT id, sheet_no, parcel_no, ward, address, ST_AsBinary(geom) FROM planning.parcels WHERE id = :id"
)


@dataclass(frozen=True)
class ParcelChanges:
    """What a new plan version changes for one parcel: the zones and lines that change there, the road land, and
    ``summary``, one plain sentence per change. ``touched``: something changed on or beside the parcel."""

    parcel: dict[str, Any]
    before: VersionRef
    after: VersionRef
    zones: tuple[ZoneChange, ...]
    lines: tuple[LineChange, ...]
    road_from_m2: float
    road_to_m2: float
    summary: list[str] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        """Whether the new version changes anything for the parcel."""
        return bool(self.zones or self.lines or abs(self.road_to_m2 - self.road_from_m2) >= MIN_AREA_M2)

    def as_dict(self) -> dict[str, Any]:
        """The parcel, the two versions, each change, the road land before and after, the sentences."""
        changes: list[dict[str, Any]] = [
            {
                "layer": "zones",
                **z.as_dict(),
                "parcel_area_from_m2": None if z.in_from_m2 is None else round(z.in_from_m2, 1),
                "parcel_area_to_m2": None if z.in_to_m2 is None else round(z.in_to_m2, 1),
            }
            for z in self.zones
        ]
        changes += [{"layer": line.layer, **line.as_dict()} for line in self.lines]
        return {
            "parcel": self.parcel,
            "plan": {"code": self.after.code, "name": self.after.name},
            "from": self.before.as_dict(),
            "to": self.after.as_dict(),
            "changes": changes,
            "road_area_m2": {"from": round(self.road_from_m2, 1), "to": round(self.road_to_m2, 1)},
            "summary": self.summary,
            "touched": self.touched,
        }


def zone_meets(z: ZoneChange) -> bool:
    """Whether a zone's change covers some of the window (more than along an edge)."""
    inside_a, inside_b = (z.in_from_m2 or 0.0) >= MIN_AREA_M2, (z.in_to_m2 or 0.0) >= MIN_AREA_M2
    if z.change == "added":
        return inside_b
    if z.change == "removed":
        return inside_a
    if z.attributes:
        return inside_a or inside_b
    return (z.in_part_m2 or 0.0) >= MIN_AREA_M2


def parcel_changes(
    conn: Connection, parcel_id: int, from_plan_id: int, to_plan_id: int, lang: str = "vi"
) -> ParcelChanges:
    """What version ``to_plan_id`` changes for parcel ``parcel_id`` against version ``from_plan_id``.

    Parameters
    ----------
    conn
        A SQLAlchemy connection over psycopg 3; nothing is written.
    parcel_id
        The parcel's id.
    from_plan_id, to_plan_id
        Two versions of one plan (row ids, :func:`~gis_service.changes.resolve_versions`).
    lang
        ``vi`` or ``en``: the language of ``summary``.

    Raises
    ------
    NotFound
        No parcel or plan version with that id.
    ValidationError
        ``lang`` is not vi or en; the versions are of different plans.
    """
    lang = check_lang(lang)
    row = conn.execute(_PARCEL_SQL, {"id": parcel_id}).first()
    if row is None:
        raise NotFound(f"no parcel with id {parcel_id}")
    lot_wkb = bytes(row[5])
    parcel = {"id": row[0], "sheet_no": row[1], "parcel_no": row[2], "ward": row[3], "address": row[4]}
    diff = plan_diff(conn, from_plan_id, to_plan_id, window=lot_wkb)
    zones = tuple(z for z in diff.zones if zone_meets(z))
    lines = (*diff.red_lines, *diff.building_lines)
    road_from = road_to = 0.0
    if any(line.layer == "red_lines" for line in lines) or any(_road_related(z) for z in zones):
        road_from, road_to = _road_m2(conn, lot_wkb, (from_plan_id, to_plan_id))
    summary = _zone_sentences(zones, lang) + _road_sentences(road_from, road_to, lang)
    # Both red lines of one street moved alike read as one sentence, not the same one twice.
    summary += list(dict.fromkeys(line_sentence(line, lang) for line in lines))
    return ParcelChanges(parcel, diff.before, diff.after, zones, lines, road_from, road_to, summary)


def _road_related(z: ZoneChange) -> bool:
    return ROAD_LAND_USE in ((z.before or {}).get("land_use_code"), (z.after or {}).get("land_use_code"))


_ROAD_SQL = sa.text(
    "SELECT plan_id, 'red_line', id, road_name, red_line_width_m::float8, ST_AsBinary(geom) "
    "FROM planning.red_lines WHERE plan_id IN (:f, :t) AND ST_DWithin(geom, ST_GeomFromWKB(:lot, 9214), :near) "
    "UNION ALL SELECT plan_id, 'road_zone', id, NULL, NULL, "
    "ST_AsBinary(ST_Intersection(geom, ST_GeomFromWKB(:lot, 9214))) "
    "FROM planning.zones WHERE plan_id IN (:f, :t) AND land_use_code = :road "
    "AND ST_Intersects(geom, ST_GeomFromWKB(:lot, 9214))"
)


def _road_m2(conn: Connection, lot_wkb: bytes, plan_ids: tuple[int, int]) -> tuple[float, float]:
    """The area of the parcel in road land of each version: DGT zones, and the road side of its red lines as the
    rule model finds it (:func:`gis_service.rules.roads.roads_of`, on the red lines near the lot)."""
    lot = shapely.from_wkb(lot_wkb)
    rows = conn.execute(
        _ROAD_SQL, {"f": plan_ids[0], "t": plan_ids[1], "lot": lot_wkb, "near": SEARCH_M, "road": ROAD_LAND_USE}
    ).all()
    out = []
    for plan_id in plan_ids:
        lines = tuple(
            Line(r[2], plan_id, 0, r[3], r[4], None, 1, 1, None, shapely.from_wkb(bytes(r[5])))
            for r in rows
            if r[0] == plan_id and r[1] == "red_line"
        )
        site = Site(lot=lot, footprint=None, parcel=None, zones=(), red_lines=lines, building_lines=(), alleys=())
        parts = [roads_of(site).road_part if lines else shapely.Polygon()]
        parts += [shapely.from_wkb(bytes(r[5])) for r in rows if r[0] == plan_id and r[1] == "road_zone"]
        out.append(float(shapely.area(shapely.intersection(shapely.union_all(parts), lot))))
    return out[0], out[1]


def _zone_sentences(zones: tuple[ZoneChange, ...], lang: str) -> list[str]:
    out = []
    for z in zones:
        head = f"Ô {z.label}" if lang == "vi" else f"Zone {z.label}"
        inside_a, inside_b = z.in_from_m2 or 0.0, z.in_to_m2 or 0.0
        if z.change == "added":
            use = (z.after or {}).get("land_use_code") or "—"
            out.append(
                f"Thửa đất nay có {area_m2(inside_b, lang)} thuộc ô mới {z.label} ({use})."
                if lang == "vi"
                else f"{area_m2(inside_b, lang)} of the parcel now lies in the new zone {z.label} ({use})."
            )
            continue
        if z.change == "removed":
            out.append(
                f"Ô {z.label} ({area_m2(inside_a, lang)} của thửa đất) bị bỏ."
                if lang == "vi"
                else f"Zone {z.label} ({area_m2(inside_a, lang)} of the parcel) is removed."
            )
            continue
        out += [f"{head}: {attribute_phrase(a, lang)}." for a in z.attributes]
        if abs(round(inside_b, 1) - round(inside_a, 1)) >= 0.1:
            was, now = area_m2(inside_a, lang), area_m2(inside_b, lang)
            out.append(
                f"Phần thửa đất thuộc ô {z.label} từ {was} thành {now}."
                if lang == "vi"
                else f"The part of the parcel in zone {z.label} goes from {was} to {now}."
            )
    return out


def _road_sentences(before: float, after: float, lang: str) -> list[str]:
    """How much of the lot becomes (or stops being) road land; with the total when some of it was already.

    >>> _road_sentences(0.0, 42.0, "en")
    ['42 m² of the lot now lies inside the planned road.']
    >>> _road_sentences(11.0, 22.0, "vi")
    ['Thêm 11 m² của thửa đất nằm trong đất giao thông quy hoạch (tổng cộng 22 m²).']
    """
    delta = round(after - before, 1)
    if abs(delta) < 0.1:
        return []
    size, total = area_m2(abs(delta), lang), area_m2(after, lang)
    if delta > 0 and round(before, 1) < 0.1:
        vi = f"{size} của thửa đất nay nằm trong đất giao thông quy hoạch."
        en = f"{size} of the lot now lies inside the planned road."
    elif delta > 0:
        vi = f"Thêm {size} của thửa đất nằm trong đất giao thông quy hoạch (tổng cộng {total})."
        en = f"{size} more of the lot now lies inside the planned road ({total} in all)."
    elif round(after, 1) < 0.1:
        vi = f"{size} của thửa đất không còn nằm trong đất giao thông quy hoạch."
        en = f"{size} of the lot no longer lies inside the planned road."
    else:
        vi = f"{size} của thửa đất không còn nằm trong đất giao thông quy hoạch (còn {total})."
        en = f"{size} of the lot no longer lies inside the planned road ({total} still does)."
    return [vi if lang == "vi" else en]


def area_summary(conn: Connection, geom_wkb: bytes, from_plan_id: int, to_plan_id: int, lang: str = "vi") -> list[str]:
    """What version ``to_plan_id`` changes in an area drawn on a map (WKB in EPSG:9214), in a few sentences:
    the zones that change, named briefly, then the lines. Empty when nothing changes there.

    >>> # e.g. ["3 ô quy hoạch thay đổi: KT-19 (tầng cao tối đa 3 tầng → 4 tầng), KT-20 (...), KT-21 (ô mới)."]
    """
    lang = check_lang(lang)
    diff = plan_diff(conn, from_plan_id, to_plan_id, window=bytes(geom_wkb))
    zones = [z for z in diff.zones if zone_meets(z)]
    out = []
    if zones:
        named = ", ".join(zone_brief(z, lang) for z in zones[:AREA_LIST_MAX])
        rest = len(zones) - AREA_LIST_MAX
        if rest > 0:
            named += pick((f" và {rest} ô khác", f" and {rest} more"), lang)
        n = len(zones)
        head = (
            f"{n} ô quy hoạch thay đổi"
            if lang == "vi"
            else f"{n} zone{'s' if n > 1 else ''} change{'' if n > 1 else 's'}"
        )
        out.append(f"{head}: {named}.")
    for layer, lines in (("red_lines", diff.red_lines), ("building_lines", diff.building_lines)):
        if not lines:
            continue
        named = ", ".join(_line_brief(line, lang) for line in lines[:AREA_LIST_MAX])
        rest = len(lines) - AREA_LIST_MAX
        if rest > 0:
            named += pick((f" và {rest} đoạn khác", f" and {rest} more"), lang)
        out.append(f"{line_count_phrase(layer, len(lines), lang)}: {named}.")
    return out


def _line_brief(line: LineChange, lang: str) -> str:
    road = line.road_name or pick(("không tên", "unnamed"), lang)
    what = {
        "added": pick(("thêm mới", "added"), lang),
        "removed": pick(("bị bỏ", "removed"), lang),
        "moved": pick(("dịch chuyển tối đa", "moved by up to"), lang) + f" {num(line.max_shift_m, lang)} m",
        "changed": ", ".join(attribute_phrase(a, lang) for a in line.attributes),
    }[line.change]
    return f"{road} ({what})"
