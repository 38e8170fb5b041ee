"""OGC API - Processes: ``zoning-lookup`` (the citizen's lookup of :mod:`gis_service.lookup` as a process)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gis_service.as_of import parse_as_of
from gis_service.consultation.view import parse_view
from gis_service.errors import PlanningError
from gis_service.lookup import LookupQuery, lookup_with_envelope
from ogc.provider import get_pool

__all__ = ["PROCESS_METADATA", "ZoningLookupProcessor"]


def _number(title: str, description: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "schema": {"type": "number"},
        "minOccurs": 0,
        "maxOccurs": 1,
    }


def _integer(title: str, description: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
        "minOccurs": 0,
        "maxOccurs": 1,
    }


PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "zoning-lookup",
    "title": {"en": "Zoning lookup", "vi": "Tra cứu quy hoạch"},
    "description": {
        "en": "The parcel at a point (or by sheet and parcel number, or id), every zone of the approved plans it "
        "intersects with the area in m² and the share in % (EPSG:9214), each zone's rules and the plan's decision.",
        "vi": "Thửa đất tại một điểm (hoặc theo số tờ, số thửa), các ô quy hoạch đã phê duyệt giao với thửa, diện tích "
        "(m²), tỷ lệ (%), chỉ tiêu quy hoạch và quyết định phê duyệt.",
    },
    "jobControlOptions": ["sync-execute"],
    "keywords": ["zoning", "quy hoạch", "lookup", "tra cứu"],
    "links": [],
    "inputs": {
        "lon": _number("Longitude", "WGS84 longitude in degrees (with lat)"),
        "lat": _number("Latitude", "WGS84 latitude in degrees (with lon)"),
        "e": _number("Easting", "VN-2000 EPSG:9214 easting in metres (with n)"),
        "n": _number("Northing", "VN-2000 EPSG:9214 northing in metres (with e)"),
        "sheet_no": _integer("Sheet number (số tờ)", "Cadastral map sheet number (with parcel_no)"),
        "parcel_no": _integer("Parcel number (số thửa)", "Parcel number on the sheet (with sheet_no)"),
        "ward": {
            "title": "Ward (phường/xã)",
            "description": "Ward name or code, when a sheet and parcel number exist in several wards",
            "schema": {"type": "string"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "parcel_id": _integer("Parcel id", "Identifier of the parcel in the parcels collection"),
        "as_of": {
            "title": "Plan as of (quy hoạch tại ngày)",
            "description": "Answer with the plan versions in force on this date (YYYY-MM-DD) instead of today's",
            "schema": {"type": "string", "format": "date"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "view": {
            "title": "Draft under consultation (dự thảo đang lấy ý kiến)",
            "description": "consultation: answer with only the drafts under consultation today, marked as such "
            "(not in force; never mixed with the approved plans). Not with as_of.",
            "schema": {"type": "string", "enum": ["consultation"]},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "lookup": {
            "title": "Zoning of the parcel or point",
            "description": "parcel, zones (area_m2, share_pct, rules and their basis, plan), location, plan_data, "
            "the parcel's buildable envelope (status, capacity with the rule bounding each figure), and with as_of the "
            "date answered for and the plan versions in force then; with view=consultation the drafts' zones and "
            "the notice",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {"inputs": {"lon": 107.5790, "lat": 16.4698}},
}

_FIELDS = {"lon": float, "lat": float, "e": float, "n": float, "sheet_no": int, "parcel_no": int, "parcel_id": int}


class ZoningLookupProcessor(BaseProcessor):
    """Runs :func:`gis_service.lookup.lookup_with_envelope` on the service's connection pool."""

    def __init__(self, processor_def: dict[str, Any]) -> None:
        super().__init__(processor_def, PROCESS_METADATA)
        self.database_key = str(processor_def.get("database", "planning"))

    def execute(self, data: dict[str, Any], outputs: dict[str, Any] | None = None) -> tuple[str, Any]:
        """The zoning lookup with its envelope; inputs are checked and typed first (unknown or mistyped: a 400)."""
        inputs = dict(data or {})
        try:
            raw_as_of, raw_view = inputs.pop("as_of", None), inputs.pop("view", None)
            consultation = parse_view(
                None if raw_view is None else str(raw_view), as_of=None if raw_as_of is None else str(raw_as_of)
            )
            as_of = None if raw_as_of is None else parse_as_of(str(raw_as_of))
            query = LookupQuery(**_typed_inputs(inputs))
            with get_pool(self.database_key).connection() as conn:
                text = lookup_with_envelope(conn, query, as_of=as_of, consultation=consultation)
        except PlanningError as exc:
            err = ProcessorExecuteError(user_msg=exc.message)
            err.http_status_code = HTTPStatus(exc.status_code)
            err.ogc_exception_code = exc.code
            raise err from None
        return "application/json", json.loads(text)

    def __repr__(self) -> str:
        return "<ZoningLookupProcessor>"


def _typed_inputs(data: dict[str, Any]) -> dict[str, Any]:
    """The lookup's inputs with their types; unknown or mistyped: a 400 naming the input."""
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name == "ward":
            values[name] = None if value is None else str(value)
            continue
        kind = _FIELDS.get(name)
        if kind is None:
            raise _bad_input(f"unknown input {name!r}; inputs are {', '.join([*_FIELDS, 'ward', 'as_of', 'view'])}")
        try:
            if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
                raise ValueError
            values[name] = kind(value)
        except (TypeError, ValueError):
            raise _bad_input(f"input {name!r} must be a {kind.__name__}, not {value!r}") from None
    return values


def _bad_input(message: str) -> ProcessorExecuteError:
    err = ProcessorExecuteError(user_msg=message)
    err.http_status_code = HTTPStatus.BAD_REQUEST
    err.ogc_exception_code = "InvalidParameterValue"
    return err
