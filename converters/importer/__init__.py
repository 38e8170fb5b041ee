"""The import: read → CRS to EPSG:9214 → map attributes → repair → write, all in one transaction.

A re-import of a plan makes a new version (``based_on_id`` the previous one, which stays as it was); importing the
very same files again (same SHA-256) changes nothing and says so, unless ``new_version`` is asked for. Parcels are
keyed by ward, sheet and parcel number and buildings by their source id: a re-import updates what changed (recorded
in the history) and adds what is new.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard, cast

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection, Engine

from converters.base_map import import_base_map_layer
from converters.crs import (
    STORAGE_EPSG,
    SourceCRS,
    check_in_vietnam,
    parse_crs,
    recognise_crs,
    serving_coordinates,
    to_storage,
)
from converters.encoding import to_unicode
from converters.errors import ConverterError, EmptyLayer, MissingCRS, UnknownCodes
from converters.geometry import normalise
from converters.mapping import (
    NUM_COLUMNS,
    TABLE_OF,
    TEXT_COLUMNS,
    CodeBook,
    FieldMap,
    Profile,
    coerce,
    jsonable,
    load_profile,
)
from converters.pgcopy import BIN, Const, copy_encoded, encode_rows, numeric, table_types
from converters.prefetch import prefetch
from converters.report import ImportReport, LayerReport
from converters.sources import ArrowFields, Batch, SourceLayer, find_sources, layer_info, read_vector
from converters.wkb import copy_shapes
from gis_service.editing import change_context
from gis_service.file_digest import Digest
from gis_service.file_digest import sha256 as file_sha256

__all__ = ["ImportOptions", "import_path"]

ProgressFn = Callable[[str, int, int | None], None]

COLUMNS: dict[str, list[str]] = {
    "zones": [
        "zone_code", "name", "land_use_code", "max_density_pct", "max_floors", "min_floors", "max_height_m",
        "max_far", "min_setback_m", "min_ground_elev_m", "heritage_zone", "notes",
    ],
    "parcels": ["ward", "ward_code", "sheet_no", "parcel_no", "area_m2", "land_use_code", "address"],
    "buildings": ["name", "floors", "basement_floors", "height_m", "land_use_code"],
    "red-lines": ["road_name", "red_line_width_m", "notes"],
    "building-lines": ["road_name", "red_line_width_m", "setback_m", "notes"],
    "plan-boundary": [],
}  # fmt: skip
REQUIRED = {"zones": ["land_use_code"], "parcels": ["ward", "sheet_no", "parcel_no"]}
RANGES = {
    "max_density_pct": (0, 100),
    "max_floors": (0, 200),
    "min_floors": (0, 200),
    "floors": (0, 200),
    "basement_floors": (0, 20),
    "max_height_m": (0, 1000),
    "height_m": (0, 1000),
    "max_far": (0, 100),
    "min_setback_m": (0, 1000),
    "setback_m": (0, 1000),
    "red_line_width_m": (0.01, 1000),
    "area_m2": (0, 1e9),
    "sheet_no": (1, 1e9),
    "parcel_no": (1, 1e9),
}
PLAN_KINDS = ("zones", "red-lines", "building-lines", "plan-boundary")
POLYGONAL_KINDS = ("zones", "parcels", "buildings")
#: Columns the plan's table of bulk zones has as defaults during the load, so they are not sent with every row.
BULK_DEFAULTS = ("plan_id", "created_by", "updated_by")
ORDER = ("plan-boundary", "zones", "red-lines", "building-lines", "parcels", "buildings", "map-features")
LEVEL_OF = {"QHC": "general", "QPK": "zoning", "QCT": "detailed", "QSD": "land_use"}
SCALE_OF = {"general": 10000, "zoning": 2000, "detailed": 500, "land_use": 10000}
MAX_LISTED_ERRORS = 20


@dataclass(kw_only=True)
class ImportOptions:
    """What to import and how. ``plan`` is the plan's code (maHoSoQH), needed for plan layers."""

    plan: str | None = None
    kind: str | None = None
    mapping: Path | None = None
    src_crs: str | None = None
    dry_run: bool = False
    allow_unknown_codes: bool = False
    plan_name: str | None = None
    plan_level: str | None = None
    scale: int | None = None
    decision_no: str | None = None
    decision_date: date | None = None
    new_version: bool = False
    user: str = "importer"
    reason: str | None = None
    batch_size: int = 50_000
    check_quality: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    digest: Digest | None = None  # the source files' SHA-256, begun beforehand (gis_service.file_digest.start)


def _codebook(conn: Connection) -> CodeBook:
    codes = conn.execute(sa.text("SELECT code, name_vi FROM planning.land_use_codes")).all()
    legacy = conn.execute(sa.text("SELECT legacy_code, code FROM planning.legacy_land_use_codes")).all()
    return CodeBook.from_rows([(c, n) for c, n in codes], [(a, b) for a, b in legacy])


def _plan_level(code: str, given: str | None) -> str:
    if given:
        if given not in SCALE_OF:
            raise ConverterError(f"unknown plan level {given!r}: expected one of {', '.join(SCALE_OF)}")
        return given
    level = LEVEL_OF.get(code[2:5])
    if level is None:
        raise ConverterError(
            f"cannot tell the level of plan {code} from its code: give --level ({', '.join(SCALE_OF)})"
        )
    return level


def _ensure_plan(conn: Connection, opts: ImportOptions, sha: str, report: ImportReport) -> int | None:
    code = (opts.plan or "").strip().upper()
    if not re.fullmatch(r"[0-9]{2}[A-Z]{3}[0-9]{7}", code):
        raise ConverterError(
            f"plan code {opts.plan!r} is not a TT 16/2025 maHoSoQH: 2-digit province (Huế 46) + QHC/QPK/QCT + "
            "7 digits, e.g. 46QPK0000001"
        )
    latest = conn.execute(
        sa.text(
            "SELECT id, version, name, status, attributes->>'source_sha256' FROM planning.plans "
            "WHERE code = :c ORDER BY version DESC LIMIT 1"
        ),
        {"c": code},
    ).first()
    if latest is not None and latest[4] == sha and not opts.new_version:
        report.plan = {"id": latest[0], "code": code, "version": latest[1], "status": latest[3], "action": "unchanged"}
        report.skipped = (
            f"plan {code} version {latest[1]} already holds these very files (same SHA-256): nothing imported "
            "(--new-version imports them again as a new version)"
        )
        return None
    level = _plan_level(code, opts.plan_level)
    version = latest[1] + 1 if latest is not None else 1
    name = opts.plan_name or (latest[2] if latest is not None else f"Quy hoạch {code}")
    attrs = {"source_sha256": sha, "source": report.source}
    row = conn.execute(
        sa.text(
            "INSERT INTO planning.plans (code, name, level, scale_denominator, version, based_on_id, decision_no, "
            "decision_date, attributes) VALUES (:code, :name, :level, :scale, :version, :based, :dno, :ddate, "
            "CAST(:attrs AS jsonb)) RETURNING id, status"
        ),
        {
            "code": code,
            "name": name,
            "level": level,
            "scale": opts.scale or SCALE_OF[level],
            "version": version,
            "based": latest[0] if latest is not None else None,
            "dno": opts.decision_no,
            "ddate": opts.decision_date,
            "attrs": json.dumps(attrs),
        },
    ).one()
    action = f"new version (based on version {latest[1]}, which is kept)" if latest is not None else "created"
    report.plan = {"id": row[0], "code": code, "version": version, "status": row[1], "action": action}
    return int(row[0])


