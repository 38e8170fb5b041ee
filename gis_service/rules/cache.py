"""Sites already read, kept while nothing they hold has changed (:mod:`gis_service.data_version`).

The anonymous pre-check, the envelope and the lookup read the same parcels' sites over and over. Before using a kept
site, one small statement reads the data version (and turns the footprint into EPSG:9214 through the database's
official VN-2000 shift); when the version moved, every kept site is dropped and read again when next asked for. A
site is kept only under the version read before it, and only if no other version was read meanwhile: requests run
side by side, and one that read an older version (on a replica behind another) must not keep its site under a newer
one.
A lookup on a past date keeps its sites too, apart from today's: keyed by the plan versions in force then.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.footprint import ZonePart, lot_parts
from gis_service.rules.roads import Roads, roads_of
from gis_service.rules.site import Site, fetch_site_async

__all__ = ["Prepared", "SiteCache"]

_VERSION_SQL = (
    "SELECT (SELECT planning.data_version()), CASE WHEN %(fp)s::bytea IS NULL THEN NULL "
    "WHEN %(srid)s::int = 9214 THEN %(fp)s::bytea "
    "ELSE ST_AsBinary(ST_Transform(ST_SetSRID(ST_GeomFromWKB(%(fp)s::bytea), %(srid)s::int), 9214)) END"
)


@dataclass
class Prepared:
    """A parcel's site with what the rules derive from it alone (its roads, its zones' parts of the lot)."""

    site: Site
    roads: Roads
    parts: list[ZonePart]
    answers: dict[Any, Any] = field(default_factory=dict)  # envelopes and their answers, by use and CRS

    def with_footprint(self, footprint: BaseGeometry) -> Site:
        """The kept site with a proposal's footprint."""
        return dataclasses.replace(self.site, footprint=footprint)


class SiteCache:
    """At most ``size`` parcels' prepared sites, least recently used dropped first."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._version: int | None = None
        # a parcel's site under today's plan (its id), or under the versions in force on a date (id, their ids)
        self._sites: OrderedDict[int | tuple[int, tuple[int, ...]], Prepared] = OrderedDict()

    async def prepared(
        self,
        conn: psycopg.AsyncConnection[Any],
        parcel_id: int,
        footprint: tuple[bytes, int] | None = None,
        *,
        plan_ids: list[int] | None = None,
    ) -> tuple[Prepared, BaseGeometry | None]:
        """The parcel's prepared site (read if not kept, or kept before a change) and the footprint in EPSG:9214.

        ``plan_ids``: the site under those plan versions (in force on a date, :mod:`gis_service.as_of`) instead of
        the approved ones; kept apart from today's.
        """
        cur = await conn.execute(
            _VERSION_SQL,
            {"fp": None if footprint is None else footprint[0], "srid": 9214 if footprint is None else footprint[1]},
            prepare=True,
        )
        row = await cur.fetchone()
        assert row is not None
        version, fp_wkb = int(row[0]), row[1]
        if version != self._version:
            self._sites.clear()
            self._version = version
        key = parcel_id if plan_ids is None else (parcel_id, tuple(plan_ids))
        entry = self._sites.get(key)
        if entry is None:
            site = await fetch_site_async(conn, parcel_id=parcel_id, plan_ids=plan_ids)
            roads = roads_of(site)
            entry = Prepared(site, roads, lot_parts(site, roads))
            if self._version == version:  # else a newer version was read meanwhile: this site may be older
                self._sites[key] = entry
                if len(self._sites) > self.size:
                    self._sites.popitem(last=False)
        else:
            self._sites.move_to_end(key)
        return entry, None if fp_wkb is None else shapely.from_wkb(bytes(fp_wkb))
