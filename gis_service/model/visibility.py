"""Who may see which features: the public sees plan layers only where their plan version is approved."""

from __future__ import annotations

__all__ = [
    "APPROVED_PLAN_IDS",
    "NO_LONLAT_INDEX",
    "consultation_filter",
    "in_force_filter",
    "is_dated",
    "lonlat_window",
    "public_filter",
]

from gis_service.consultation.periods import UNDER_CONSULTATION_IDS_SQL, UNDER_CONSULTATION_PLAN_IDS
from gis_service.model.layers import Layer

# A plan layer's features are public only when their plan version is approved.
APPROVED_PLAN_IDS = "plan_id IN (SELECT p.id FROM planning.plans p WHERE p.status = 'approved')"

#: Tables whose lon/lat copy ``geom_4326`` has no index (migration ``0006_zones_one_spatial_index``): a lon/lat
#: window finds their rows through the index on ``geom`` (EPSG:9214) and the window's box there.
NO_LONLAT_INDEX = frozenset({"zones"})


def public_filter(layer: Layer) -> str:
    """The SQL condition (on the layer's table, unaliased) that the public's rows meet."""
    if layer.versioned:
        return APPROVED_PLAN_IDS
    if layer.name == "plans":
        return "status = 'approved' AND geom IS NOT NULL"
    return "true"


def is_dated(layer: Layer) -> bool:
    """Whether the layer's rows depend on the date asked (``as_of``): the plans and the plan-versioned layers."""
    return layer.versioned or layer.name == "plans"


def in_force_filter(layer: Layer, plan_ids: str) -> str | None:
    """The SQL condition (unaliased, as :func:`public_filter`) of a plan layer's rows on a past date: those of the
    plan versions whose ids ``plan_ids`` binds (an integer array, from :func:`gis_service.as_of.plans_in_force`).

    None for the layers outside plan versions (parcels, buildings, the base map): they are kept as they are today.

    >>> from gis_service.model.layers import LAYERS
    >>> in_force_filter(LAYERS["zones"], "%s"), in_force_filter(LAYERS["parcels"], "%s")
    ('plan_id = ANY(%s)', None)
    """
    if not is_dated(layer):
        return None
    if layer.versioned:
        return f"plan_id = ANY({plan_ids})"
    return f"id = ANY({plan_ids}) AND geom IS NOT NULL"


def consultation_filter(layer: Layer) -> str | None:
    """The SQL condition (unaliased, as :func:`public_filter`) of a plan layer's rows in ``view=consultation``:
    only those of the drafts under consultation today, never an approved row beside them.

    None for the layers outside plan versions (parcels, buildings, the base map): they are kept as they are today.

    >>> from gis_service.model.layers import LAYERS
    >>> consultation_filter(LAYERS["zones"]).startswith("plan_id IN"), consultation_filter(LAYERS["parcels"])
    (True, None)
    """
    if not is_dated(layer):
        return None
    if layer.versioned:
        return UNDER_CONSULTATION_PLAN_IDS
    return f"id IN ({UNDER_CONSULTATION_IDS_SQL}) AND geom IS NOT NULL"


def lonlat_window(table: str, window: str, alias: str = "t") -> str | None:
    """A condition to AND with a lon/lat test of ``alias.geom_4326`` that meets ``window`` (the SQL of a lon/lat
    geometry), and that this test implies: for zones, ``geom && planning.box_9214(window)``, which lets the index
    on ``geom`` find the rows (the test still decides which, so the rows are the same); None for other tables."""
    if table not in NO_LONLAT_INDEX:
        return None
    return f"{alias}.geom && planning.box_9214({window})"
