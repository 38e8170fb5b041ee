"""What is in a path: the format, the layers and what each holds, checked before anything is read or written."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow
import pyogrio
import pyogrio.errors
from pyogrio import raw

from converters.errors import ConverterError, CorruptFile, EmptyLayer, UnsupportedFormat
from converters.mapping import KINDS, Profile

__all__ = ["Batch", "SourceLayer", "find_sources", "read_vector"]

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".tab", ".mif", ".fgb", ".kml"}
RASTER_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg"}
BATCH_SIZE = 50_000
#: The first batch of a layer is this small: its values are looked at one by one (legacy text is detected on
#: it), and the database can start on its rows while the following batches are read.
FIRST_BATCH = 5_000


@dataclass(frozen=True)
class SourceLayer:
    """One layer to import: the path GDAL (or ezdxf, rasterio) opens, the layer, what it holds."""

    path: str
    layer: str | None
    kind: str | None
    fmt: str  # vector | dxf | dgn | scan
    label: str
    files: tuple[Path, ...] = ()


class ArrowFields(Mapping[str, np.ndarray]):
    """A batch's fields as GDAL's Arrow stream gave them: each becomes a numpy array (of Python objects, for text)
    only when asked for as one, and :meth:`arrow` gives it as it is (a kept text field goes to the ``attributes``
    JSON without a Python object per value)."""

    def __init__(self, columns: dict[str, pyarrow.Array]) -> None:
        self._arrow = columns
        self._numpy: dict[str, np.ndarray] = {}

    def arrow(self, name: str) -> pyarrow.Array:
        return self._arrow[name]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._numpy:
            self._numpy[name] = self._arrow[name].to_numpy(zero_copy_only=False)
        return self._numpy[name]

    def __contains__(self, name: object) -> bool:  # Mapping's own would convert the field to numpy to answer
        return name in self._arrow

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrow)

    def __len__(self) -> int:
        return len(self._arrow)


@dataclass
class Batch:
    """Features read from a layer: ids, geometry (WKB or shapely), source fields, and values already mapped."""

    fids: np.ndarray
    geoms: np.ndarray
    fields: Mapping[str, np.ndarray]
    crs_wkt: str | None
    preset: dict[str, list[Any]] | None = None
    #: How far off a scan or drawing placed on the map may be (m): its provenance (``planning.feature_sources``).
    georef_error_m: float | None = None


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(16)
    except OSError as exc:
        raise ConverterError(f"cannot read {path}: {exc.strerror}") from None


def _check_cad_magic(path: Path) -> str:
    head = _sniff(path)
    if head.startswith(b"AC10") or path.suffix.lower() == ".dwg":
        raise UnsupportedFormat(
            f"{path.name} is an AutoCAD DWG drawing, which needs a proprietary library to read: convert it to DXF "
            "(AutoCAD 'Save As' DXF, or the free ODA File Converter) or DGN v7, and import that"
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFormat(
            f"{path.name} is a MicroStation DGN v8 file, which needs a proprietary library to read: save it as "
            "DGN v7 or export DXF in MicroStation, and import that"
        )
    if path.suffix.lower() == ".dgn":
        if len(head) < 2 or head[1] != 0x09 or head[0] not in (0x08, 0xC8):
            raise CorruptFile(f"{path.name} is not a DGN v7 file (its header is unreadable): is it complete?")
        return "dgn"
    return "dxf"


def _vector_layers(
    path: str, label: str, profile: Profile, kind: str | None, files: tuple[Path, ...]
) -> list[SourceLayer]:
    try:
        layers = pyogrio.list_layers(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise CorruptFile(
            f"{label}: cannot open it as a GIS file ({_first_line(exc)}): is it complete and not corrupt?"
        ) from None
    out = []
    for name, _geom_type in layers:
        k = kind or profile.kind_of_layer(str(name))
        if k == "ignore":
            continue
        out.append(SourceLayer(path, str(name), k, "vector", f"{label}:{name}" if len(layers) > 1 else label, files))
    return out


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _shapefile_parts(shp: Path) -> tuple[Path, ...]:
    found = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    if ".shx" not in found:
        raise CorruptFile(
            f"{shp.name}: the shapefile's index {shp.stem}.shx is missing; copy it next to the .shp (a shapefile is "
            "at least .shp, .shx and .dbf, plus .prj for its coordinate system)"
        )
    if ".dbf" not in found:
        raise CorruptFile(f"{shp.name}: the attribute table {shp.stem}.dbf is missing; copy it next to the .shp")
    return tuple(found.values())


def find_sources(path: Path, profile: Profile, *, kind: str | None = None) -> list[SourceLayer]:
    """The layers to import from a file, a zipped shapefile or a TT 16/2025 dossier folder."""
    if kind is not None and kind not in KINDS:
        raise ConverterError(f"unknown --kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not path.exists():
        raise ConverterError(f"{path} does not exist")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        return _dossier_sources(path, profile, kind)
    suffix = path.suffix.lower()
    if suffix in (".dxf", ".dwg", ".dgn"):
        fmt = _check_cad_magic(path)
        if fmt == "dxf" and _sniff(path).startswith(b"\xd0\xcf"):
            raise UnsupportedFormat(f"{path.name} is not a DXF file")
        return [SourceLayer(str(path), None, kind, fmt, path.name, (path,))]
    if path.is_file() and _sniff(path).startswith(b"AC10"):
        _check_cad_magic(path)
    if suffix in RASTER_SUFFIXES:
        return [SourceLayer(str(path), None, kind or "zones", "scan", path.name, (path,))]
    if suffix == ".zip":
        return _zip_sources(path, profile, kind)
    return _vector_layers(str(path), path.name, profile, kind, _vector_files(path, suffix))


def _dossier_sources(path: Path, profile: Profile, kind: str | None) -> list[SourceLayer]:
    """The layers of a dossier folder's GeoPackages and FileGDBs (in ``HoSoGIS/`` or the folder itself)."""
    gis = next(
        (p for p in (path / "HoSoGIS", path) if (p.is_dir() and any(p.glob("*.gpkg"))) or any(p.glob("*.gdb"))),
        None,
    )
    if gis is None:
        raise ConverterError(
            f"{path} is a folder without GIS files: a TT 16/2025 dossier keeps them in HoSoGIS/*.gpkg or *.gdb"
        )
    out: list[SourceLayer] = []
    for f in sorted([*gis.glob("*.gpkg"), *gis.glob("*.gdb")]):
        parts = tuple(sorted(p for p in f.rglob("*") if p.is_file())) if f.is_dir() else (f,)
        out += _vector_layers(str(f), f"{f.parent.name}/{f.name}", profile, kind, parts)
    if not any(s.kind for s in out):
        names = ", ".join(sorted({s.layer or "" for s in out}))
        raise ConverterError(
            f"{path}: no layer has a TT 16/2025 name (such as ChucNangSuDungDat_A, ChiGioiDuongDo_L, "
            f"ChiGioiXayDung_L); found {names or 'none'}: name the layers, or import one file with --kind"
        )
    return out


