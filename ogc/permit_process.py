"""OGC API - Processes: ``permit-check`` (the permit pre-check of :mod:`gis_service.permits`), sync and async.

Asynchronous execution (``Prefer: respond-async``) needs a job manager that keeps jobs: :class:`PlanningJobManager`
is pygeoapi's TinyDB manager (jobs in a file under the service's OGC folder, run in a thread of the service) whose
synchronous executions behave exactly like the default Dummy manager (no job written for them), so a synchronous
lookup costs nothing more than before.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError
from pygeoapi.process.manager.dummy import DummyManager
from pygeoapi.process.manager.tinydb_ import TinyDBManager
from pygeoapi.util import RequestedProcessExecutionMode

from gis_service.errors import PlanningError
from gis_service.permits import check
from gis_service.permits.model import EXAMPLE
from ogc.provider import get_pool

__all__ = ["PROCESS_METADATA", "PermitCheckProcessor", "PlanningJobManager", "jobs_manager_config"]


def _input(title: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "schema": schema,
        "minOccurs": 1 if required else 0,
        "maxOccurs": 1,
    }


_POLYGON = {"type": "object", "contentMediaType": "application/geo+json", "description": "GeoJSON Polygon"}

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "permit-check",
    "title": {"en": "Permit check", "vi": "Kiểm tra cấp phép xây dựng"},
    "description": {
        "en": "Checks a proposed building (footprint, floors, height, floor area, use) on a parcel or lot against the "
        "approved plan and QCVN 01:2021/BXD: land use, inside the lot, building line, setback from the red line, "
        "access, density, floors, height, FAR, ground level, frontage, lot area (the rules of the buildable "
        "envelope). Each rule answers pass, fail, needs_review, not_applicable or officer_judgement with the measured "
        "value (EPSG:9214 metres), the limit and its basis (plan, qcvn, no_limit, no_data, scanned_draft), its legal "
        "source, the zone or road it measured against and a sentence in Vietnamese and English.",
        "vi": "Kiểm tra công trình đề xuất trên thửa đất so với quy hoạch đã phê duyệt và QCVN 01:2021/BXD.",
    },
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["permit", "cấp phép", "QCVN 01:2021", "zoning"],
    "links": [],
    "inputs": {
        "parcel_id": _input("Parcel id", "Id of the parcel (or sheet_no + parcel_no, or lot)", {"type": "integer"}),
        "sheet_no": _input("Sheet number (số tờ)", "With parcel_no", {"type": "integer", "minimum": 1}),
        "parcel_no": _input("Parcel number (số thửa)", "With sheet_no", {"type": "integer", "minimum": 1}),
        "ward": _input("Ward (phường/xã)", "When the numbers exist in several wards", {"type": "string"}),
        "lot": _input("Lot", "The lot as a GeoJSON polygon, instead of a parcel", _POLYGON),
        "footprint": _input("Footprint", "Building footprint, GeoJSON polygon", _POLYGON, required=True),
        "crs": _input(
            "CRS of lot and footprint", "CRS84 (lon/lat, default) or EPSG:9214", {"type": "string", "default": "CRS84"}
        ),
        "floors": _input("Floors above ground", "Số tầng trên mặt đất", {"type": "integer", "minimum": 0}),
        "basements": _input("Basement floors", "Số tầng hầm", {"type": "integer", "minimum": 0}),
        "height_m": _input("Height (m)", "Chiều cao công trình", {"type": "number", "minimum": 0}),
        "total_floor_area_m2": _input(
            "Total floor area (m²)", "Above ground, for the FAR", {"type": "number", "minimum": 0}
        ),
        "use": _input(
            "Use",
            "A land-use code (ODT, TMD, ...) or a building-use category (detached_house, apartment, ...)",
            {"type": "string"},
            required=True,
        ),
        "road_width_m": _input("Road width (m)", "Red-line width of the road the lot faces", {"type": "number"}),
        "red_line_id": _input("Red line id", "The red line the lot faces (else the nearest)", {"type": "integer"}),
    },
    "outputs": {
        "result": {
            "title": "Permit check result",
            "description": "{verdict, failed, warnings, rules: [{id, status, value, limit, unit, source, message_vi, "
            "message_en, zone?}], plan, parcel, lot, footprint}",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {"inputs": {k: v for k, v in EXAMPLE.items() if k != "basements"}},
}


class PermitCheckProcessor(BaseProcessor):
    """Runs :func:`gis_service.permits.check` on the service's connection pool."""

    def __init__(self, processor_def: dict[str, Any]) -> None:
        super().__init__(processor_def, PROCESS_METADATA)
        self.database_key = str(processor_def.get("database", "planning"))

    def execute(self, data: dict[str, Any], outputs: dict[str, Any] | None = None) -> tuple[str, Any]:
        """Check a proposal against the rules; the service's errors become OGC exceptions with their HTTP status."""
        try:
            with get_pool(self.database_key).connection() as conn:
                result, _m = check(conn, dict(data or {}))
        except PlanningError as exc:
            err = ProcessorExecuteError(user_msg=exc.message)
            err.http_status_code = HTTPStatus(exc.status_code)
            err.ogc_exception_code = exc.code
            raise err from None
        return "application/json", result

    def __repr__(self) -> str:
        return "<PermitCheckProcessor>"


class PlanningJobManager(TinyDBManager):
    """TinyDB jobs for asynchronous executions; synchronous ones exactly as pygeoapi's Dummy manager."""

    def execute_process(
        self, process_id: str, data_dict: dict[str, Any], execution_mode: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        """Run a process: asynchronously as a TinyDB job, synchronously as pygeoapi's DummyManager does."""
        if execution_mode == RequestedProcessExecutionMode.respond_async:
            return super().execute_process(process_id, data_dict, execution_mode, *args, **kwargs)
        return DummyManager.execute_process(self, process_id, data_dict, execution_mode, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<PlanningJobManager> {self.name}"


def jobs_manager_config(jobs_dir: Path) -> dict[str, Any]:
    """The ``server.manager`` entry of the pygeoapi configuration: jobs and their results under ``jobs_dir``."""
    (jobs_dir / "results").mkdir(parents=True, exist_ok=True)
    return {
        "name": "ogc.permit_process.PlanningJobManager",
        "connection": str(jobs_dir / "jobs.tinydb"),
        "output_dir": str(jobs_dir / "results"),
    }
