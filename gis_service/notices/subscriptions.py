"""Subscriptions to plan changes on a parcel or an area: asked by anyone, confirmed by a link, ended by a link.

An address is never shown or confirmed to anyone: asking answers the same whether the address was known or not, and
only its owner learns anything, by mail. Floods are refused (429) per address (unconfirmed subscriptions in a day) and
per client address (subscriptions in an hour), in words that say nothing of the address. The token of a subscription
is the secret of both its links (256 random bits, like the service's bearer tokens).
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.errors import NotFound, TooManyRequests, ValidationError
from gis_service.geojson import GeoJSONError, parse_geometry
from gis_service.notices.compose import ParcelName, confirmation_mail
from gis_service.notices.outbox import queue_mail, queue_sending
from gis_service.settings import NoticeSettings

__all__ = [
    "HUE_LAT",
    "HUE_LON",
    "MAX_EMAIL",
    "Subscription",
    "check_email",
    "client_key",
    "confirm",
    "subscribe",
    "unsubscribe",
]

#: The longest e-mail address (RFC 3696 errata: 64 + 1 + 255), as the table checks.
MAX_EMAIL = 320
#: One address, no display name, no list: nothing that could add a recipient or a header.
_EMAIL = re.compile(r"^[^@\s<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9\u00a0-\uffff.-]{1,255}\.[A-Za-z\u00a0-\uffff]{2,63}$")
#: Longitudes and latitudes of the province of Huế (Thừa Thiên Huế), with a margin of a few kilometres.
HUE_LON = (107.0, 108.3)
HUE_LAT = (15.95, 16.8)
#: Advisory lock namespace of counting one address's or client's subscriptions (pg_advisory_xact_lock(int, int)).
LOCK_CLASS = 2020

_FLOOD = (
    "Quá nhiều yêu cầu đăng ký từ kết nối này hoặc cho địa chỉ này; vui lòng thử lại sau. / "
    "Too many subscription requests from this connection or for this address; please try again later."
)


@dataclass(frozen=True)
class Subscription:
    """A subscription as its links see it (never with its address)."""

    id: int
    parcel_id: int | None
    lang: str
    confirmed: bool
    unsubscribed: bool


def client_key(client_addr: str) -> str:
    """What is kept of the client's address: a digest, enough to count its requests.

    >>> len(client_key("203.0.113.7"))
    32
    """
    return hashlib.sha256(b"subscriptions:" + client_addr.encode()).hexdigest()[:32]


def check_email(email: str) -> str:
    """The address trimmed, or ValidationError in plain words.

    >>> check_email(" lan@example.vn ")
    'lan@example.vn'
    """
    value = email.strip()
    if len(value) > MAX_EMAIL:
        raise ValidationError(f"email: at most {MAX_EMAIL} characters (địa chỉ thư quá dài)")
    if not _EMAIL.match(value):
        raise ValidationError("email: not one e-mail address such as ten@example.vn (địa chỉ thư không hợp lệ)")
    return value


def _area_wkb(area: Any, limits: NoticeSettings) -> bytes:
    """A GeoJSON Polygon or MultiPolygon in CRS84 checked (readable, in Huế, valid, few vertices) as WKB."""
    try:
        geom = parse_geometry(area, ("Polygon", "MultiPolygon"))
    except GeoJSONError as exc:
        if exc.problem in ("object", "type"):
            raise ValidationError("area: a GeoJSON Polygon or MultiPolygon in lon/lat (CRS84) is needed") from None
        if exc.problem == "empty":
            raise ValidationError("area: the polygon is empty") from None
        raise ValidationError(f"area: not a readable GeoJSON polygon: {exc.detail}") from None
    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > limits.max_vertices:
        raise ValidationError(f"area: {vertices} vertices; at most {limits.max_vertices} are accepted")
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) for v in coords.ravel()):
        raise ValidationError("area: coordinates must be finite numbers")
    xs, ys = coords[:, 0], coords[:, 1]
    if not (HUE_LON[0] <= xs.min() and xs.max() <= HUE_LON[1] and HUE_LAT[0] <= ys.min() and ys.max() <= HUE_LAT[1]):
        raise ValidationError(
            f"area: outside the province of Huế (lon {HUE_LON[0]}..{HUE_LON[1]}, lat {HUE_LAT[0]}..{HUE_LAT[1]}; "
            "give lon first, then lat) / khu vực nằm ngoài tỉnh Huế"
        )
    if not geom.is_valid:
        raise ValidationError(f"area: the polygon is not valid ({shapely.is_valid_reason(geom)}): draw it again")
    return bytes(shapely.to_wkb(geom))


def _check_limits(conn: Connection, email: str, client: str, limits: NoticeSettings) -> None:
    # counted under a lock per address and per client: parallel requests cannot all pass the count at once
    for key in (email.lower(), client):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"), {"c": LOCK_CLASS, "k": key})
    counts = conn.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM planning.subscriptions WHERE lower(email) = lower(:e) "
            "AND confirmed_at IS NULL AND created_at > now() - interval '1 day'), "
            "(SELECT count(*) FROM planning.subscriptions WHERE client_key = :c "
            "AND created_at > now() - interval '1 hour')"
        ),
        {"e": email, "c": client},
    ).one()
    if counts[0] >= limits.max_unconfirmed_per_address:
        raise TooManyRequests(_FLOOD, retry_after_s=3600)
    if counts[1] >= limits.max_per_client_hour:
        raise TooManyRequests(_FLOOD, retry_after_s=600)


def subscribe(
    conn: Connection,
    *,
    email: str,
    parcel_id: int | None = None,
    area: Any = None,
    lang: str = "vi",
    client_addr: str,
    limits: NoticeSettings,
) -> None:
    """Write a subscription (unconfirmed) to a parcel or an area, its confirmation mail, and the job that sends it.

    Runs in the caller's transaction; returns nothing, as nothing may be told of the address.

    Raises
    ------
    ValidationError
        A malformed address, neither or both of a parcel and an area, an area unreadable, invalid, outside the
        province or too large.
    NotFound
        No parcel with that id.
    TooManyRequests
        A flood to one address or from one client (:class:`~gis_service.settings.NoticeSettings`).
    """
    address = check_email(email)
    if lang not in ("vi", "en"):
        raise ValidationError("lang: vi or en")
    if (parcel_id is None) == (area is None):
        raise ValidationError("give parcel_id or area (a GeoJSON polygon), one of them")
    params: dict[str, Any] = {"p": parcel_id, "a": None}
    if parcel_id is not None:
        found = conn.execute(sa.text("SELECT 1 FROM planning.parcels WHERE id = :p"), {"p": parcel_id}).first()
        if found is None:
            raise NotFound(f"parcel_id: no parcel {parcel_id} (không có thửa đất này)")
        geom_sql = "(SELECT ST_Multi(geom) FROM planning.parcels WHERE id = :p)"
    else:
        params["a"] = _area_wkb(area, limits)
        # the database's official VN-2000 shift, as every other transform of the project
        geom_sql = "ST_Multi(ST_Transform(ST_SetSRID(ST_GeomFromWKB(:a), 4326), 9214))"
        km2 = conn.execute(sa.text(f"SELECT ST_Area({geom_sql}) / 1e6"), params).scalar_one()
        if km2 > limits.max_area_km2:
            raise ValidationError(
                f"area: about {km2:,.1f} km²; at most {limits.max_area_km2:g} km² is accepted: draw a smaller area"
            )
    client = client_key(client_addr)
    _check_limits(conn, address, client, limits)
    token = secrets.token_urlsafe(32)
    sub_id = conn.execute(
        sa.text(
            "INSERT INTO planning.subscriptions (email, parcel_id, geom, lang, token, client_key) "  # noqa: S608
            f"VALUES (:e, :p, {geom_sql}, :l, :t, :c) RETURNING id"
        ),
        {**params, "e": address, "l": lang, "t": token, "c": client},
    ).scalar_one()
    mail = confirmation_mail(token=token, lang=lang, parcel_id=parcel_id, parcel_name=_parcel_name(conn, parcel_id))
    queue_mail(conn, to_addr=address, mail=mail, event="confirm", subscription_id=sub_id)
    queue_sending(conn, reason="confirm")


def _parcel_name(conn: Connection, parcel_id: int | None) -> ParcelName | None:
    """How a parcel is named in mails: số thửa, số tờ and ward."""
    if parcel_id is None:
        return None
    row = conn.execute(
        sa.text("SELECT sheet_no, parcel_no, ward FROM planning.parcels WHERE id = :p"), {"p": parcel_id}
    ).first()
    return None if row is None else (row.parcel_no, row.sheet_no, row.ward)


def _by_token(conn: Connection, token: str) -> Any:
    row = conn.execute(
        sa.text(
            "SELECT id, parcel_id, lang, confirmed_at IS NOT NULL, unsubscribed_at IS NOT NULL "
            "FROM planning.subscriptions WHERE token = :t FOR UPDATE"
        ),
        {"t": token},
    ).first()
    if row is None:
        raise NotFound("this link is unknown or out of date (liên kết không đúng hoặc đã hết hạn)")
    return row


def confirm(conn: Connection, token: str) -> Subscription:
    """Confirm the subscription of ``token`` (again: nothing changes). NotFound for an unknown token.

    An older subscription of the same address to the same place is ended: one place, one notice.
    """
    row = _by_token(conn, token)
    if not row[3] and not row[4]:
        conn.execute(sa.text("UPDATE planning.subscriptions SET confirmed_at = now() WHERE id = :id"), {"id": row.id})
        conn.execute(
            sa.text(
                "UPDATE planning.subscriptions o SET unsubscribed_at = now() FROM planning.subscriptions n "
                "WHERE n.id = :id AND o.id <> n.id AND lower(o.email) = lower(n.email) AND o.confirmed_at IS NOT NULL "
                "AND o.unsubscribed_at IS NULL AND ST_Equals(o.geom, n.geom)"
            ),
            {"id": row.id},
        )
    return Subscription(row.id, row.parcel_id, row.lang, confirmed=not row[4], unsubscribed=bool(row[4]))


def unsubscribe(conn: Connection, token: str) -> Subscription:
    """End the subscription of ``token`` (again: nothing changes); its unsent notices are not sent.

    NotFound for an unknown token.
    """
    row = _by_token(conn, token)
    if not row[4]:
        conn.execute(
            sa.text("UPDATE planning.subscriptions SET unsubscribed_at = now() WHERE id = :id"), {"id": row.id}
        )
    return Subscription(row.id, row.parcel_id, row.lang, confirmed=bool(row[3]), unsubscribed=True)
