"""The permit check's rules, evaluated on a footprint placed on its site.

Each rule answers ``pass``, ``fail``, ``needs_review`` (the data cannot settle it: an officer must look, and the
message says at what), ``not_applicable`` or ``officer_judgement`` (architecture and heritage appearance: listed for
the officer, never passed or failed), with the measured value, the limit and its basis, its legal source, what it
measured against (zone, road) and a sentence in Vietnamese and English. Zone rules answer once per zone the footprint
stands in, road rules once per road the lot faces.

This module is the rules' register, in the order answers are listed; the rules live in
:mod:`~gis_service.rules.land_use`, :mod:`~gis_service.rules.setbacks`, :mod:`~gis_service.rules.heights`,
:mod:`~gis_service.rules.lot` and :mod:`~gis_service.rules.judgement`, on the measured proposal of
:mod:`~gis_service.rules.measured`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gis_service.rules import heights, judgement, land_use, lot, setbacks
from gis_service.rules.footprint import Placement
from gis_service.rules.measured import LINE_TOLERANCE_M, PlacedProposal
from gis_service.rules.result import RuleResult
from gis_service.rules.roads import Roads
from gis_service.rules.site import Site

if TYPE_CHECKING:
    from gis_service.permits.model import Proposal

__all__ = ["LINE_TOLERANCE_M", "RULES", "RULE_IDS", "evaluate"]

#: Every rule by its id, in the order its answers are listed.
RULES: dict[str, Callable[[PlacedProposal], None]] = {
    "land_use": land_use.land_use,
    "inside_lot": lot.inside_lot,
    "building_line": setbacks.building_lines,
    "red_line_setback": setbacks.red_line_setbacks,
    "access": lot.access,
    "density": land_use.density,
    "floors": heights.floors,
    "height": heights.height,
    "far": land_use.far,
    "ground_elevation": heights.ground_elevation,
    "frontage": lot.frontage,
    "lot_area": lot.lot_area,
    "architecture": judgement.architecture,
    "heritage_appearance": judgement.heritage_appearance,
}
RULE_IDS = tuple(RULES)


def evaluate(proposal: Proposal, site: Site, roads: Roads, placed: Placement) -> list[RuleResult]:
    """Every rule's answers for a footprint placed on its site, in the order of :data:`RULE_IDS`.

    Parameters
    ----------
    proposal
        The validated request.
    site, roads
        What the rules look at around the lot, and the roads it faces.
    placed
        The footprint placed in the zones that govern it.

    Returns
    -------
    list of RuleResult
        The answers, rule by rule; a rule answers once per zone or road it depends on.
    """
    checked = PlacedProposal(proposal, site, roads, placed)
    for rule in RULES.values():
        rule(checked)
    order = {rid: i for i, rid in enumerate(RULE_IDS)}
    return sorted(checked.out, key=lambda r: order[r.id])
