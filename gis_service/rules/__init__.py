"""The one rule model: what the plan and QCVN 01:2021/BXD allow on a lot, for the envelope and the permit check.

* :mod:`~gis_service.rules.site`: what the rules look at around a lot, read from PostGIS in one statement;
* :mod:`~gis_service.rules.roads`: the roads a lot faces, its road land, fronts, building lines;
* :mod:`~gis_service.rules.footprint`: the governing zones and a footprint's part in each;
* :mod:`~gis_service.rules.limits`: each limit with its basis (plan, QCVN, no limit, no data, scanned draft);
* :mod:`~gis_service.rules.check`: the permit check's rules by id, run on a placed footprint
  (:mod:`~gis_service.rules.measured`), each in :mod:`~gis_service.rules.land_use`,
  :mod:`~gis_service.rules.setbacks`, :mod:`~gis_service.rules.heights`, :mod:`~gis_service.rules.lot` or
  :mod:`~gis_service.rules.judgement`;
* :mod:`~gis_service.rules.envelope`: the buildable area, largest footprint and capacity the same rules allow.
"""

from gis_service.rules.check import RULE_IDS, evaluate
from gis_service.rules.envelope import Envelope, envelope_of
from gis_service.rules.footprint import Placement, place
from gis_service.rules.result import RuleResult, verdict
from gis_service.rules.roads import Road, Roads, roads_of
from gis_service.rules.site import Site, fetch_site, fetch_site_async

__all__ = [
    "RULE_IDS",
    "Envelope",
    "Placement",
    "Road",
    "Roads",
    "RuleResult",
    "Site",
    "envelope_of",
    "evaluate",
    "fetch_site",
    "fetch_site_async",
    "place",
    "roads_of",
    "verdict",
]
