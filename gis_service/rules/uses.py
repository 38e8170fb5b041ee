"""What a proposal's use means: a land-use code or a building-use category, resolved to both."""

from __future__ import annotations

import re

from gis_service.errors import ValidationError
from gis_service.rules.tables import qcvn_tables

__all__ = ["resolve_use"]


def resolve_use(use: str) -> tuple[tuple[str, ...], str | None]:
    """A land-use code or a category → (land-use codes, category).

    >>> resolve_use("detached_house")
    (('ODT', 'ONT'), 'detached_house')
    >>> resolve_use("tmd")
    (('TMD',), 'commercial')
    """
    tables = qcvn_tables()
    key = use.strip()
    if key.lower() in tables.categories:
        cat = tables.categories[key.lower()]
        return cat.land_use_codes, cat.id
    code = key.upper()
    if re.fullmatch(r"[A-Z]{3}", code) and (code in _known_codes()):
        return (code,), tables.default_category.get(code)
    raise ValidationError(
        f"use: {use!r} is neither a land-use code (e.g. ODT, TMD, DGD) nor a building-use category "
        f"({', '.join(tables.categories)})"
    )


def _known_codes() -> frozenset[str]:
    from gis_service.reference_data import land_use_codes

    global _CODES
    if _CODES is None:
        _CODES = frozenset(c.code for c in land_use_codes())
    return _CODES


_CODES: frozenset[str] | None = None
