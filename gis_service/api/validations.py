"""``POST /validations``: a planner uploads a plan dossier (a file, a zipped shapefile or a zipped TT 16/2025 folder)
and gets the validation report, JSON or HTML; nothing is written (``converters.validation``)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gis_service.api.deps import Planner, in_thread
from gis_service.errors import PlanningError, ValidationError

__all__ = ["validations_router"]

MAX_FILES = 20  # a shapefile's parts, or a dossier's few GeoPackages
_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _safe_name(name: str | None) -> str:
    """An uploaded file's own name, reduced to one harmless path component (no folders, no '..')."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    clean = "".join(c if c in _SAFE_NAME else "_" for c in base).lstrip(".")
    if not clean:
        raise ValidationError("an uploaded file has no usable name: give each file its name (e.g. QuyHoach.gpkg)")
    return clean


def _dossier_in_zip(path: Path, into: Path) -> Path | None:
    """A zipped TT 16/2025 folder unpacked (its folder returned); None for a zip of plain GIS files."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if not any("HoSoGIS/" in n for n in names):
                return None
            for n in names:
                parts = PurePosixPath(n).parts
                if n.endswith("/") or ".." in parts or PurePosixPath(n).is_absolute():
                    continue
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(n))
    except zipfile.BadZipFile:
        return None  # the converters say what is wrong with it
    hosogis = next(into.rglob("HoSoGIS"), None)
    return hosogis.parent if hosogis is not None else None


def _target(saved: list[Path], folder: Path) -> Path:
    """What to validate among the files uploaded: the one file, a shapefile's .shp, or the folder as a dossier."""
    if len(saved) == 1:
        if saved[0].suffix.lower() == ".zip" and (unpacked := _dossier_in_zip(saved[0], folder / "unzipped")):
            return unpacked
        return saved[0]
    shp = [p for p in saved if p.suffix.lower() == ".shp"]
    if len(shp) == 1:
        return shp[0]
    gis = folder / "HoSoGIS"
    gis.mkdir()
    for p in saved:
        p.rename(gis / p.name)
    return folder


def validations_router() -> APIRouter:
    """The route of dossier validations (planners)."""
    router = APIRouter(tags=["validations"])

    @router.post(
        "/validations",
        summary="Validate a plan dossier before it is accepted (planners); nothing is written",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                            "required": ["file"],
                        }
                    }
                },
            }
        },
        responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}},
    )
    async def validate(
        request: Request,
        user: Planner,
        f: Annotated[Literal["json", "html", "pdf"], Query(description="The report as JSON, HTML or PDF")] = "json",
        src_crs: Annotated[str | None, Query(max_length=200, description="CRS of the coordinates")] = None,
        accept_suggested_mapping: Annotated[bool, Query(description="Use the fields proposed")] = False,
    ) -> Response:
        """Upload the dossier in the form field ``file``: one file (GeoPackage, zipped shapefile, DXF, a zip of a
        TT 16/2025 folder with ``HoSoGIS/``), or several (a shapefile's parts, a dossier's GeoPackages). The
        report lists every finding; ``passed`` is true when none is an error."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "multipart/form-data":
            raise ValidationError("send the dossier as the field 'file' of a multipart/form-data form")
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 5)
        except Exception:  # starlette's parser errors vary by version; any of them means a malformed form
            raise ValidationError(f"the form could not be read: send at most {MAX_FILES} files in 'file'") from None
        uploads = [u for u in form.getlist("file") if not isinstance(u, str)]
        if not uploads:
            raise ValidationError("send the dossier's files in the form field 'file'")
        with tempfile.TemporaryDirectory(prefix="validation-") as tmp:
            folder = Path(tmp)
            saved = []
            for upload in uploads:
                path = folder / _safe_name(upload.filename)
                if path in saved:
                    raise ValidationError(f"two uploaded files are both named {path.name}")
                path.write_bytes(await upload.read())
                saved.append(path)
            opts = {"src_crs": src_crs, "accept_suggested_mapping": accept_suggested_mapping}
            try:
                return await in_thread(_report, _target(saved, folder), opts, f, folder)
            except PlanningError as exc:  # GDAL's messages name the file by its path on this server
                exc.message = _without(exc.message, folder)
                raise

    return router


def _without(text: str, folder: Path) -> str:
    """``text`` without the server's temporary folder in the paths it names (the uploaded names are left)."""
    return text.replace(f"{folder}/", "").replace(str(folder), "")


def _report(path: Path, opts: dict[str, Any], f: str, folder: Path) -> Response:
    from converters import ImportOptions
    from converters.validation import validate_path
    from converters.validation.html import report_html
    from converters.validation.pdf import report_pdf

    report = validate_path(path, ImportOptions(**opts))
    for finding in report.findings:
        finding.details = {k: _without(v, folder) if isinstance(v, str) else v for k, v in finding.details.items()}
    if f == "html":
        return HTMLResponse(report_html(report))
    if f == "pdf":
        return Response(report_pdf(report), media_type="application/pdf")
    return JSONResponse(report.to_dict())
