"""The published layers as the OGC API serves them: the catalogue's public columns and the public's rows.

Everything here derives from the catalogue (:mod:`gis_service.model`): creating the app and generating the OpenAPI
document never touch the database, and every column name that reaches SQL comes from that fixed list.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis_service.model import LAYERS as CATALOGUE
from gis_service.model import Column
from gis_service.model import Layer as PlanLayer
from gis_service.model.visibility import (
    APPROVED_PLAN_IDS,
    NO_LONLAT_INDEX,
    consultation_filter,
    in_force_filter,
    lonlat_window,
    public_filter,
)

__all__ = ["APPROVED_PLAN_IDS", "LAYERS", "NO_LONLAT_INDEX", "Column", "Layer", "lonlat_window"]

#: Every collection also shows when and how often a feature changed.
BOOKKEEPING = (
    Column("row_version", "integer", "Phiên bản của đối tượng", "Version of the feature", imported=False),
    Column("updated_at", "datetime", "Thay đổi lần cuối", "Last change", imported=False),
)


@dataclass(frozen=True)
class Layer:
    """One collection: a table of schema ``planning`` with a geometry ``geom`` in EPSG:9214."""

    name: str
    title_vi: str
    title_en: str
    description: str
    columns: tuple[Column, ...]
    public_filter: str
    geometry_type: str = "MultiPolygon"
    keywords: tuple[str, ...] = ()
    #: The rows on a past date (``as_of``), the plan versions' ids bound at ``%s``; None: not a plan layer.
    in_force_filter: str | None = None
    #: The rows in ``view=consultation`` (the drafts under consultation today); None: not a plan layer.
    consultation_filter: str | None = None

    @property
    def table(self) -> str:
        """The qualified table name."""
        return f"planning.{self.name}"

    @property
    def column_map(self) -> dict[str, Column]:
        """The columns by name."""
        return {c.name: c for c in self.columns}


def collection(layer: PlanLayer) -> Layer:
    """The collection of a catalogue layer: its public columns, then the bookkeeping ones."""
    return Layer(
        layer.name,
        layer.title_vi,
        layer.title_en,
        layer.description,
        (*(c for c in layer.columns if c.public), *BOOKKEEPING),
        public_filter(layer),
        geometry_type=layer.geometry,
        keywords=layer.keywords,
        in_force_filter=in_force_filter(layer, "%s::int[]"),
        consultation_filter=consultation_filter(layer),
    )


LAYERS: dict[str, Layer] = {name: collection(layer) for name, layer in CATALOGUE.items()}
