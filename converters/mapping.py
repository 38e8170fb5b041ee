"""Attribute mapping: profiles (YAML) from source fields to the data model, land-use codes old and new."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from converters.encoding import to_unicode
from converters.errors import ConverterError
from gis_service.model import LAYERS, TT16_FIELDS

__all__ = ["KINDS", "TABLE_OF", "CodeBook", "FieldMap", "Profile", "load_profile"]

#: Kinds of features and the table each goes to (plan-boundary goes to the plan's own geometry).
TABLE_OF: dict[str, str] = {layer.kind: layer.name for layer in LAYERS.values()}
KINDS = tuple(TABLE_OF)
POLYGON_KINDS = tuple(layer.kind for layer in LAYERS.values() if layer.is_polygonal)

# Column types of the model, for coercing source values.
_IMPORTED = [c for layer in LAYERS.values() for c in layer.imported()]
INT_COLUMNS = {c.name for c in _IMPORTED if c.type == "integer"}
NUM_COLUMNS = {c.name for c in _IMPORTED if c.type == "number"}
#: Plain text: no code to map, no number or range to check.
TEXT_COLUMNS = {c.name for c in _IMPORTED if c.type == "string" and c.name != "land_use_code"}


@dataclass
class Profile:
    """Which layer is which kind, and which source field fills which column."""

    name: str
    layers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)
    building_key: list[str] = field(default_factory=list)
    cad_layers: list[dict[str, str]] = field(default_factory=list)
    scan_colours: dict[str, str] = field(default_factory=dict)

    def merged(self, other: Profile) -> Profile:
        """``other`` first (a user profile overrides the built-in one), then this."""
        fields = {k: dict(v) for k, v in self.fields.items()}
        for kind, cols in other.fields.items():
            for col, names in cols.items():
                fields.setdefault(kind, {})[col] = list(names) + [
                    n for n in fields.get(kind, {}).get(col, []) if n not in names
                ]
        return Profile(
            name=f"{other.name}+{self.name}",
            layers={**self.layers, **other.layers},
            fields=fields,
            attributes=list(dict.fromkeys(other.attributes + self.attributes)),
            building_key=other.building_key + self.building_key,
            cad_layers=other.cad_layers + self.cad_layers,
            scan_colours={**self.scan_colours, **other.scan_colours},
        )

    def kind_of_layer(self, layer: str) -> str | None:
        """What a source layer holds, by its name (case-insensitive); ``None`` when the profile does not name it."""
        for name, kind in self.layers.items():
            if name.lower() == layer.lower():
                return kind
        return None

    def cad_rule(self, layer: str) -> dict[str, str] | None:
        """The first CAD layer rule whose pattern matches the whole layer name (case-insensitive)."""
        for rule in self.cad_layers:
            if re.fullmatch(rule["pattern"], layer, flags=re.IGNORECASE):
                return rule
        return None


def _profile_from_dict(data: Mapping[str, Any], where: str) -> Profile:
    if not isinstance(data, Mapping):
        raise ConverterError(f"mapping profile {where}: expected a YAML mapping with 'layers' and 'fields'")
    layers = {str(k): str(v) for k, v in (data.get("layers") or {}).items()}
    bad = {k: v for k, v in layers.items() if v not in KINDS and v != "ignore"}
    if bad:
        raise ConverterError(f"mapping profile {where}: unknown kinds {bad}; known: {', '.join(KINDS)}")
    fields: dict[str, dict[str, list[str]]] = {}
    for kind, cols in (data.get("fields") or {}).items():
        if kind not in KINDS:
            raise ConverterError(
                f"mapping profile {where}: 'fields' has unknown kind {kind!r}; known: {', '.join(KINDS)}"
            )
        fields[kind] = {str(c): [str(n) for n in (v if isinstance(v, list) else [v])] for c, v in (cols or {}).items()}
    cad = [dict(r) for r in data.get("cad_layers") or []]
    for rule in cad:
        try:
            re.compile(rule["pattern"])
        except (KeyError, re.error) as exc:
            raise ConverterError(f"mapping profile {where}: bad cad_layers pattern {rule!r}: {exc}") from None
    return Profile(
        name=str(data.get("name") or where),
        layers=layers,
        fields=fields,
        attributes=[str(a) for a in data.get("attributes") or []],
        building_key=[str(a) for a in data.get("building_key") or []],
        cad_layers=cad,
        scan_colours={str(k): str(v) for k, v in (data.get("scan_colours") or {}).items()},
    )


def catalogue_profile() -> Profile:
    """The layer and field names of the catalogue (TT 16/2025 first, then cadastral and older names)."""
    return Profile(
        name="catalogue",
        layers={source: layer.kind for layer in LAYERS.values() for source in layer.source_layers},
        attributes=list(TT16_FIELDS),  # the TT 16/2025 mandatory fields, kept in ``attributes`` whatever is mapped
        fields={
            layer.kind: {c.name: list(c.source_fields) for c in layer.imported() if c.source_fields}
            for layer in LAYERS.values()
        },
    )


def builtin_profile() -> Profile:
    """The catalogue's names, the TT 16/2025 attributes kept and the CAD layer-name profile together."""
    base = catalogue_profile()
    for name in ("tt16_2025.yaml", "cad_layers.yaml"):
        text = (files("converters") / "profiles" / name).read_text(encoding="utf-8")
        base = _profile_from_dict(yaml.safe_load(text), name).merged(base)
    return base