def _zone_geometry_columns(geoms: np.ndarray) -> list[Any]:
    """The geometry columns of bulk zones: EWKB in EPSG:9214, its lon/lat and Web Mercator copies (the same shapes
    with their points replaced, ``converters.wkb``), and the area in m²."""
    shapes = copy_shapes(geoms)
    lonlat, merc = serving_coordinates(shapes.coordinates())
    return [shapes.field(STORAGE_EPSG), shapes.field(4326, lonlat), shapes.field(3857, merc), shapely.area(geoms)]


def _zone_partition(plan_id: int) -> str:
    return f"planning.zones_plan_{int(plan_id)}"


class _Writer:
    """Rows of one layer into its table: COPY, in batches, inside the import's transaction.

    Zones of a plan version go in bulk into a table of their own (``planning.zones_plan_<id>``, a copy of the
    columns and checks of ``planning.zones``), with their serving columns computed here; ``_attach_zones`` then
    builds its indexes and attaches it as the plan's partition (migration 0004 says why).
    """

    def __init__(self, conn: Connection, kind: str, plan_id: int | None, columns: list[str], user: str) -> None:
        self.conn = conn
        self.kind = kind
        self.table = TABLE_OF[kind]
        self.plan_id = plan_id
        self.columns = [*list(columns), "source", "attributes", "geom"]
        if kind in ("zones", "red-lines", "building-lines"):
            self.columns = ["plan_id", *self.columns]
        self.staged = kind in ("parcels", "buildings")
        self.bulk = kind == "zones" and plan_id is not None
        self.target = f"import_{self.table}" if self.staged else f"planning.{self.table}"
        if self.bulk:
            assert plan_id is not None
            self.target = _zone_partition(plan_id)
            self.columns += ["geom_4326", "geom_3857", "geom_area_m2", "created_by", "updated_by"]
            self.user = user
            if self._exec("SELECT to_regclass(:t)", {"t": self.target}).scalar() is None:
                self._create_partition(plan_id)
        if self.staged:
            extra = ", NULL::text AS source_key" if kind == "buildings" else ""
            self._exec(
                f"CREATE TEMP TABLE import_{self.table} ON COMMIT DROP AS "
                f"SELECT {', '.join(self.columns)}{extra} FROM planning.{self.table} WITH NO DATA"
            )
            if kind == "buildings":
                self.columns.append("source_key")
        self.raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        self.types = table_types(self.raw, self.target)
        missing = [c for c in self.columns if c not in self.types]
        if missing:  # pragma: no cover - the model and this module disagree
            raise TypeError(f"{self.target} has no column {', '.join(missing)}")

    def _create_partition(self, plan_id: int) -> None:
        """The plan's table: the columns and checks of ``planning.zones``, and a check that every row is the plan's.

        Keys and indexes come after the load (``_attach_zones``): PostgreSQL then builds each index in one pass.
        Kept up row by row during the load they cost the server far more (per million zones: foreign keys 11 s,
        against 0.6 s for one query each after the load and nothing added NOT VALID (migration 0007); the two
        spatial indexes of then 17 s against 3 s). The ``plan_id`` check spares ATTACH its scan of the rows."""
        part, pid = self.target, int(plan_id)
        name = part.split(".")[1]
        self._exec(f"CREATE TABLE {part} (LIKE planning.zones INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        # The checks this importer makes itself are added after the load, unchecked by the server (_attach_zones)
        for check in _importer_checks(self.conn):
            self._exec(f"ALTER TABLE {part} DROP CONSTRAINT IF EXISTS {check}")
        self._exec(
            f"ALTER TABLE {part} ADD CONSTRAINT {name}_plan_id_check CHECK (plan_id IS NOT NULL AND plan_id = {pid})"
        )
        user = self._exec("SELECT quote_literal(:u)", {"u": self.user}).scalar_one()
        defaults = {"plan_id": str(pid), "created_by": user, "updated_by": user}
        assert set(defaults) == set(BULK_DEFAULTS)
        self._exec(f"ALTER TABLE {part} " + ", ".join(f"ALTER {c} SET DEFAULT {v}" for c, v in defaults.items()))

    def _exec(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.conn.execute(sa.text(sql), params or {})

    def encode(self, columns: list[str], values: list[Any], n: int) -> pa.Buffer:
        """Rows for :meth:`copy` (no database: the reading thread encodes a batch while another is copied)."""
        return encode_rows([self.types[c] for c in columns], columns, values, n)

    def copy(self, columns: list[str], rows: pa.Buffer, fids: list[Any], label: str) -> None:
        try:
            copy_encoded(self.raw, self.target, columns, rows)
        except psycopg.Error as exc:
            raise _row_error(exc, fids, label) from None

    def finish(self, lr: LayerReport) -> None:
        cols = [c for c in self.columns if c != "source_key"]
        cl = ", ".join(cols)
        if self.kind == "parcels":
            dup = self._exec(
                "SELECT ward, sheet_no, parcel_no, count(*) FROM import_parcels GROUP BY 1, 2, 3 HAVING count(*) > 1 "
                "ORDER BY 1, 2, 3 LIMIT 20"
            ).all()
            if dup:
                listed = "; ".join(f"{w} sheet {s} parcel {p} ({n}×)" for w, s, p, n in dup)
                raise ConverterError(f"{lr.source}: the same parcel appears more than once: {listed}")
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
            row = self._exec(
                f"WITH up AS (INSERT INTO planning.parcels AS t ({cl}) SELECT {cl} FROM import_parcels "
                f"ON CONFLICT (ward, sheet_no, parcel_no) DO UPDATE SET {sets} "
                f"WHERE {_changed(cols, 't', 'EXCLUDED')} "
                "RETURNING (xmax = 0) AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
            ).one()
            lr.written, lr.updated = int(row[0]), int(row[1])
            lr.unchanged = lr.read - lr.dropped_total - lr.written - lr.updated
        elif self.kind == "buildings":
            self._exec(
                "UPDATE import_buildings s "
                "SET attributes = s.attributes || jsonb_build_object('source_key', s.source_key) "
                "WHERE s.source_key IS NOT NULL"
            )
            # the building stands on the parcel holding a point of its footprint
            cols2 = [*cols, "parcel_id"]
            self._exec("ALTER TABLE import_buildings ADD COLUMN parcel_id bigint")
            self._exec(
                "UPDATE import_buildings s SET parcel_id = p.id FROM planning.parcels p "
                "WHERE p.geom && s.geom AND ST_Contains(p.geom, ST_PointOnSurface(s.geom))"
            )
            cl2 = ", ".join(cols2)
            updated = self._exec(
                f"UPDATE planning.buildings t SET ({cl2}) = (SELECT {', '.join('s.' + c for c in cols2)}) "
                "FROM import_buildings s WHERE s.source_key IS NOT NULL AND t.attributes->>'source_key' = s.source_key "
                f"AND {_changed(cols2, 't', 's')}"
            ).rowcount
            inserted = self._exec(
                f"INSERT INTO planning.buildings ({cl2}) "
                f"SELECT {', '.join('s.' + c for c in cols2)} FROM import_buildings s "
                "WHERE s.source_key IS NULL OR NOT EXISTS (SELECT 1 FROM planning.buildings t "
                "WHERE t.attributes->>'source_key' = s.source_key)"
            ).rowcount
            lr.written, lr.updated = int(inserted), int(updated)
            lr.unchanged = lr.read - lr.dropped_total - lr.written - lr.updated


def _changed(cols: list[str], old: str, new: str) -> str:
    """SQL: the row's content changed. Where it came from (file name, feature id) is not a change of the parcel."""
    content = [c for c in cols if c not in ("source", "attributes")]
    return (
        f"(({', '.join(f'{old}.{c}' for c in content)}, {old}.attributes - 'source_fid') IS DISTINCT FROM "
        f"({', '.join(f'{new}.{c}' for c in content)}, {new}.attributes - 'source_fid'))"
    )


def _row_error(exc: psycopg.Error, fids: list[Any], label: str) -> ConverterError:
    diag = exc.diag
    msg = (diag.message_primary or str(exc)).strip()
    m = re.search(r"line (\d+)", diag.context or "")
    where = label
    if m and int(m.group(1)) - 1 < len(fids):
        where = f"{label}, feature {fids[int(m.group(1)) - 1]}"
    if diag.constraint_name:
        msg += f" (rule {diag.constraint_name})"
    return ConverterError(f"{where}: the database refused it: {msg}")


def _source_crs(batch: Batch, src: SourceLayer, opts: ImportOptions, report: ImportReport) -> SourceCRS:
    file_crs = batch.crs_wkt
    if opts.src_crs:
        crs = parse_crs(opts.src_crs)
        if file_crs and not CRS.from_user_input(file_crs).equals(crs, ignore_axis_order=True):
            report.warn(f"{src.label}: --src-crs {opts.src_crs} overrides the file's own CRS")
        return SourceCRS(crs, f"--src-crs {opts.src_crs}")
    if not file_crs:
        why = "CAD drawings never carry one" if src.fmt in ("dxf", "dgn") else "no .prj or CRS in the file"
        raise MissingCRS(
            f"{src.label} has no coordinate reference system ({why}): "
            "give it with --src-crs, e.g. --src-crs EPSG:9214 (VN-2000 / TM-3 107-00, Huế) or vn2000:107.75"
        )
    sc = recognise_crs(CRS.from_user_input(file_crs))
    if sc.warning:
        report.warn(f"{src.label}: {sc.warning}")
    return sc


class _ValueErrors:
    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []
        self.count = 0

    def add(self, fid: Any, msg: str) -> None:
        self.count += 1
        if len(self.items) < MAX_LISTED_ERRORS:
            self.items.append(f"feature {fid}: {msg}")

    def add_rows(self, fids: np.ndarray, msg: str) -> None:
        """The same bad value in several features."""
        for fid in fids[: max(0, MAX_LISTED_ERRORS - len(self.items))].tolist():
            self.items.append(f"feature {fid}: {msg}")
        self.count += len(fids)

    def raise_if_any(self) -> None:
        if self.count:
            more = f" (and {self.count - len(self.items)} more)" if self.count > len(self.items) else ""
            raise ConverterError(f"{self.label}: bad values, nothing imported: {'; '.join(self.items)}{more}")


class _TextState:
    """Per source field: once 2,000 distinct non-ASCII values needed no conversion, the field is taken as Unicode."""

    SETTLE_AFTER = 2000

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.converted: Counter[str] = Counter()

    def settled(self, name: str) -> bool:
        """The field is taken as Unicode: its values need no look any more."""
        return self.seen[name] >= self.SETTLE_AFTER and not self.converted[name]

    def convert(self, name: str, v: str, lr: LayerReport, count: int = 1) -> str:
        """``v`` in Unicode; ``count`` features hold it (the report counts features)."""
        if self.seen[name] >= self.SETTLE_AFTER and not self.converted[name]:
            return v
        self.seen[name] += 1
        out, enc = to_unicode(v)
        if enc:
            self.converted[name] += count
            lr.encodings[enc] += count
        return str(out)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's index among the distinct values, and the distinct values (found by hashing, in first-seen order).

    The per-value work of a batch (decoding legacy text, mapping codes, checking ranges) is then done once per
    distinct value: a million zones hold a few dozen codes, densities and floor counts.
    """
    idx, uniq = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(idx, dtype=np.intp), np.asarray(uniq)


def _field_codes(batch: Batch, name: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_factorize` of the kept features' values of a source field. A text field that Arrow holds is
    dictionary-encoded by Arrow, in C: no Python object per feature (a text field of a million zones cost 0.8 s
    through numpy and pandas, where its few distinct values need a handful)."""
    if isinstance(batch.fields, ArrowFields) and _is_text(arr := _arrow_values(batch, name, keep)):
        enc = arr.dictionary_encode(null_encoding="encode")
        uniq = np.empty(len(enc.dictionary), dtype=object)
        uniq[:] = enc.dictionary.to_pylist()
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.intp), uniq
    return _factorize(np.asarray(batch.fields[name][keep]))


def _is_text(arr: object) -> TypeGuard[pa.Array]:
    """An Arrow array of text."""
    return isinstance(arr, pa.Array) and arr.type in (pa.string(), pa.large_string())


#: Batches at least this long have their GEOS reading and validity checks split between two threads.
SPLIT_GEOS_AT = 20_000


def _in_two(pool: ThreadPoolExecutor, fn: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
    """``fn`` over ``values``: the second half in ``pool``'s thread, the first here. For shapely's vectorised
    functions, which release the GIL: reading a million zones' WKB and checking their validity take 1.6 s of one
    thread, the longest step of a batch before its rows can be encoded."""
    if len(values) < SPLIT_GEOS_AT:
        return fn(values)
    mid = len(values) // 2
    second = pool.submit(fn, values[mid:])
    first = fn(values[:mid])
    return np.concatenate([first, second.result()])


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _source_values(batch: Batch, fmap: FieldMap, col: str, keep: np.ndarray) -> np.ndarray | None:
    """The kept features' source values for a model column (preset by a CAD or scan reader, or a mapped field)."""
    if batch.preset is not None and col in batch.preset:
        vals = np.empty(len(keep), dtype=object)
        vals[:] = [batch.preset[col][i] for i in keep]
        return vals
    if col in fmap.columns:
        return np.asarray(batch.fields[fmap.columns[col]][keep])
    return None


def _none(values: np.ndarray | pa.Array) -> np.ndarray:
    """True where a value is None (compared element by element in C)."""
    if isinstance(values, pa.Array):
        nulls: np.ndarray = values.is_null().to_numpy(zero_copy_only=False)
        return nulls
    out: np.ndarray = np.equal(values, cast(Any, None))
    return out


def _rows(values: np.ndarray | pa.Array, which: np.ndarray) -> np.ndarray | pa.Array:
    """The values of the features at ``which`` (sorted indexes)."""
    if len(which) == len(values):  # all of them (sorted indexes, none twice)
        return values
    if isinstance(values, pa.Array):
        return values.take(pa.array(which))
    out: np.ndarray = values[which]
    return out


#: What ``str.strip()`` takes off (``str.isspace``): Unicode's white space and the four information separators.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _arrow_text(batch: Batch, fmap: FieldMap, col: str, keep: np.ndarray) -> pa.Array | None:
    """A text column whose field is known to be Unicode, straight from Arrow: stripped, empty → NULL (what
    ``coerce`` does to each), without a Python object per value. None when the field is not Arrow text."""
    name = fmap.columns.get(col)
    if name is None or not isinstance(batch.fields, ArrowFields) or (batch.preset and col in batch.preset):
        return None
    arr = _arrow_values(batch, name, keep)
    if not _is_text(arr):
        return None
    trimmed = pc.utf8_trim(arr.cast(pa.large_string()), characters=PY_WHITESPACE)
    out: pa.Array = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)
    return out


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.where(_none(values), np.nan, values).astype(float)


def _column_values(
    batch: Batch,
    kind: str,
    fmap: FieldMap,
    codes: CodeBook,
    lr: LayerReport,
    errors: _ValueErrors,
    keep: np.ndarray,
    text: _TextState,
    unmapped: set[str],
) -> dict[str, Any]:
    """Mapped, converted and checked values of each model column for the kept features (object arrays, or Arrow
    arrays for plain text; numeric columns encoded for binary COPY, once per distinct value). Columns no source
    field feeds go in ``unmapped``."""
    n = len(keep)
    out: dict[str, Any] = {}
    fids = batch.fids[keep]
    for col in COLUMNS[kind]:
        if col in TEXT_COLUMNS and text.settled(col) and (plain := _arrow_text(batch, fmap, col, keep)) is not None:
            out[col] = plain
            continue
        field_name = fmap.columns.get(col, col)
        if (batch.preset is None or col not in batch.preset) and col in fmap.columns and col not in TEXT_COLUMNS:
            idx, uniq = _field_codes(batch, field_name, keep)  # codes, numbers: a few distinct values
        else:
            vals = _source_values(batch, fmap, col, keep)
            if vals is None:
                out[col] = np.full(n, None, dtype=object)
                unmapped.add(col)
                continue
            if col in TEXT_COLUMNS and vals.dtype == object and text.settled(col):
                # Plain text once the field is known to be Unicode: names and zone codes are mostly all different,
                # so hashing them buys nothing; each is stripped (empty → NULL) as coerce does.
                res_text = np.empty(n, dtype=object)
                res_text[:] = [(v.strip() or None) if type(v) is str else coerce(col, v) for v in vals.tolist()]
                out[col] = res_text
                continue
            idx, uniq = _factorize(vals)
        counts = np.bincount(idx, minlength=len(uniq))
        res = np.empty(len(uniq), dtype=object)
        settled = text.settled(col)
        for u in range(len(uniq)):
            v = uniq[u]
            if not settled and isinstance(v, str) and not v.isascii():
                v = text.convert(col, v, lr, int(counts[u]))
                settled = text.settled(col)
            if col == "land_use_code":
                res[u] = None if _is_null(v) else codes.map(v, count=int(counts[u]))
                continue
            try:
                cv = coerce(col, v)
            except (TypeError, ValueError) as exc:
                errors.add_rows(fids[idx == u], f"{field_name} = {v!r} is not valid for {col} ({exc})")
                continue
            if cv is not None and col in RANGES:
                lo, hi = RANGES[col]
                if not lo <= cv <= hi:
                    errors.add_rows(fids[idx == u], f"{field_name} = {cv} is outside {lo:g}–{hi:g} ({col})")
            res[u] = numeric(Decimal(repr(cv))) if cv is not None and col in NUM_COLUMNS else cv
        out[col] = res[idx]
    if kind == "zones" and not {"min_floors", "max_floors"} & unmapped:  # both given: min at most max
        mn, mx = out["min_floors"], out["max_floors"]
        for i in np.flatnonzero(_as_float(mn) > _as_float(mx)):
            errors.add(fids[i], f"min floors {mn[i]} above max floors {mx[i]}")
    return out


def _code_pairs(raw: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each feature's (source code, stored code) pair as an index among the distinct pairs, and for each distinct
    pair: whether the stored code is another than the source's (both given, not the same but for case), and the
    ``source_land_use_code`` JSON member of its source code (None where it has none). Worked out once per pair, not
    per feature: a million zones hold a dozen pairs, and the loops over the features cost 0.7 s."""
    ri, ru = _factorize(raw)
    ci, cu = _factorize(code)
    width = max(len(cu), 1)
    pair, uniq = _factorize(ri.astype(np.int64) * width + ci)
    changed = np.zeros(len(uniq), dtype=bool)
    member = np.full(len(uniq), None, dtype=object)
    for k, key in enumerate(uniq.tolist()):
        r, c = ru[key // width], cu[key % width]
        if _is_null(r):
            continue
        member[k] = '"source_land_use_code": ' + json.dumps(r, ensure_ascii=False)
        changed[k] = not _is_null(c) and r.upper() != c
    return pair, changed, member


def _raw_codes(batch: Batch, fmap: FieldMap, keep: np.ndarray) -> np.ndarray:
    """The land-use code as written in the source (Unicode, stripped), or None, for each kept feature."""
    if batch.preset is not None and "land_use_code_raw" in batch.preset:
        out = np.empty(len(keep), dtype=object)
        out[:] = [None if (v := batch.preset["land_use_code_raw"][i]) is None else str(v) for i in keep]
        return out
    name = fmap.columns.get("land_use_code")
    if name is None:
        return np.full(len(keep), None, dtype=object)
    idx, uniq = _field_codes(batch, name, keep)
    res = np.empty(len(uniq), dtype=object)
    for u in range(len(uniq)):
        v = uniq[u]
        res[u] = None if _is_null(v) or str(v).strip() == "" else to_unicode(str(v).strip())[0]
    out_codes: np.ndarray = res[idx]
    return out_codes


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


_JSON_ESCAPED = r'["\\\x00-\x1f]'  # what json.dumps(ensure_ascii=False) writes other than as it is


def _arrow_values(batch: Batch, name: str, keep: np.ndarray) -> np.ndarray | pa.Array:
    """The kept features' values of a source field: as Arrow gave them when it did, else as numpy."""
    if isinstance(batch.fields, ArrowFields):
        arr = batch.fields.arrow(name)
        return arr if len(keep) == len(arr) else arr.take(pa.array(keep))  # keep is sorted: all, or some left out
    return np.asarray(batch.fields[name][keep])


def _text_members(name: str, values: np.ndarray | pa.Array) -> pa.Array | None:
    """``"name": "value", `` for each value of a text field taken as Unicode (empty where it has none), built by
    Arrow: most names in a plan file are all different, and json.dumps of each cost about 1 µs. None if the field
    holds something other than text."""
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not _is_text(arr):  # numbers, bytes (jsonable reads those as Latin-1)
        return None
    arr = arr.cast(pa.large_string())
    escaped = pc.match_substring_regex(arr, _JSON_ESCAPED).fill_null(False)
    key = _text(json.dumps(name, ensure_ascii=False) + ': "')
    member = pc.binary_join_element_wise(key, arr, _text('", '), _text(""))
    if pc.any(escaped).as_py():  # quotes, backslashes, control characters: as json.dumps writes them
        which = np.flatnonzero(escaped.to_numpy(zero_copy_only=False))
        texts = arr.take(pa.array(which)).to_pylist()
        exact = [json.dumps(name, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False) + ", " for v in texts]
        mask = np.zeros(len(arr), dtype=bool)
        mask[which] = True
        member = pc.replace_with_mask(member, pa.array(mask), pa.array(exact, pa.large_string()))
    out: pa.Array = member.fill_null("")
    return out


def _attributes(
    batch: Batch, fmap: FieldMap, keep: np.ndarray, lr: LayerReport, text: _TextState, more: np.ndarray
) -> pa.Array:
    """The ``attributes`` JSON of each kept feature, as binary COPY jsonb fields: the source fields kept (each
    distinct value encoded once), ``source_fid``, a reader's own attributes, and ``more`` (a JSON member or None per
    feature). Later members win over earlier ones of the same name, as in the JSON's meaning for PostgreSQL.

    Arrow joins the members row by row. Each member carries its own comma (those before ``source_fid``, which every
    feature has, end with one; those after it start with one), and a member a feature lacks is empty."""
    parts: list[pa.Array | pa.Scalar] = [_text("\x01{")]  # jsonb's format version, then the document
    for name in fmap.kept:
        if name not in batch.fields:
            continue
        if text.settled(name) and (member := _text_members(name, _arrow_values(batch, name, keep))) is not None:
            parts.append(member)
            continue
        idx, uniq = _field_codes(batch, name, keep)
        counts = np.bincount(idx, minlength=len(uniq))
        key = json.dumps(name, ensure_ascii=False) + ": "
        enc = np.empty(len(uniq), dtype=object)
        settled = text.settled(name)
        for u in range(len(uniq)):
            v = jsonable(uniq[u])
            if not settled and isinstance(v, str) and not v.isascii():
                v = text.convert(name, v, lr, int(counts[u]))
                settled = text.settled(name)
            enc[u] = "" if v is None else key + json.dumps(v, ensure_ascii=False) + ", "
        parts.append(pa.array(enc, pa.large_string()).take(pa.array(idx)))
    fids = batch.fids[keep]
    if fids.dtype.kind in "iu":
        parts += [_text('"source_fid": '), pa.array(fids, pa.int64()).cast(pa.large_string())]
    else:
        fid_member = ['"source_fid": ' + json.dumps(jsonable(f), ensure_ascii=False) for f in fids]
        parts.append(pa.array(fid_member, pa.large_string()))
    extra = batch.preset.get("attributes") if batch.preset else None
    if extra is not None:
        own = [json.dumps(extra[int(i)], ensure_ascii=False)[1:-1] for i in keep]
        parts.append(pa.array([", " + m if m else "" for m in own], pa.large_string()))
    if not _none(more).all():
        parts.append(pa.array([", " + m if m is not None else "" for m in more.tolist()], pa.large_string()))
    parts.append(_text("}"))
    out: pa.Array = pc.binary_join_element_wise(*parts, _text(""))
    return out.cast(BIN)


def _batches(
    src: SourceLayer, opts: ImportOptions, profile: Profile, lr: LayerReport, report: ImportReport
) -> Iterator[Batch]:
    if src.fmt == "vector":
        yield from read_vector(src, batch_size=opts.batch_size)
    else:  # pragma: no cover - find_sources only makes the formats above
        raise ConverterError(f"{src.label}: no reader for {src.fmt}")


def _import_layer(
    conn: Connection,
    src: SourceLayer,
    kind: str,
    plan_id: int | None,
    opts: ImportOptions,
    profile: Profile,
    codes: CodeBook,
    report: ImportReport,
    progress: ProgressFn | None,
    batches: Iterable[Batch] | None = None,
    zone_shapes: list[tuple[np.ndarray, list[Any], list[Any]]] | None = None,
) -> LayerReport:
    lr = LayerReport(source=src.label, kind=kind, table=TABLE_OF[kind])
    report.layers.append(lr)
    writer: _Writer | None = None
    errors = _ValueErrors(src.label)
    source_crs: SourceCRS | None = None
    fmap: FieldMap | None = None
    boundary: list[Any] = []
    text = _TextState()
    unknown_before = Counter(codes.unknown)
    total = None
    if batches is None and src.fmt == "vector":
        total = int(layer_info(src).get("features") or 0) or None
    source = iter(batches if batches is not None else _batches(src, opts, profile, lr, report))
    first = next(source, None)
    if first is None:
        raise EmptyLayer(f"{src.label}: the layer has no features")
    batch = first
    source_crs = _source_crs(batch, src, opts, report)
    lr.crs = source_crs.how
    fmap = FieldMap.resolve(profile, kind, list(batch.fields))
    lr.fields = dict(fmap.columns)
    if kind == "map-features":  # the base map: a few thousand features, written by a path of its own
        batches_left = itertools.chain([first], source)
        import_base_map_layer(conn, src, lr, batches_left, source_crs, fmap, progress=progress, total=total)
        return lr
    if kind in REQUIRED:
        missing = [c for c in REQUIRED[kind] if c not in fmap.columns and not (batch.preset and c in batch.preset)]
        if missing:
            names = {c: profile.fields.get(kind, {}).get(c, [])[:4] for c in missing}
            raise ConverterError(
                f"{src.label}: no field for {', '.join(missing)} of {kind} (looked for "
                f"{'; '.join(f'{c}: ' + ', '.join(v) for c, v in names.items())}; fields are "
                f"{', '.join(batch.fields) or 'none'}): add a mapping profile with --mapping"
            )
    if writer is None and kind != "plan-boundary":
        writer = _Writer(conn, kind, plan_id, COLUMNS[kind], opts.user)
    assert fmap is not None and source_crs is not None

    def prepare(batch: Batch) -> tuple[Any, int, list[Any], list[str]]:
        """Rows ready for COPY (binary COPY's rows, their count, the ids of the features written and the column
        names), or the boundary's geometries: no database here.

        Column-wise: each step runs over the batch's arrays (GEOS, PROJ, numpy, Arrow), and Python touches each
        distinct value once; ``converters.pgcopy`` lays the columns into rows."""
        assert fmap is not None and source_crs is not None
        lr.read += len(batch.fids)
        geoms = batch.geoms
        if geoms.dtype != object or (len(geoms) and isinstance(geoms[0], (bytes, bytearray))):
            geoms = _in_two(proj_pool, lambda wkb: shapely.from_wkb(wkb, on_invalid="ignore"), geoms)
            missing = shapely.is_missing(geoms)
            bad = np.flatnonzero(missing & ~_none(batch.geoms)) if missing.any() else np.zeros(0, dtype=np.intp)
            if len(bad):
                raise ConverterError(
                    f"{src.label}: unreadable geometry in feature(s) "
                    f"{', '.join(str(batch.fids[i]) for i in bad[:10])}: "
                    "the file is corrupt"
                )
        geoms = to_storage(geoms, source_crs)
        check_in_vietnam(geoms, src.label, source_crs)
        valid = _in_two(proj_pool, shapely.is_valid, geoms) if kind == "zones" else None
        geoms, keep = normalise(geoms, batch.fids, kind, lr, valid)
        if kind == "plan-boundary":
            return list(geoms), 0, [], []
        assert writer is not None
        geometry: Future[list[Any]] | None = None
        if writer.bulk:  # WKB and PROJ work beside this thread (GEOS, PROJ and numpy release the GIL)
            geometry = proj_pool.submit(_zone_geometry_columns, geoms)
        unmapped: set[str] = set()
        values = _column_values(batch, kind, fmap, codes, lr, errors, keep, text, unmapped)
        fids = batch.fids[keep].tolist()
        n = len(keep)
        ok = np.ones(n, dtype=bool)
        more = np.full(n, None, dtype=object)  # the source's own code, when it is not the one stored
        if "land_use_code" in values:
            code = values["land_use_code"]
            raw = _raw_codes(batch, fmap, keep)
            has_code, has_raw = ~_none(code), ~_none(raw)
            pair, changed, member = _code_pairs(raw, code)
            differs = np.flatnonzero(changed[pair])  # both codes given, and not the same but for case
            unknown = np.flatnonzero(~has_code & has_raw)
            if kind == "zones":  # with --allow-unknown-codes: left out and listed (else the layer fails below)
                for i in unknown:
                    lr.drop(fids[i], f"unknown land-use code {raw[i]!r}")
                ok[unknown] = False
            else:
                differs = np.union1d(differs, unknown)
            more[differs] = member[pair[differs]]
            if kind in REQUIRED and "land_use_code" in REQUIRED[kind]:
                for i in np.flatnonzero(~has_code & ~has_raw):
                    errors.add(fids[i], "no land-use code")
                ok &= has_code | has_raw
        if kind == "parcels":
            missing = np.zeros(n, dtype=bool)
            for c in REQUIRED["parcels"]:
                missing |= _none(values[c])
            for i in np.flatnonzero(missing & ok):
                errors.add(fids[i], "missing ward, sheet or parcel number")
            ok &= ~missing
        errors.raise_if_any()
        attrs = _attributes(batch, fmap, keep, lr, text, more)
        written = np.flatnonzero(ok)
        kept_geoms = geoms[written]
        columns: list[Any] = []
        if writer.columns[0] == "plan_id":
            columns.append(Const(plan_id))
        columns += [_rows(values[c], written) for c in COLUMNS[kind]]
        names = list(writer.columns)
        bulk_columns: list[Any] = []
        if geometry is not None:
            bulk_columns = geometry.result()
            if len(written) < len(keep):  # some zones left out (unknown codes): the shapes of those kept
                bulk_columns = _zone_geometry_columns(kept_geoms)
            geom_column: Any = bulk_columns[0]
        elif kind in POLYGONAL_KINDS:
            geom_column = copy_shapes(kept_geoms).field(STORAGE_EPSG)
        else:
            geom_column = shapely.to_wkb(shapely.set_srid(kept_geoms, STORAGE_EPSG), include_srid=True)
        if len(written) < len(keep):
            attrs = attrs.take(pa.array(written))
        columns += [Const(src.label), attrs, geom_column]
        if kind == "buildings":
            keys = np.empty(len(written), dtype=object)
            keys[:] = [_building_key(batch, profile, int(keep[i])) for i in written]
            columns.append(keys)
        if writer.bulk:
            columns += [*bulk_columns[1:], Const(writer.user), Const(writer.user)]
        # Fields the source does not have are not sent (NULL is their default), nor what the plan's table of bulk
        # zones has as its defaults (plan, user): a third fewer fields to encode and parse for a usual plan file.
        sent = [
            (name, col)
            for name, col in zip(names, columns, strict=True)
            if not (writer.bulk and name in BULK_DEFAULTS) and name not in unmapped
        ]
        written_fids = fids if len(written) == len(fids) else [fids[i] for i in written]
        if zone_shapes is not None and kind == "zones":
            zone_codes = _rows(values["zone_code"], written)
            codes_list = zone_codes.to_pylist() if isinstance(zone_codes, pa.Array) else zone_codes.tolist()
            zone_shapes.append((kept_geoms, written_fids, codes_list))
        names_sent = [n for n, _ in sent]
        rows = writer.encode(names_sent, [c for _, c in sent], len(written))
        return rows, len(written), written_fids, names_sent

    # Reading and preparing the next batch (a thread) overlaps with the database writing this one. The report says
    # which side the other waited for: the time COPY took, and the time spent waiting for the next prepared batch.
    copying = waiting = 0.0
    with ThreadPoolExecutor(1, thread_name_prefix="import-proj") as proj_pool:
        t = time.perf_counter()
        for rows, n_rows, fids, sent in prefetch(prepare(b) for b in itertools.chain([first], source)):
            t1 = time.perf_counter()
            waiting += t1 - t
            if kind == "plan-boundary":
                boundary.extend(rows)
            if n_rows:
                assert writer is not None
                writer.copy(sent, rows, fids, src.label)
            if kind not in ("parcels", "buildings"):
                lr.written += n_rows
            if progress:
                progress(src.label, lr.read, total)
            t = time.perf_counter()
            copying += t - t1
    report.timings["copy"] = round(report.timings.get("copy", 0.0) + copying, 3)
    report.timings["waiting_for_reader"] = round(report.timings.get("waiting_for_reader", 0.0) + waiting, 3)
    errors.raise_if_any()
    new_unknown = codes.unknown - unknown_before
    if new_unknown and not opts.allow_unknown_codes:
        listed = ", ".join(f"{c!r} ({n}×)" for c, n in new_unknown.most_common(30))
        raise UnknownCodes(
            f"{src.label}: unknown land-use codes {listed}: they are neither TT 08/2024 codes nor known legacy codes; "
            "correct them, map them in a profile, or import anyway with --allow-unknown-codes (zones with them are "
            "then left out and listed, other features keep the code in their attributes)",
            dict(new_unknown),
        )
    if kind == "plan-boundary":
        geom = shapely.union_all(np.asarray(boundary, dtype=object)) if boundary else None
        if geom is not None and plan_id is not None:
            if geom.geom_type == "Polygon":
                geom = shapely.MultiPolygon([geom])
            conn.execute(
                sa.text("UPDATE planning.plans SET geom = ST_SetSRID(CAST(:g AS geometry), 9214) WHERE id = :id"),
                {"g": shapely.to_wkb(geom, hex=True), "id": plan_id},
            )
            lr.written = 1
    elif writer is not None:
        writer.finish(lr)
    if lr.written + lr.updated + lr.unchanged == 0 and kind != "plan-boundary":
        raise EmptyLayer(f"{src.label}: no feature left to import ({lr.dropped_total} dropped: see the report)")
    return lr


def _building_key(batch: Batch, profile: Profile, i: int) -> str | None:
    for name in profile.building_key:
        for f in batch.fields:
            if f.lower() == name.lower():
                v = batch.fields[f][i]
                if v is not None and str(v).strip():
                    return str(v).strip()
    return None


def _overlaps(zone_shapes: list[tuple[np.ndarray, list[Any], list[Any]]], report: ImportReport) -> None:
    """Zones of the plan that overlap (share area, not only an edge), found with GEOS's STRtree in one pass."""
    if not zone_shapes:
        return
    geoms = np.concatenate([z[0] for z in zone_shapes])
    fids = [f for z in zone_shapes for f in z[1]]
    codes = [c for z in zone_shapes for c in z[2]]
    # Candidates by bounding box only, each unordered pair once: a query with a predicate would also test every
    # zone against itself (a million needless GEOS predicates on a large plan). The interiors-meet test ("2********":
    # the shared part has an area) then runs on the few real neighbours, vectorized.
    a, b = shapely.STRtree(geoms).query(geoms)
    keep = a < b
    a, b = a[keep], b[keep]
    meet = shapely.relate_pattern(geoms[a], geoms[b], "2********")
    pair = np.stack([a[meet], b[meet]], axis=1)
    found = []
    if len(pair):
        area = shapely.area(shapely.intersection(geoms[pair[:, 0]], geoms[pair[:, 1]]))
        for (i, j), ar in sorted(zip(pair.tolist(), area.tolist(), strict=True), key=lambda x: -x[1]):
            if ar > 0.01:
                found.append(
                    {"features": [fids[i], fids[j]], "zone_codes": [codes[i], codes[j]], "area_m2": round(ar, 2)}
                )
    report.quality["overlaps"] = found[:200]
    report.quality["overlaps_total"] = len(found)
    report.quality["overlap_area_m2"] = float(sum(f["area_m2"] for f in found))


def _overlaps_then_free(zone_shapes: list[tuple[np.ndarray, list[Any], list[Any]]], report: ImportReport) -> None:
    """:func:`_overlaps`, then the zones' shapes let go: a million GEOS shapes are freed in this thread while the
    server builds the indexes (0.2-0.4 s), not when the import returns or the process ends."""
    try:
        _overlaps(zone_shapes, report)
    finally:
        zone_shapes.clear()


def _quality(
    conn: Connection,
    plan_id: int,
    zone_shapes: list[tuple[np.ndarray, list[Any], list[Any]]],
    report: ImportReport,
    max_zones: int = 20_000,
) -> None:
    """Gaps (holes in the union of the plan's zones, less what zones inside them cover) and the part of the plan's
    boundary no zone covers. The union runs in GEOS on the shapes just imported (PostGIS 3.3's ST_Union of the
    same zones is about twice as slow)."""
    if not zone_shapes:
        return
    geoms = np.concatenate([z[0] for z in zone_shapes])
    if len(geoms) > max_zones:
        report.warn(f"gap check skipped: {len(geoms):,} zones (the union behind it is slow beyond {max_zones:,})")
        return
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors]
    gaps = []
    for hole in holes:
        gap = shapely.difference(hole, union)
        if gap.area > 0.01:
            p = shapely.point_on_surface(gap)
            gaps.append({"area_m2": round(gap.area, 2), "at_9214": [round(p.x, 2), round(p.y, 2)]})
    gaps.sort(key=lambda g: -float(g["area_m2"]))
    report.quality["gaps"] = gaps[:200]
    report.quality["gap_area_m2"] = float(sum(float(g["area_m2"]) for g in gaps))
    boundary = conn.execute(
        sa.text("SELECT ST_AsBinary(geom) FROM planning.plans WHERE id = :p AND geom IS NOT NULL"), {"p": plan_id}
    ).scalar_one_or_none()
    if boundary is not None:  # roads, water and gaps inside the plan's boundary
        outline = shapely.from_wkb(bytes(boundary))
        report.quality["uncovered_in_boundary_m2"] = round(float(shapely.difference(outline, union).area), 1)


#: Checks of ``planning.zones`` that the importer makes itself on every zone it loads in bulk, so the server does not
#: make them again. Valid geometry (migration 0005): ``converters.geometry.normalise`` checks it with the same GEOS
#: predicate as ``ST_IsValid``, and repairs. The rest (migration 0008): no empty shape (``normalise`` drops them),
#: each number within :data:`RANGES` (narrower than the checks), minimum floors at most maximum floors
#: (``_column_values``), and ``row_version``, which the importer never sends (its default is 1). They are
#: ``NOT VALID`` on ``planning.zones``: still checked on every other insert and update.
IMPORTER_CHECKS = (
    "zones_geom_valid",
    "zones_geom_not_empty",
    "zones_floors_order",
    "zones_max_density_pct_check",
    "zones_max_far_check",
    "zones_max_floors_check",
    "zones_min_floors_check",
    "zones_max_height_m_check",
    "zones_min_setback_m_check",
    "zones_row_version_check",
)


def _importer_checks(conn: Connection) -> list[str]:
    """Those of :data:`IMPORTER_CHECKS` that are ``NOT VALID`` on ``planning.zones`` (a database before migration
    0005 checks them on the server as before)."""
    rows = conn.execute(
        sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'planning.zones'::regclass AND contype = 'c' "
            "AND NOT convalidated AND conname = ANY(:names) ORDER BY conname"
        ),
        {"names": list(IMPORTER_CHECKS)},
    ).all()
    return [str(r[0]) for r in rows]