def _zip_sources(path: Path, profile: Profile, kind: str | None) -> list[SourceLayer]:
    """The layers of the shapefiles (each with its index) and other GIS files in a zip, read in place."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
    except zipfile.BadZipFile:
        raise CorruptFile(f"{path.name} is not a readable zip file (truncated or corrupt?)") from None
    shps = [n for n in members if n.lower().endswith(".shp")]
    others = [n for n in members if Path(n).suffix.lower() in VECTOR_SUFFIXES - {".shp"}]
    if not shps and not others:
        raise ConverterError(f"{path.name} holds no shapefile or other GIS file (it has: {', '.join(members[:8])})")
    out: list[SourceLayer] = []
    for n in shps:
        stem = n[:-4].lower()
        if not any(m.lower() == stem + ".shx" for m in members):
            raise CorruptFile(f"{path.name}: {n} comes without its .shx index; zip the .shp, .shx, .dbf and .prj")
        out += _vector_layers(f"/vsizip/{path}/{n}", f"{path.name}/{n}", profile, kind, (path,))
    for n in others:
        out += _vector_layers(f"/vsizip/{path}/{n}", f"{path.name}/{n}", profile, kind, (path,))
    return out


def _vector_files(path: Path, suffix: str) -> tuple[Path, ...]:
    """The files a vector dataset is made of (a shapefile's parts, a FileGDB folder's files)."""
    if suffix == ".shp":
        return _shapefile_parts(path)
    if suffix == ".tab":
        return tuple(path.parent.glob(path.stem + ".*"))
    if suffix == ".gdb":
        return tuple(sorted(p for p in path.rglob("*") if p.is_file()))
    if suffix not in VECTOR_SUFFIXES:
        raise UnsupportedFormat(
            f"{path.name}: unknown format {suffix or '(no extension)'}; the importer reads GeoPackage, Shapefile "
            "(alone or zipped), GeoJSON, MapInfo TAB/MIF, FileGDB, DXF, DGN v7, GeoTIFF scans and TT 16/2025 dossiers"
        )
    return (path,)


def layer_info(src: SourceLayer) -> dict[str, Any]:
    try:
        info: dict[str, Any] = pyogrio.read_info(src.path, layer=src.layer, force_feature_count=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise CorruptFile(
            f"{src.label}: cannot read it ({_first_line(exc)}): is it complete and not corrupt?"
        ) from None
    return info


# GDAL's errors for a truncated or corrupt file come through several exception classes.
_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    RuntimeError,
    OSError,
)


def read_vector(src: SourceLayer, *, batch_size: int = BATCH_SIZE) -> Iterator[Batch]:
    """Stream a GDAL layer in batches (memory stays bounded whatever the layer's size).

    Read through GDAL's Arrow stream (pyogrio ``open_arrow``): columns come as arrays, geometry as WKB, with no Python
    object per feature until a column needs one: several times faster than ``raw.read`` paged with
    ``skip_features`` (the figures: ``docs/decisions.md``). GDAL 3.6's stream refuses text that is not UTF-8 (a DBF
    of legacy 8-bit Vietnamese without a code page): reading then goes on with ``raw.read`` from where the stream
    stopped, which hands such text over as Latin-1 for :mod:`converters.encoding`.
    """
    info = layer_info(src)
    total = int(info.get("features") or 0)
    if total <= 0:
        raise EmptyLayer(f"{src.label}: the layer has no features")
    read = 0
    try:
        with raw.open_arrow(src.path, layer=src.layer, return_fids=True, use_pyarrow=True, batch_size=batch_size) as (
            meta,
            reader,
        ):
            names = list(meta["fields"])
            geom_name = meta.get("geometry_name") or "wkb_geometry"
            for rb in _small_first(reader):
                cols = dict(zip(rb.schema.names, rb.columns, strict=True))
                fid_name = "OGC_FID" if "OGC_FID" in cols else meta.get("fid_column")
                fids = cols[fid_name].to_numpy(zero_copy_only=False) if fid_name in cols else None
                if fids is None:
                    fids = np.arange(read, read + rb.num_rows)
                geoms = cols[geom_name].to_numpy(zero_copy_only=False) if geom_name in cols else None
                if geoms is None:
                    geoms = np.full(rb.num_rows, None, dtype=object)
                for n in names:  # text that is not UTF-8 fails here, where the paged reader can take over
                    if pyarrow.types.is_string(cols[n].type) or pyarrow.types.is_large_string(cols[n].type):
                        cols[n].validate(full=True)
                fields = ArrowFields({str(n): cols[n] for n in names})
                read += rb.num_rows
                yield Batch(np.asarray(fids), geoms, fields, meta.get("crs"))
        return
    except pyogrio.errors.GeometryError as exc:
        raise CorruptFile(f"{src.label}: unreadable geometry near feature {read + 1} ({_first_line(exc)})") from None
    except (*_READ_ERRORS, pyarrow.ArrowException):
        # GDAL or Arrow could not go on (text that is not UTF-8, or a damaged file): the paged reader reads on from
        # here, and says the file is corrupt if it cannot either. Anything else is our fault and is raised.
        pass
    yield from _read_paged(src, total, read, batch_size)


def _small_first(reader: Iterable[pyarrow.RecordBatch]) -> Iterator[pyarrow.RecordBatch]:
    """The stream's batches, the first one split after :data:`FIRST_BATCH` features."""
    first = True
    for rb in reader:
        if first and rb.num_rows > 2 * FIRST_BATCH:
            yield rb.slice(0, FIRST_BATCH)
            rb = rb.slice(FIRST_BATCH)
        first = False
        yield rb


def _read_paged(src: SourceLayer, total: int, start: int, batch_size: int) -> Iterator[Batch]:
    while start < total:
        try:
            meta, fids, geoms, values = raw.read(
                src.path, layer=src.layer, skip_features=start, max_features=batch_size, return_fids=True
            )
        except pyogrio.errors.GeometryError as exc:
            raise CorruptFile(
                f"{src.label}: unreadable geometry near feature {start + 1} ({_first_line(exc)})"
            ) from None
        except _READ_ERRORS as exc:
            raise CorruptFile(
                f"{src.label}: reading failed near feature {start + 1} ({_first_line(exc)}): "
                "the file is truncated or corrupt"
            ) from None
        if len(fids) == 0:
            break
        fields = {str(name): arr for name, arr in zip(meta["fields"], values, strict=True)}
        yield Batch(np.asarray(fids), geoms, fields, meta.get("crs"))
        start += len(fids)
