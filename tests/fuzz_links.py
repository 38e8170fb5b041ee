"""OpenAPI links over the editing, publishing, permit and user routes, for the stateful fuzzing of
``tests/test_fuzz.py``: which answer feeds which next request (a draft's id into a new feature, a feature's ETag into
its next edit, a history into a restore, an application into its checks and decisions, a new user into a login).

Most links leave the body to schemathesis (random, often invalid); some send a valid one (a feature inside Huế, a
decision with its number and date) or only its essentials (a geometry, a lot), the rest drawn, so that sequences
also get past validation into the deeper states. The features' links lead to the operations of each layer that
:func:`fuzzing.per_layer` adds to the document, so that a feature's edits draw the properties of its layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["EDITING", "OFFICE", "Workflow", "role_for", "with_links"]

LON, LAT = 107.5790, 16.4698  # the sample's control point (CRS84), inside the draft plans
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[LON - 0.001, LAT - 0.001], [LON, LAT - 0.001], [LON, LAT], [LON - 0.001, LAT], [LON - 0.001, LAT - 0.001]]
    ],
}
ROAD = {"type": "LineString", "coordinates": [[LON - 0.002, LAT + 0.001], [LON + 0.002, LAT + 0.001]]}
#: A feature of each editable layer that a draft plan takes, as the links send it (plan_id filled in by the link).
NEW_FEATURES: dict[str, dict[str, Any]] = {
    "zones": {"geometry": SQUARE, "properties": {"zone_code": "F1", "land_use_code": "ODT", "max_floors": 4}},
    "red_lines": {"geometry": ROAD, "properties": {"road_name": "Lê Lợi"}},
    "building_lines": {"geometry": ROAD, "properties": {}},
    "parcels": {"geometry": SQUARE, "properties": {"ward": "Thuận Thành", "sheet_no": 99, "parcel_no": 7}},
    "buildings": {"geometry": SQUARE, "properties": {"floors": 2}},
}
REQUIRED = frozenset({"land_use_code", "ward"})  # properties a new feature cannot do without (sheet, parcel drawn)
CHECK = {
    "sheet_no": 12,
    "parcel_no": 35,
    "ward": "Thuận Thành",
    "footprint": {
        "type": "Polygon",
        "coordinates": [
            [
                [LON - 0.0001, LAT - 0.00005],
                [LON, LAT - 0.00005],
                [LON, LAT],
                [LON - 0.0001, LAT],
                [LON - 0.0001, LAT - 0.00005],
            ]
        ],
    },
    "floors": 2,
    "use": "ODT",
}

CRS84 = {"header.Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"}  # else a random one, a 400
FIXED = {"merge_body": False}  # the link's body as it is, not merged into a drawn one
Links = dict[tuple[str, str, str], dict[str, dict[str, Any]]]


def _ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _items(layer: str) -> str:
    """The items of a layer; the operations of each layer are those of :func:`fuzzing.per_layer`."""
    return f"/ogc/collections/{layer}/items"


def _new_feature(layer: str, plan_id: str | None, *, drawn: bool = False) -> dict[str, Any]:
    """A new feature inside the plans: as :data:`NEW_FEATURES` says, or (``drawn``) with only its geometry and
    required properties set and the others drawn at random."""
    body: dict[str, Any] = {"type": "Feature", **json.loads(json.dumps(NEW_FEATURES[layer]))}
    if drawn:
        body["properties"] = {k: v for k, v in body["properties"].items() if k in REQUIRED}
    if plan_id is not None:
        body["properties"]["plan_id"] = plan_id
    return {
        "operationRef": _ref("post", _items(layer)),
        "parameters": CRS84,
        "requestBody": body,
        "x-schemathesis": {"merge_body": drawn},
    }


def _feature_links(layer: str) -> Links:
    """A feature's life: from an answer about it to its next edits (its ETag as If-Match), history, restore."""
    item = _items(layer) + "/{feature_id}"
    restore = item + "/history/{version}/restore"
    answer = {"path.feature_id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}
    edits = {
        "Patch": {"operationRef": _ref("patch", item), "parameters": answer},  # the layer's properties, drawn
        "Annotate": {
            "operationRef": _ref("patch", item),
            "parameters": answer | CRS84,
            "requestBody": {"properties": {"attributes": {"ghi_chu": "kiểm tra"}}},
            "x-schemathesis": FIXED,
        },
        "Replace": {"operationRef": _ref("put", item), "parameters": answer},
        "PutAsRead": {
            "operationRef": _ref("put", item),
            "parameters": answer | CRS84,
            "requestBody": "$response.body",
            "x-schemathesis": FIXED,
        },
        "RestoreThisVersion": {
            "operationRef": _ref("post", restore),
            "parameters": answer | {"path.version": "$response.body#/properties/row_version"},
        },
        "Delete": {"operationRef": _ref("delete", item), "parameters": answer},
        "History": {
            "operationRef": _ref("get", item + "/history"),
            "parameters": {"path.feature_id": "$response.body#/id"},
        },
    }
    return {
        ("post", _items(layer), "201"): edits,
        ("patch", item, "200"): edits,
        ("put", item, "200"): edits,
        ("post", restore, "200"): edits,
        ("delete", item, "204"): {
            "HistoryAfterDelete": {
                "operationRef": _ref("get", item + "/history"),
                "parameters": {"path.feature_id": "$request.path.feature_id"},
            },
            "Deleted": {"operationRef": _ref("get", f"/ogc/collections/{layer}/deleted")},
        },
        ("get", item + "/history", "200"): {
            "Restore": {
                "operationRef": _ref("post", restore),
                "parameters": {
                    "path.feature_id": "$response.body#/id",
                    "path.version": "$response.body#/changes/*/version",
                },
            }
        },
        ("get", f"/ogc/collections/{layer}/deleted", "200"): {
            "RestoreDeleted": {
                "operationRef": _ref("post", restore),
                "parameters": {
                    "path.feature_id": "$response.body#/deleted/0/id",
                    "path.version": "$response.body#/deleted/0/version",
                },
            }
        },
    }


def _editing_links() -> Links:
    """Plans, drafts, publishing, feature writes, history and restore: (method, path, status) -> named links."""
    publish = "/plans/{code}/publish"
    drafts = "/plans/{code}/drafts"
    links: Links = {
        ("get", "/plans", "200"): {
            "StartDraft": {
                "operationRef": _ref("post", drafts),
                "parameters": {"path.code": "$response.body#/plans/*/code"},
            },
            "Publish": {
                "operationRef": _ref("post", publish),
                "parameters": {"path.code": "$response.body#/plans/*/code"},
            },
            "AddZone": _new_feature("zones", "$response.body#/plans/*/id"),
            "AddDrawnZone": _new_feature("zones", "$response.body#/plans/*/id", drawn=True),
            "AddParcel": _new_feature("parcels", None, drawn=True),  # drawn numbers: each parcel's are unique
            "AddBuilding": _new_feature("buildings", None),
            "AddDrawnBuilding": _new_feature("buildings", None, drawn=True),
        },
        ("post", drafts, "201"): {
            "PublishIt": {
                "operationRef": _ref("post", publish),
                "parameters": {"path.code": "$response.body#/code"},
                "requestBody": {"version": "$response.body#/version"},
            },
            "PublishWithDecision": {
                "operationRef": _ref("post", publish),
                "parameters": {"path.code": "$response.body#/code"},
                "requestBody": {
                    "decision_no": "15/QĐ-UBND",
                    "decision_date": "2026-11-20",
                    "version": "$response.body#/version",
                },
                "x-schemathesis": FIXED,
            },
            "ListIt": {"operationRef": _ref("get", "/plans"), "parameters": {"query.code": "$response.body#/code"}},
            **{
                f"Add_{layer}{'_drawn' * drawn}": _new_feature(layer, "$response.body#/id", drawn=drawn)
                for layer in ("zones", "red_lines", "building_lines")
                for drawn in (False, True)
            },
        },
        ("post", publish, "200"): {
            "Job": {
                "operationRef": _ref("get", "/jobs/{job_id}"),
                "parameters": {"path.job_id": "$response.body#/job/id"},
            },
            "NextDraft": {
                "operationRef": _ref("post", drafts),
                "parameters": {"path.code": "$response.body#/published/code"},
            },
        },
    }
    for layer in NEW_FEATURES:
        links |= _feature_links(layer)
    return links


def _office_links() -> Links:
    """Permit applications, their checks and decisions; users, their logins: (method, path, status) -> links."""
    application = "/permits/applications/{application_id}"
    check = "/permits/checks/{check_id}"
    return {
        ("post", "/permits/applications", "201"): {
            "Read": {
                "operationRef": _ref("get", application),
                "parameters": {"path.application_id": "$response.body#/id"},
            },
            "Check": {
                "operationRef": _ref("post", application + "/checks"),
                "parameters": {"path.application_id": "$response.body#/id"},
                "requestBody": CHECK,
                "x-schemathesis": FIXED,
            },
            "CheckDrawn": {  # the lot and footprint of CHECK, the proposal's other figures drawn
                "operationRef": _ref("post", application + "/checks"),
                "parameters": {"path.application_id": "$response.body#/id"},
                "requestBody": {k: CHECK[k] for k in ("sheet_no", "parcel_no", "ward", "footprint")},
            },
            "Decide": {
                "operationRef": _ref("post", application + "/decisions"),
                "parameters": {"path.application_id": "$response.body#/id"},
            },
        },
        ("post", application + "/checks", "201"): {
            "ReadCheck": {
                "operationRef": _ref("get", check),
                "parameters": {"path.check_id": "$response.body#/check_id"},
            },
            "Rerun": {
                "operationRef": _ref("post", check + "/rerun"),
                "parameters": {"path.check_id": "$response.body#/check_id"},
            },
            "Report": {
                "operationRef": _ref("get", check + "/report.{fmt}"),
                "parameters": {"path.check_id": "$response.body#/check_id"},
            },
            "DecideOnIt": {
                "operationRef": _ref("post", application + "/decisions"),
                "parameters": {"path.application_id": "$request.path.application_id"},
                "requestBody": {"check_id": "$response.body#/check_id"},
            },
        },
        ("post", "/auth/users", "201"): {
            "LogIn": {
                "operationRef": _ref("post", "/auth/token"),
                "requestBody": {"username": "$response.body#/name", "password": "$request.body#/password"},
                "x-schemathesis": FIXED,
            },
            "Disable": {
                "operationRef": _ref("post", "/auth/users/{name}/disable"),
                "parameters": {"path.name": "$response.body#/name"},
            },
            "Unlock": {
                "operationRef": _ref("post", "/auth/users/{name}/unlock"),
                "parameters": {"path.name": "$response.body#/name"},
            },
        },
    }


def with_links(document: dict[str, Any], links: Links) -> dict[str, Any]:
    """The application's OpenAPI document with ``links`` added to its answers."""
    doc = json.loads(json.dumps(document))
    for operations in doc["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if len(content) > 1 and "application/json" in content:
                # schemathesis cannot pick a media type for a body a link fills in; JSON is what every route reads
                operation["requestBody"]["content"] = {"application/json": content["application/json"]}
    for (method, path, status), named in links.items():
        named = json.loads(json.dumps(named))
        answers = doc["paths"][path][method]["responses"]
        for link in named.values():
            if "/*/" in json.dumps(link):  # schemathesis reads wildcards (one of a list) only in "inferred" links
                link.setdefault("x-schemathesis", {})["is_inferred"] = True
        answers.setdefault(status, {"description": "see the summary"}).setdefault("links", {}).update(named)
    return doc


@dataclass(frozen=True)
class Workflow:
    """Sequences of one kind of work: its links, and the operations a sequence starts with.

    A sequence starts where a user starts; a start anywhere else (publishing a random plan code, restoring a random
    id) is a 404 that the stateless fuzzing sends already.
    """

    name: str
    links: Links
    roots: tuple[str, ...]


EDITING = Workflow(
    "editing and publishing", _editing_links(), ("GET /plans", "POST /ogc/collections/{collection_id}/items")
)
OFFICE = Workflow("permits and users", _office_links(), ("POST /permits/applications", "POST /auth/users"))


def role_for(path: str) -> str:
    """The role a step of a sequence acts as: the one its route wants."""
    if path.startswith("/auth/users"):
        return "admin"
    if path.startswith(("/permits/applications", "/permits/checks")):
        return "permit_officer"
    return "planner"