def _attach_zones(
    conn: Connection, plan_id: int, user: str, reason: str, report: ImportReport, beside: Callable[[], Any]
) -> Any:
    """Attach the plan version's bulk-loaded zones as its partition of ``planning.zones``.

    First, on the table no one else sees yet, the keys and indexes of ``planning.zones``: each index built in one
    pass; the foreign keys (plan, land-use code) and the checks the importer has made itself
    (:data:`IMPORTER_CHECKS`) added as ``NOT VALID`` (migrations 0005, 0007). ``ATTACH PARTITION`` then adopts them, so
    the locks it takes (``zones_default`` exclusively, until the commit) last milliseconds, not the seconds the
    builds take. The history gets one ``planning.bulk_loads`` row; each zone's own ``insert`` entry is written when
    first needed (``planning.ensure_history``).

    ``beside`` starts work to run while the server builds (the overlap check); what it returns is returned. It is
    called once the statements are ready, and they go to the server as one: a thread that holds Python's lock
    (building an STRtree of a million zones, 0.4 s) then cannot hold up the next statement.
    """
    part = _zone_partition(plan_id)
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": part}).scalar() is None:
        return beside()
    rows = sum(lr.written for lr in report.layers if lr.kind == "zones")
    keys = [f"ALTER TABLE {part} ADD PRIMARY KEY (id, plan_id)"]
    keys += [
        f"ALTER TABLE {part} ADD CONSTRAINT {name} {definition}"
        for name, definition in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'planning.zones'::regclass "
                "AND (contype = 'f' OR (contype = 'c' AND conname = ANY(:checks))) ORDER BY conname"
            ),
            {"checks": _importer_checks(conn)},
        ).all()
    ]  # the importer's own checks: "CHECK (st_isvalid(geom)) NOT VALID", added without a scan
    # Since migration 0007 the foreign keys are each partition's own (planning.zones has none): those of
    # zones_default, added NOT VALID, without a scan. The importer made sure of them: the plan is the one it
    # created, each code was mapped against planning.land_use_codes in this transaction.
    keys += [
        f"ALTER TABLE {part} ADD CONSTRAINT {name} {definition} NOT VALID"
        for name, definition in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'planning.zones_default'::regclass AND contype = 'f' "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = 'planning.zones'::regclass "
                "AND p.contype = 'f') ORDER BY conname"
            )
        ).all()
    ]
    # "CREATE INDEX zones_geom_idx ON ONLY planning.zones USING gist (geom)" → the same index on the plan's table.
    # First: one backend builds it while the overlap check runs beside; the primary key's build then takes both
    # cores (PostgreSQL's parallel workers).
    keys[:0] = [
        f"CREATE INDEX ON {part} {definition.split(' ON ONLY planning.zones ', 1)[1]}"
        for (definition,) in conn.execute(
            sa.text(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = 'planning.zones'::regclass AND NOT indisprimary ORDER BY indexrelid"
            )
        ).all()
    ]
    keys.append(f"ALTER TABLE {part} " + ", ".join(f"ALTER {c} DROP DEFAULT" for c in BULK_DEFAULTS))
    keys.append(f"ALTER TABLE planning.zones ATTACH PARTITION {part} FOR VALUES IN ({int(plan_id)})")
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    started = beside()
    try:
        with conn.begin_nested():
            raw.execute(";\n".join(keys))  # no parameters: one message, the statements run in turn
    except psycopg.Error as exc:
        msg = exc.diag.message_primary or str(exc)
        raise ConverterError(f"the database refused the plan's zones: {msg}") from None
    conn.execute(
        sa.text(
            "INSERT INTO planning.bulk_loads (table_name, plan_id, row_count, loaded_by, reason) "
            "VALUES ('zones', :p, :n, :u, :r)"
        ),
        {"p": plan_id, "n": rows, "u": user, "r": reason},
    )
    return started


