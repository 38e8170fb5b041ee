"""Edits of plan features as OGC API - Features Part 4 sees them: GeoJSON in, ETags, draft plans only.

The web routes (:mod:`gis_service.api.features`) are thin; this module does the work on a connection inside the
caller's transaction, through :mod:`gis_service.editing.history` (so every change is in the history with user and
reason):

* **Optimistic locking.** A feature's ETag is its layer, id and ``row_version`` (which the database raises on every
  real change). A write locks the row (``SELECT ... FOR UPDATE``), then compares: of two writers who read the same
  version, the second waits for the first to commit, then sees the new version and gets 412. Nothing is lost.
* **CRS.** Geometry comes in any CRS the service offers (``Content-Crs``; CRS84 when absent) and is stored in
  EPSG:9214 by PostGIS with the official 7-parameter shift. EPSG:4326 is latitude first, as its definition says.
* **Drafts only.** Zones, red lines and building lines belong to a plan version: only a draft may change
  (approved and superseded versions are read-only; start a new draft from the approved one). Parcels and buildings
  are cadastral and survey data outside plan versions: planners edit them directly.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection

from gis_service.editing.history import (
    delete_feature,
    editable_columns,
    feature_history,
    insert_feature,
    restore_feature,
    update_feature,
)
from gis_service.errors import NotFound, PreconditionFailed, PreconditionRequired, ReadOnly, ValidationError
from gis_service.geojson import GeoJSONError, parse_geometry
from gis_service.model import LAYERS as CATALOGUE
from gis_service.model import PLAN_LAYERS as CATALOGUE_PLAN_LAYERS
from gis_service.model import Column
from gis_service.model.layers import PROVENANCE

__all__ = [
    "CONTENT_CRS",
    "EDITABLE_LAYERS",
    "InputCrs",
    "Written",
    "create_item",
    "delete_item",
    "deleted_items",
    "etag_of",
    "history_geometry",
    "output_crs",
    "parse_content_crs",
    "patch_item",
    "render_item",
    "replace_item",
    "restore_item",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"

#: Collections that may be edited, and the geometry each takes (stored as the Multi- type).
EDITABLE_LAYERS: dict[str, tuple[str, ...]] = {
    name: layer.geometry_types for name, layer in CATALOGUE.items() if layer.editable
}
#: Layers whose features belong to a plan version (column plan_id): only drafts may change.
PLAN_LAYERS = frozenset(CATALOGUE_PLAN_LAYERS)
#: Properties a client may send back as it read them but never sets (bookkeeping and derived columns).
READ_ONLY_PROPERTIES = frozenset(
    {"id", "row_version", "created_at", "created_by", "updated_at", "updated_by", "geom_area_m2", "geom"}
)


@dataclass(frozen=True)
class InputCrs:
    """A CRS the service offers for geometries in and out.

    Attributes
    ----------
    uri
        Its OGC URI.
    srid
        Its EPSG code in PostGIS.
    lat_first
        Coordinates come latitude first (EPSG:4326 as defined).
    decimals
        Digits kept in GeoJSON output.
    """

    uri: str
    srid: int
    lat_first: bool = False
    decimals: int = 9


CONTENT_CRS: dict[str, InputCrs] = {
    c.uri: c
    for c in (
        InputCrs(CRS84, 4326, decimals=9),
        InputCrs(EPSG + "4326", 4326, lat_first=True, decimals=9),
        InputCrs(EPSG + "9214", 9214, decimals=4),
        InputCrs(EPSG + "3857", 3857, decimals=4),
    )
}
_SHORT = {"CRS84": CRS84, "OGC:CRS84": CRS84, **{f"EPSG:{s}": EPSG + s for s in ("4326", "9214", "3857")}}


def parse_content_crs(value: str | None) -> InputCrs:
    """The CRS of a ``Content-Crs`` header (``<uri>``, a bare URI, or ``EPSG:9214``); CRS84 when absent.

    >>> parse_content_crs("<http://www.opengis.net/def/crs/EPSG/0/9214>").srid
    9214
    >>> parse_content_crs(None).uri
    'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
    """
    if value is None or not value.strip():
        return CONTENT_CRS[CRS84]
    uri = value.strip().removeprefix("<").removesuffix(">").strip()
    uri = _SHORT.get(uri.upper(), uri).replace("https://", "http://")
    crs = CONTENT_CRS.get(uri)
    if crs is None:
        raise ValidationError(f"Content-Crs {value!r} is not offered; use one of {', '.join(CONTENT_CRS)}")
    return crs


def output_crs(value: str | None) -> InputCrs:
    """The CRS of a ``crs`` query parameter (same forms as ``Content-Crs``)."""
    try:
        return parse_content_crs(value)
    except ValidationError:
        raise ValidationError(f"crs {value!r} is not offered; use one of {', '.join(CONTENT_CRS)}") from None


def etag_of(layer: str, feature_id: int, row_version: int) -> str:
    """The strong ETag of a version of a feature.

    >>> etag_of("zones", 12, 3)
    '"zones-12-v3"'
    """
    return f'"{layer}-{feature_id}-v{row_version}"'


def _layer(layer: str) -> str:
    if layer not in EDITABLE_LAYERS:
        raise NotFound(f"collection {layer!r} cannot be edited; editable: {', '.join(EDITABLE_LAYERS)}")
    return layer


# ---- input ------------------------------------------------------------------------------------------------
def _geometry(layer: str, geometry: Any, crs: InputCrs) -> str:
    """A GeoJSON geometry in ``crs`` as hex EWKB, after checking its type and validity (naming the problem)."""
    kinds = EDITABLE_LAYERS[layer]
    try:
        geom = parse_geometry(geometry, kinds)
    except GeoJSONError as exc:
        if exc.problem == "object":
            message = f"a {layer} feature needs a GeoJSON geometry object"
        elif exc.problem == "type":
            message = f"{layer} take {' or '.join(kinds)} geometries, not {geometry.get('type')!r}"
        elif exc.problem == "unreadable":
            message = f"the geometry is not valid GeoJSON: {exc.detail}"
        else:
            message = "the geometry is empty"
        raise ValidationError(message) from None
    if crs.lat_first:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    _check_where(geom, crs)
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        raise ValidationError(
            f"the geometry is invalid: {reason} (coordinates in {crs.uri}); repair it and send it again"
        )
    return str(shapely.to_wkb(shapely.set_srid(geom, crs.srid), hex=True, include_srid=True))


#: Where plan features may lie (CRS84): Huế and well around it. Catches coordinates sent in another CRS than
#: Content-Crs says, and swapped axes, which would otherwise be stored far away without complaint.
SERVICE_AREA = (106.0, 15.0, 109.0, 17.8)


@functools.cache
def _to_crs84(srid: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{srid}", "OGC:CRS84", always_xy=True)


def _check_where(geom: Any, crs: InputCrs) -> None:
    x0, y0, x1, y1 = geom.bounds
    if crs.srid == 4326:
        lons, lats = [x0, x1], [y0, y1]
    else:
        lons, lats = _to_crs84(crs.srid).transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    w, s, e, n = SERVICE_AREA
    finite = all(math.isfinite(v) for v in (*lons, *lats))
    if not finite or min(lons) < w or max(lons) > e or min(lats) < s or max(lats) > n:
        where = f"lon {min(lons):.4f}..{max(lons):.4f}, lat {min(lats):.4f}..{max(lats):.4f}" if finite else "nowhere"
        raise ValidationError(
            f"the geometry lies at {where}, outside Huế ({w}-{e}° E, {s}-{n}° N): are the coordinates in "
            f"{crs.uri} (Content-Crs), with the axes in its order?"
        )


def _feature_parts(body: Any, *, need_geometry: bool) -> tuple[Any, dict[str, Any]]:
    if not isinstance(body, Mapping):
        raise ValidationError("the body must be a GeoJSON Feature object")
    if body.get("type", "Feature") != "Feature":
        raise ValidationError(f"the body must be a GeoJSON Feature, not a {body.get('type')!r}")
    props = body.get("properties") or {}
    if not isinstance(props, Mapping):
        raise ValidationError("'properties' must be a JSON object")
    if need_geometry and body.get("geometry") is None:
        raise ValidationError("the feature has no geometry")
    return body.get("geometry"), {k: v for k, v in props.items() if k not in READ_ONLY_PROPERTIES}


_COLUMNS: dict[str, tuple[str, ...]] = {}


def _editable(conn: Connection, layer: str) -> tuple[str, ...]:
    """The editable columns of a layer, read from the catalog once per process (a migration means a restart).

    Not the provenance (where the feature came from, its review status): a replace must not clear it, and the
    status has its own route (:func:`gis_service.provenance.set_review_status`)."""
    cols = _COLUMNS.get(layer)
    if cols is None:
        cols = _COLUMNS[layer] = tuple(c for c in editable_columns(conn, layer) if c not in _PROVENANCE)
    return cols


_PROVENANCE = frozenset(c.name for c in PROVENANCE)
#: The catalogue's columns of each layer, by name: the JSON type each property takes.
_CATALOGUE_COLUMNS = {name: {c.name: c for c in layer.columns} for name, layer in CATALOGUE.items()}


def _values(conn: Connection, layer: str, props: Mapping[str, Any]) -> dict[str, Any]:
    cols = set(_editable(conn, layer))
    unknown = sorted(set(props) - cols)
    if unknown:
        raise ValidationError(
            f"{layer} has no property {', '.join(map(repr, unknown))}; editable: {', '.join(sorted(cols - {'geom'}))}"
        )
    values = dict(props)
    if "attributes" in values and values["attributes"] is not None and not isinstance(values["attributes"], dict):
        raise ValidationError("'attributes' must be a JSON object")
    columns = _CATALOGUE_COLUMNS.get(layer, {})
    for name, value in values.items():
        if name != "attributes" and value is not None:
            _check_json_type(name, value, columns.get(name))
    return values


def _check_json_type(name: str, value: Any, column: Column | None) -> None:
    """Refuse a value PostgreSQL would not take for the column, naming the property (never repeating the value).

    A JSON true where a number or a date is expected would reach the database as a boolean, which no cast turns
    into either (a server error, not the client's); a fraction for a whole number would be rounded without a word.
    """
    if not isinstance(value, str | int | float | bool):
        kind = "a list" if isinstance(value, list) else "an object"
        raise ValidationError(f"property {name!r} takes a single value, not {kind}")
    if column is None:
        return
    if column.is_numeric and isinstance(value, bool):
        raise ValidationError(f"property {name!r} takes a number, not true or false")
    if column.type == "integer" and isinstance(value, float) and not value.is_integer():
        raise ValidationError(f"property {name!r} takes a whole number, not a fraction")
    if column.type in ("date", "datetime") and not isinstance(value, str):
        raise ValidationError(f"property {name!r} takes a date as text (YYYY-MM-DD)")


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch.

    >>> _merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 5}})
    {'b': {'c': 5, 'd': 3}}
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


# ---- checks -----------------------------------------------------------------------------------------------
def _check_plans_are_drafts(
    conn: Connection, layer: str, plan_ids: set[Any], *, current: Mapping[str, Any] | None = None
) -> None:
    if layer not in PLAN_LAYERS:
        return
    ids = {p for p in plan_ids if p is not None}
    if current is not None and ids == {current.get("plan_id")} and current.get("_plan_status") == "draft":
        return  # the plan of the feature, locked with it by _lock
    for pid in ids:
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise ValidationError(f"plan_id must be an integer, not {pid!r}")
    if not ids:
        return
    rows = conn.execute(
        sa.text("SELECT id, code, version, status FROM planning.plans WHERE id = ANY(:ids) FOR SHARE"),
        {"ids": sorted(ids)},
    ).all()
    found = {r[0] for r in rows}
    missing = ids - found
    if missing:
        raise ValidationError(f"no plan with id {', '.join(map(str, sorted(missing)))}")
    for _id, code, version, status in rows:
        if status != "draft":
            raise ReadOnly(
                f"plan {code} version {version} is {status} and read-only: edit a draft (POST /plans/{code}/drafts "
                "starts one from the approved version)"
            )


def _parse_if_match(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def _check_if_match(layer: str, feature_id: int, current: Mapping[str, Any] | None, if_match: str | None) -> None:
    tags = _parse_if_match(if_match)
    if tags is None:
        raise PreconditionRequired(
            f"send If-Match with the ETag of {layer} {feature_id} as you read it (GET the item first): "
            "a write without it could overwrite someone else's change"
        )
    if current is None:
        raise NotFound(f"{layer} {feature_id} does not exist")
    tag = etag_of(layer, feature_id, int(current["row_version"]))
    if "*" in tags or tag in tags:
        return
    raise PreconditionFailed(
        f"{layer} {feature_id} changed since you read it: it is now version {current['row_version']} "
        f"(ETag {tag}), changed by {current.get('updated_by')} at {current.get('updated_at')}; "
        "read it again and redo your change"
    )


def _lock(conn: Connection, layer: str, feature_id: int) -> dict[str, Any] | None:
    """The current row (without geometry) locked for this transaction, or None."""
    if _layer(layer) in PLAN_LAYERS:  # with the status of its plan, share-locked: publishing waits for this edit
        sql = (
            f"SELECT to_jsonb(t) - ARRAY['geom', 'geom_4326', 'geom_3857'] "  # noqa: S608
            f"|| jsonb_build_object('_plan_status', p.status) FROM planning.{layer} t "
            "JOIN planning.plans p ON p.id = t.plan_id WHERE t.id = :id FOR UPDATE OF t FOR SHARE OF p"
        )
    else:
        sql = (
            f"SELECT to_jsonb(t) - ARRAY['geom', 'geom_4326', 'geom_3857'] FROM planning.{layer} t "  # noqa: S608
            "WHERE t.id = :id FOR UPDATE"
        )
    row = conn.execute(sa.text(sql), {"id": feature_id}).scalar_one_or_none()
    return None if row is None else dict(row)


# ---- writes -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """The outcome of a write: the feature id, its new version (None once deleted) and ETag."""

    layer: str
    feature_id: int
    row_version: int | None

    @property
    def etag(self) -> str | None:
        """The feature's new ETag, or None once deleted."""
        return None if self.row_version is None else etag_of(self.layer, self.feature_id, self.row_version)


def create_item(conn: Connection, layer: str, body: Any, *, crs: InputCrs, user: str, reason: str) -> Written:
    """POST: a new feature from a GeoJSON Feature (its ``id``, if any, is ignored: the server assigns ids)."""
    geometry, props = _feature_parts(body, need_geometry=True)
    values = _values(conn, _layer(layer), props)
    values["geom"] = _geometry(layer, geometry, crs)
    _check_plans_are_drafts(conn, layer, {values.get("plan_id")})
    if layer in PLAN_LAYERS and values.get("plan_id") is None:
        raise ValidationError(f"a new {layer} feature needs the plan_id of a draft plan")
    state = insert_feature(conn, layer, values, user=user, reason=reason)
    return Written(layer, int(state["id"]), int(state["row_version"]))


def replace_item(
    conn: Connection,
    layer: str,
    feature_id: int,
    body: Any,
    *,
    crs: InputCrs,
    if_match: str | None,
    user: str,
    reason: str,
) -> Written:
    """PUT: the feature becomes exactly the body (properties not given are cleared)."""
    current = _lock(conn, _layer(layer), feature_id)
    _check_if_match(layer, feature_id, current, if_match)
    assert current is not None
    geometry, props = _feature_parts(body, need_geometry=True)
    if body.get("id") is not None and str(body["id"]) != str(feature_id):
        raise ValidationError(f"the body is feature {body['id']!r}, the address is {layer} {feature_id}")
    values = _values(conn, layer, props)
    for column in _editable(conn, layer):
        values.setdefault(column, {} if column == "attributes" else None)
    values["geom"] = _geometry(layer, geometry, crs)
    _check_plans_are_drafts(conn, layer, {current.get("plan_id"), values.get("plan_id")}, current=current)
    state = update_feature(conn, layer, feature_id, values, user=user, reason=reason)
    return Written(layer, feature_id, int(state["row_version"]))


def patch_item(
    conn: Connection,
    layer: str,
    feature_id: int,
    patch: Any,
    *,
    crs: InputCrs,
    if_match: str | None,
    user: str,
    reason: str,
) -> Written:
    """PATCH with a JSON merge patch (RFC 7396) of the Feature: given properties change, ``null`` clears one,
    ``attributes`` merges recursively; a given geometry replaces the old one."""
    current = _lock(conn, _layer(layer), feature_id)
    _check_if_match(layer, feature_id, current, if_match)
    assert current is not None
    if not isinstance(patch, Mapping):
        raise ValidationError("a merge patch must be a JSON object (a partial GeoJSON Feature)")
    unknown_keys = sorted(set(patch) - {"type", "id", "geometry", "properties", "links", "bbox"})
    if unknown_keys:
        raise ValidationError(f"a feature has no member {', '.join(map(repr, unknown_keys))}")
    if "geometry" in patch and patch["geometry"] is None:
        raise ValidationError(f"the geometry of {layer} {feature_id} cannot be removed")
    props = patch.get("properties") or {}
    if not isinstance(props, Mapping):
        raise ValidationError("'properties' must be a JSON object")
    values = _values(conn, layer, {k: v for k, v in props.items() if k not in READ_ONLY_PROPERTIES})
    if isinstance(values.get("attributes"), dict):
        values["attributes"] = _merge_patch(current.get("attributes") or {}, values["attributes"])
    elif "attributes" in values and values["attributes"] is None:
        values["attributes"] = {}
    if patch.get("geometry") is not None:
        values["geom"] = _geometry(layer, patch["geometry"], crs)
    plan_ids = {current.get("plan_id"), values.get("plan_id", current.get("plan_id"))}
    _check_plans_are_drafts(conn, layer, plan_ids, current=current)
    if not values:
        return Written(layer, feature_id, int(current["row_version"]))
    state = update_feature(conn, layer, feature_id, values, user=user, reason=reason)
    return Written(layer, feature_id, int(state["row_version"]))


def delete_item(
    conn: Connection, layer: str, feature_id: int, *, if_match: str | None, user: str, reason: str
) -> Written:
    """DELETE: recoverable (the history keeps the last state; restore it with :func:`restore_item`)."""
    current = _lock(conn, _layer(layer), feature_id)
    _check_if_match(layer, feature_id, current, if_match)
    assert current is not None
    _check_plans_are_drafts(conn, layer, {current.get("plan_id")}, current=current)
    delete_feature(conn, layer, feature_id, user=user, reason=reason)
    return Written(layer, feature_id, None)


def restore_item(
    conn: Connection, layer: str, feature_id: int, version: int, *, if_match: str | None, user: str, reason: str
) -> Written:
    """Bring back ``version`` of a feature (a new recorded change). A feature that exists needs ``If-Match``;
    a deleted one does not (there is nothing to overwrite)."""
    current = _lock(conn, _layer(layer), feature_id)
    if current is not None:
        _check_if_match(layer, feature_id, current, if_match)
    history = feature_history(conn, layer, feature_id)
    source = next((h for h in reversed(history) if h.row_version == version and h.after is not None), None)
    target_plan = None if source is None or source.after is None else source.after.get("plan_id")
    _check_plans_are_drafts(conn, layer, {target_plan, None if current is None else current.get("plan_id")})
    state = restore_feature(conn, layer, feature_id, version=version, user=user, reason=reason)
    return Written(layer, feature_id, int(state["row_version"]))


# ---- output -----------------------------------------------------------------------------------------------
def deleted_items(conn: Connection, layer: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Features deleted and not restored, latest deletion first: what can be brought back."""
    rows = conn.execute(
        sa.text(
            "SELECT * FROM (SELECT DISTINCT ON (h.feature_id) h.feature_id, h.row_version, h.changed_by, "  # noqa: S608
            "h.changed_at, h.reason FROM planning.change_history h "
            f"WHERE h.table_name = :t AND h.operation = 'delete' "
            f"AND NOT EXISTS (SELECT 1 FROM planning.{_layer(layer)} x WHERE x.id = h.feature_id) "
            "ORDER BY h.feature_id, h.id DESC) d ORDER BY d.changed_at DESC LIMIT :n"
        ),
        {"t": layer, "n": limit},
    ).all()
    return [
        {"id": r[0], "version": r[1], "deleted_by": r[2], "deleted_at": r[3].isoformat(), "reason": r[4]} for r in rows
    ]


def render_item(conn: Connection, layer: str, feature_id: int, crs: InputCrs) -> dict[str, Any]:
    """The feature as GeoJSON in ``crs`` with every stored property (drafts too), for editors."""
    geometry_sql = {
        (4326, False): "t.geom_4326",
        (4326, True): "ST_FlipCoordinates(t.geom_4326)",
        (9214, False): "t.geom",
        (3857, False): "t.geom_3857",
    }[(crs.srid, crs.lat_first)]
    row = conn.execute(
        sa.text(
            f"SELECT to_jsonb(t) - ARRAY['id', 'geom', 'geom_4326', 'geom_3857'], "  # noqa: S608 (layer checked)
            f"ST_AsGeoJSON({geometry_sql}, {crs.decimals})::json FROM planning.{_layer(layer)} t WHERE t.id = :id"
        ),
        {"id": feature_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"{layer} {feature_id} does not exist (a deleted feature keeps its history)")
    props, geometry = row
    return {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": props}


def history_geometry(ewkb_hex: str | None) -> dict[str, Any] | None:
    """A geometry of the history (hex EWKB, EPSG:9214) as GeoJSON with every digit kept."""
    if not ewkb_hex:
        return None
    from shapely.geometry import mapping

    # mapping() keeps the stored doubles; shapely.to_geojson would round them.
    result: dict[str, Any] = json.loads(json.dumps(mapping(shapely.from_wkb(bytes.fromhex(ewkb_hex)))))
    return result
