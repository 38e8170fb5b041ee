"""What changed between two versions of a plan, zone by zone, line by line and parcel by parcel.

* :mod:`~gis_service.changes.versions`: which two versions to compare (:func:`resolve_versions`);
* :mod:`~gis_service.changes.zones` and :mod:`~gis_service.changes.lines`: the comparison itself, one SQL
  statement per layer: zones found again by code or by the land they share, lines by road and distance;
* :mod:`~gis_service.changes.diff`: the whole plan (:func:`plan_diff`) and where it changed
  (:func:`changed_region_wkb`, which the notices use to find the subscriptions a version touches);
* :mod:`~gis_service.changes.parcel`: what it changes for a parcel (:func:`parcel_changes`) or an area
  (:func:`area_summary`), in plain words (:mod:`~gis_service.changes.sentences`).

Everything takes a SQLAlchemy connection over psycopg 3, works in EPSG:9214 metres and writes nothing.
"""

from gis_service.changes.diff import PlanDiff, changed_region_wkb, plan_diff
from gis_service.changes.lines import LineChange
from gis_service.changes.parcel import ParcelChanges, area_summary, parcel_changes
from gis_service.changes.versions import VersionRef, resolve_versions
from gis_service.changes.zones import AttributeChange, ZoneChange

__all__ = [
    "AttributeChange",
    "LineChange",
    "ParcelChanges",
    "PlanDiff",
    "VersionRef",
    "ZoneChange",
    "area_summary",
    "changed_region_wkb",
    "parcel_changes",
    "plan_diff",
    "resolve_versions",
]
