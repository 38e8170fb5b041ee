"""A page of features, or one feature, as GeoJSON text built by PostgreSQL: no Python object per feature.

The statements are the ones :class:`ogc.provider.PlanningProvider` runs (same visibility, bbox, property filters,
order and output CRS), wrapped so that PostgreSQL returns the whole ``features`` array as one text. The web edge
(``gis_service.api.ogc_items``) adds the links and sends the text as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ogc.config import DATABASE_KEY
from ogc.layers import LAYERS
from ogc.provider import CRS84, OUTPUT_CRS, PlanningProvider

__all__ = ["ItemsQuery", "Statement", "item_statement", "items_statement"]


@dataclass(frozen=True)
class ItemsQuery:
    """What a page of items asks for, already checked by the caller (numbers parsed, CRS offered)."""

    collection: str
    limit: int
    offset: int = 0
    #: lon/lat corners in CRS84, or None
    bbox: tuple[float, float, float, float] | None = None
    crs: str = CRS84
    select_properties: tuple[str, ...] = ()
    #: the other query parameters (property filters, ``view``), as pygeoapi hands them to the provider
    properties: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Statement:
    """SQL and its bound values."""

    sql: str
    params: list[Any]


_PROVIDERS: dict[str, PlanningProvider] = {}


def _provider(collection: str) -> PlanningProvider:
    """The provider of a collection, built once (it holds only the layer's description)."""
    provider = _PROVIDERS.get(collection)
    if provider is None:
        provider = PlanningProvider(
            {"name": "ogc.provider.PlanningProvider", "type": "feature", "data": DATABASE_KEY, "table": collection}
        )
        _PROVIDERS[collection] = provider
    return provider


def items_statement(query: ItemsQuery) -> Statement:
    """The statement of a page: one row of (number of features, the features as a JSON array's inside).

    Raises
    ------
    pygeoapi.provider.base.ProviderInvalidQueryError
        An unknown property or a bad value (the caller lets pygeoapi answer the request, with its error).
    KeyError
        An unknown collection or CRS.
    """
    provider = _provider(query.collection)
    out = OUTPUT_CRS[query.crs]
    consultation = provider._consultation(list(query.properties))
    properties, plan_filter = provider._plan_filter(list(query.properties), consultation)
    # pygeoapi hands the provider the bbox in EPSG:4326 order (lat, lon); so does this
    bbox = None if query.bbox is None else [query.bbox[1], query.bbox[0], query.bbox[3], query.bbox[2]]
    where, params = provider._where(bbox, properties, None, plan_filter)
    feature = provider._select(out, False, list(query.select_properties) or None, consultation)
    sql = (
        "SELECT count(*), coalesce(string_agg(f::text, ',' ORDER BY id), '') FROM ("
        f"SELECT t.id, {feature} AS f FROM {provider.layer.table} t WHERE {' AND '.join(where)} "
        # limit and offset written as numbers: the read pool plans generically, and a generic plan of LIMIT %s
        # does not know the page is small (it sorted all rows instead of reading the id index)
        f"ORDER BY t.id LIMIT {int(query.limit)} OFFSET {int(query.offset)}) page"
    )
    return Statement(sql, params)


def item_statement(collection: str, feature_id: int, crs: str = CRS84, *, plan_version: int | None = None) -> Statement:
    """The statement of one public feature (or one of plan version ``plan_version``, checked by the caller): one row
    of (its GeoJSON text, its row version), or no row."""
    provider = _provider(collection)
    layer = LAYERS[collection]
    feature = provider._select(OUTPUT_CRS[crs], False, None)
    if plan_version is not None and layer.in_force_filter is not None:
        where, params = layer.in_force_filter, [feature_id, [plan_version]]
    else:
        where, params = layer.public_filter, [feature_id]
    sql = f"SELECT {feature}::text, t.row_version FROM {layer.table} t WHERE t.id = %s AND {where}"
    return Statement(sql, params)
