"""The balance table a dossier declares: a table without geometry named ``BangCanBangSuDungDat`` (in a GeoPackage of
``HoSoGIS``, or a CSV of that name), one row per land-use code with its area in hectares.

The domain notes do not say how a TT 16/2025 dossier carries the table; this is the project's convention, the
fields named as the standard names others (``maSDD`` the code, ``dienTich`` the area in ha).
"""

from __future__ import annotations

from pathlib import Path

import pyogrio

from gis_service.errors import ValidationError

__all__ = ["DECLARED_LAYER", "find_declared_balance", "read_declared_balance"]

DECLARED_LAYER = "BangCanBangSuDungDat"
_CODE_FIELDS = ("maSDD", "maLoaiDat", "land_use_code", "code")
_AREA_FIELDS = ("dienTich", "dienTichHa", "area_ha")


def _field(names: list[str], wanted: tuple[str, ...], where: str) -> str:
    lower = {n.lower(): n for n in names}
    for w in wanted:
        if w.lower() in lower:
            return lower[w.lower()]
    raise ValidationError(f"{where}: no field {' or '.join(wanted)} (fields: {', '.join(names)})")


def read_declared_balance(path: Path, layer: str | None = DECLARED_LAYER) -> dict[str, float]:
    """Hectares by land-use code, summed where a code has several rows; ValidationError naming the file and field."""
    where = f"{path.name}:{layer}" if layer and path.suffix.lower() != ".csv" else path.name
    try:
        df = pyogrio.read_dataframe(path, layer=None if path.suffix.lower() == ".csv" else layer, read_geometry=False)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ValidationError(f"{where}: cannot read the declared balance table ({exc})") from None
    names = [str(c) for c in df.columns]
    code, area = _field(names, _CODE_FIELDS, where), _field(names, _AREA_FIELDS, where)
    out: dict[str, float] = {}
    for i, (c, a) in enumerate(zip(df[code], df[area], strict=True), start=1):
        try:
            value = float(a)
        except (TypeError, ValueError):
            raise ValidationError(f"{where} row {i}: {area} {a!r} is not a number of hectares") from None
        key = str(c).strip().upper()
        out[key] = out.get(key, 0.0) + value
    return out


def find_declared_balance(dossier: Path) -> dict[str, float] | None:
    """The declared table of a dossier folder (its GeoPackages, then a CSV), or None when it declares none."""
    for gpkg in sorted(dossier.rglob("*.gpkg")):
        if DECLARED_LAYER in {name for name, _ in pyogrio.list_layers(gpkg)}:
            return read_declared_balance(gpkg)
    for csv_path in sorted(dossier.rglob(f"{DECLARED_LAYER}.csv")):
        return read_declared_balance(csv_path, None)
    return None
