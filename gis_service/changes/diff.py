"""What changed between two versions of a plan: :func:`plan_diff`, and where: :func:`changed_region_wkb`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.changes.lines import BUFFER_M, LINE_LAYERS, LineChange, compare_lines
from gis_service.changes.versions import VersionRef, version_ref, version_refs
from gis_service.changes.zones import ZoneChange, compare_zones
from gis_service.errors import ValidationError

__all__ = ["PlanDiff", "changed_region_wkb", "plan_diff", "psycopg_of"]


def psycopg_of(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg 3 connection under a SQLAlchemy one (the comparisons bind ``%(name)s`` parameters)."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("comparing plan versions needs a SQLAlchemy connection over psycopg 3")
    return raw


@dataclass(frozen=True)
class PlanDiff:
    """The differences between two versions of one plan: zones, red lines and building lines."""

    before: VersionRef
    after: VersionRef
    zones: tuple[ZoneChange, ...]
    red_lines: tuple[LineChange, ...]
    building_lines: tuple[LineChange, ...]

    @property
    def empty(self) -> bool:
        """Nothing differs."""
        return not (self.zones or self.red_lines or self.building_lines)

    def counts(self) -> dict[str, dict[str, int]]:
        """How many entries of each kind of change, per layer."""
        out: dict[str, dict[str, int]] = {}
        for layer, entries in (
            ("zones", self.zones),
            ("red_lines", self.red_lines),
            ("building_lines", self.building_lines),
        ):
            kinds = ("added", "removed", "changed") if layer == "zones" else ("added", "removed", "moved", "changed")
            out[layer] = {k: sum(1 for e in entries if e.change == k) for k in kinds}
        return out

    def as_dict(self) -> dict[str, Any]:
        """The answer of ``GET /plans/{code}/diff``."""
        return {
            "plan": {"code": self.after.code, "name": self.after.name},
            "from": self.before.as_dict(),
            "to": self.after.as_dict(),
            "zones": [z.as_dict() for z in self.zones],
            "red_lines": [r.as_dict() for r in self.red_lines],
            "building_lines": [b.as_dict() for b in self.building_lines],
            "counts": self.counts(),
        }


def _same_plan(before: VersionRef, after: VersionRef) -> None:
    if before.code != after.code:
        raise ValidationError(
            f"plan version {before.id} ({before.code}) and {after.id} ({after.code}) are versions of different plans"
        )


def plan_diff(
    conn: Connection,
    from_plan_id: int,
    to_plan_id: int,
    *,
    window: bytes | None = None,
    near_m: float = BUFFER_M,
    geojson: bool = False,
) -> PlanDiff:
    """Compare two versions of a plan (plan row ids, e.g. from :func:`~gis_service.changes.resolve_versions`).

    Parameters
    ----------
    conn
        A SQLAlchemy connection over psycopg 3; nothing is written.
    from_plan_id, to_plan_id
        The two versions; the same id gives an empty difference.
    window
        Only what meets this area (WKB, EPSG:9214): zones meeting it, lines within ``near_m`` of it.
    geojson
        Also give each changed part and line as GeoJSON in CRS84 (the API's answer).

    Raises
    ------
    NotFound
        No plan version with one of the ids.
    ValidationError
        The two ids are versions of different plans.
    """
    before, after = version_refs(conn, from_plan_id, to_plan_id)
    _same_plan(before, after)
    pg = psycopg_of(conn)
    zones = compare_zones(pg, from_plan_id, to_plan_id, window=window, geojson=geojson)
    red, building = (
        compare_lines(pg, layer, from_plan_id, to_plan_id, window=window, near_m=near_m, geojson=geojson)
        for layer in LINE_LAYERS
    )
    return PlanDiff(before, after, tuple(zones), tuple(red), tuple(building))


_UNION_SQL = sa.text(
    "SELECT ST_AsBinary(ST_UnaryUnion(ST_Collect(ST_GeomFromWKB(w, 9214)))) FROM unnest(CAST(:parts AS bytea[])) w"
)
_WHOLE_PLAN_SQL = sa.text(
    "SELECT ST_AsBinary(ST_UnaryUnion(ST_Collect(g))) FROM ("
    " SELECT geom AS g FROM planning.zones WHERE plan_id = :p"
    " UNION ALL SELECT ST_Buffer(geom, :b, 'quad_segs=4') FROM planning.red_lines WHERE plan_id = :p"
    " UNION ALL SELECT ST_Buffer(geom, :b, 'quad_segs=4') FROM planning.building_lines WHERE plan_id = :p) x"
)


def changed_region_wkb(conn: Connection, from_plan_id: int | None, to_plan_id: int) -> bytes | None:
    """Everything that changed between two versions, as one geometry: WKB (no SRID inside) in EPSG:9214.

    The parts of zones that grew or shrank, the whole of a zone whose land use or rules changed (and of one added
    or removed), and every added, removed, moved or edited line buffered by 1 m. ``from_plan_id`` None (a first
    version): all of ``to_plan_id``. None when nothing changed. Read it in SQL with ``ST_GeomFromWKB(:wkb, 9214)``,
    e.g. to find the subscriptions a new version touches.
    """
    if from_plan_id is None:
        version_ref(conn, to_plan_id)
        row = conn.execute(_WHOLE_PLAN_SQL, {"p": to_plan_id, "b": BUFFER_M}).first()
        return None if row is None or row[0] is None else bytes(row[0])
    diff = plan_diff(conn, from_plan_id, to_plan_id)
    parts = [z.part_wkb for z in diff.zones] + [line.region_wkb for line in (*diff.red_lines, *diff.building_lines)]
    if not parts:
        return None
    row = conn.execute(_UNION_SQL, {"parts": parts}).first()
    return None if row is None or row[0] is None else bytes(row[0])