def import_path(
    path: Path, engine: Engine, options: ImportOptions | None = None, *, progress: ProgressFn | None = None
) -> ImportReport:
    """Import a file, zipped shapefile or TT 16/2025 dossier folder into the planning schema, in one transaction.

    Returns the report; raises a :class:`~converters.errors.ConverterError` (nothing written) on bad input.
    """
    opts = options or ImportOptions()
    t0 = time.perf_counter()
    path = Path(path)
    report = ImportReport(source=path.name, dry_run=opts.dry_run)
    profile = load_profile(opts.mapping)
    sources = find_sources(path, profile, kind=opts.kind)
    for s in sources:
        if s.kind is None and s.fmt == "vector":
            report.warn(f"{s.label}: not a layer the profile knows (give --kind to import it): skipped")
    skipped = [s for s in sources if s.kind is None and s.fmt == "vector"]
    sources = [s for s in sources if s.kind is not None or s.fmt in ("dxf", "dgn")]
    if not sources:
        layers = ", ".join(s.layer or s.label for s in skipped)
        raise ConverterError(
            f"{path.name}: no layer with a TT 16/2025 name (found {layers}): say what it holds with --kind "
            "(zones, parcels, buildings, red-lines, building-lines) or name its layer in a --mapping profile"
        )
    sources.sort(key=lambda s: ORDER.index(s.kind) if s.kind in ORDER else 1)
    needs_plan = any(s.kind in PLAN_KINDS or s.kind is None for s in sources)
    if needs_plan and not opts.plan:
        raise ConverterError(
            f"{path.name} holds plan layers (zones, red or building lines): name the plan with --plan CODE"
        )
    files = [f for s in sources for f in s.files]
    sha = (opts.digest.of(files) if opts.digest is not None else None) or file_sha256(files)
    reason = opts.reason or f"import of {path.name} (sha256 {sha[:12]})"
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            with change_context(conn, user=opts.user, reason=reason):
                plan_id = _ensure_plan(conn, opts, sha, report) if needs_plan else None
                if needs_plan and plan_id is None:
                    tx.rollback()
                    report.seconds = time.perf_counter() - t0
                    return report
                codes = _codebook(conn)
                zone_shapes: list[tuple[np.ndarray, list[Any], list[Any]]] | None = [] if opts.check_quality else None
                for src in sources:
                    if src.fmt in ("dxf", "dgn"):
                        from converters.cad import read_cad

                        for kind, batch in read_cad(src, profile, codes, report).items():
                            _import_layer(
                                conn, src, kind, plan_id, opts, profile, codes, report, progress, [batch], zone_shapes
                            )
                    elif src.fmt == "scan":
                        from converters.scan import read_scan

                        rgb = conn.execute(
                            sa.text(
                                "SELECT code, rgb FROM planning.land_use_codes WHERE rgb IS NOT NULL AND NOT is_group"
                            )
                        ).all()
                        batch = read_scan(src, profile, codes, dict(rgb), report, src_crs=opts.src_crs)
                        _import_layer(
                            conn, src, "zones", plan_id, opts, profile, codes, report, progress, [batch], zone_shapes
                        )
                    else:
                        assert src.kind is not None
                        _import_layer(
                            conn, src, src.kind, plan_id, opts, profile, codes, report, progress, None, zone_shapes
                        )
                report.code_mappings = [
                    {"from": a, "to": b, "count": n} for (a, b), n in sorted(codes.mapped.items(), key=lambda x: -x[1])
                ]
                report.unknown_codes = dict(codes.unknown)
                t1 = time.perf_counter()
                report.timings["layers"] = round(t1 - t0, 3)
                if plan_id is not None and opts.check_quality:
                    _quality(conn, plan_id, zone_shapes or [], report)
                # The overlap check (GEOS, in a thread) runs while the server builds the zones' indexes.
                with ThreadPoolExecutor(1, thread_name_prefix="import-overlaps") as pool:

                    def check_overlaps() -> Future[None] | None:
                        if plan_id is None or not opts.check_quality:
                            return None
                        return pool.submit(_overlaps_then_free, zone_shapes or [], report)

                    t2 = time.perf_counter()
                    if plan_id is not None:
                        zones = sum(lr.written for lr in report.layers if lr.kind == "zones")
                        if progress and zones:  # a few seconds per million zones, after the last feature's bar
                            progress("zones: indexes, keys and checks", zones, zones)
                        overlaps = _attach_zones(conn, plan_id, opts.user, reason, report, check_overlaps)
                    else:
                        overlaps = check_overlaps()
                    report.timings["attach_zones"] = round(time.perf_counter() - t2, 3)
                    if overlaps is not None:
                        overlaps.result()
                report.timings["quality_checks"] = round(time.perf_counter() - t1 - report.timings["attach_zones"], 3)
            t3 = time.perf_counter()
            if opts.dry_run:
                tx.rollback()
            else:
                tx.commit()
            report.timings["commit"] = round(time.perf_counter() - t3, 3)
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise
    report.seconds = time.perf_counter() - t0
    return report