def load_profile(path: Path | None) -> Profile:
    """The built-in profile, extended and overridden by a user's YAML file when given."""
    base = builtin_profile()
    if path is None:
        return base
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConverterError(f"cannot read the mapping profile {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConverterError(f"mapping profile {path} is not valid YAML: {exc}") from None
    return base.merged(_profile_from_dict(data, str(path)))


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower())


@dataclass
class FieldMap:
    """The resolved mapping of one layer: column → source field, and the fields kept in ``attributes``."""

    columns: dict[str, str]
    kept: list[str]

    @classmethod
    def resolve(cls, profile: Profile, kind: str, source_fields: Sequence[str]) -> FieldMap:
        """Match a layer's source fields to the columns of ``kind``, by the profile's names in order.

        Names are compared without case, accents or punctuation; each source field fills one column at most, and
        the fields left over (or listed in the profile's ``attributes``) are kept.
        """
        by_norm = {_norm(f): f for f in source_fields}
        # dBase (shapefile) field names are cut at 10 characters: matDoXayDung arrives as matDoXayDu
        cut = {_norm(f): f for f in source_fields if len(f) == 10}
        columns: dict[str, str] = {}
        for col, names in profile.fields.get(kind, {}).items():
            for n in names:
                key = _norm(n)
                found = by_norm.get(key) or (cut.get(key[:10]) if len(key) > 10 else None)
                if found and found not in columns.values():
                    columns[col] = found
                    break
        used = set(columns.values())
        kept = [f for f in source_fields if f not in used or f in profile.attributes]
        return cls(columns, kept)


def _cleaned(value: Any) -> Any:
    """A source value with text stripped; ``None`` for no value, NaN or blank text. Bytes are read as Latin-1."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        return value.strip() or None
    return value


def _whole(value: Any) -> int:
    """A whole number (``5``, ``"5,0"``); ValueError for a fraction or garbage."""
    if isinstance(value, str):
        value = value.replace(",", ".")
    f = float(value)
    if not f.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(f)


def _measure(value: Any) -> float | None:
    """A number, a trailing unit (``%``, ``m``) dropped and a decimal comma read as a point; ``None`` for NaN."""
    if isinstance(value, str):
        value = value.rstrip("%m ").replace(",", ".")
    f = float(value)
    if math.isnan(f):
        return None
    return f


def coerce(column: str, value: Any) -> Any:
    """A source value as the column's type; ``None`` for empty; raises ValueError for garbage."""
    value = _cleaned(value)
    if value is None:
        return None
    if column in INT_COLUMNS:
        return _whole(value)
    if column in NUM_COLUMNS:
        return _measure(value)
    return str(value) if not isinstance(value, str) else value


def jsonable(value: Any) -> Any:
    """A value fit for the ``attributes`` JSON (numpy scalars, dates, bytes)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass
class CodeBook:
    """Current and legacy land-use codes (from the database), and what was mapped during an import."""

    current: set[str]
    legacy: dict[str, str]
    names: dict[str, str]
    mapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_rows(cls, codes: Iterable[tuple[str, str]], legacy: Iterable[tuple[str, str]]) -> CodeBook:
        """A code book from the database's rows: (code, Vietnamese name) and (legacy code, current code)."""
        current: set[str] = set()
        names: dict[str, str] = {}
        for code, name in codes:
            current.add(code)
            names[_norm(name)] = code
        return cls(current, dict(legacy), names)

    def map(self, raw: Any, count: int = 1) -> str | None:
        """The current code for a source value (code, legacy code or Vietnamese name) that ``count`` features hold;
        records what it did."""
        if raw is None:
            return None
        text = to_unicode(str(raw).strip())[0]
        if not text:
            return None
        code = text.upper()
        if code in self.current:
            return code
        if code in self.legacy:
            self.mapped[(code, self.legacy[code])] += count
            return self.legacy[code]
        by_name = self.names.get(_norm(text))
        if by_name:
            self.mapped[(text, by_name)] += count
            return by_name
        self.unknown[text] += count
        return None
