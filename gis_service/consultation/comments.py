"""Comments on a draft under consultation: add one (anyone, within limits), list them, moderate them.

Anyone may comment while the consultation is open, on the draft as a whole, a zone of the draft, a point or a
parcel, with a name and a contact that only planners see. Texts are stored as written (never as markup) and every
reader escapes them; control characters are refused, as no comment needs them and they break spreadsheets and logs.

Comments from one client address are limited (:class:`CommentLimits`): the address's comments are counted under a
lock of that address, in the transaction that adds the comment, so simultaneous posts wait for each other and never
pass the limit together. The address is kept only as a key (a hash; an IPv6 address by its /64 network, which one
household holds), for the limit.

Planners hide abuse (the reason is kept), answer, and record each comment's outcome: accepted, changed in a version,
or not accepted with the reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.as_of import today_in_hue
from gis_service.consultation.periods import Consultation, get_consultation
from gis_service.errors import NotFound, ReadOnly, TooManyRequests, ValidationError

__all__ = [
    "HUE_LAT_RANGE",
    "HUE_LON_RANGE",
    "MODERATION_FIELDS",
    "OUTCOMES",
    "TARGETS",
    "CommentLimits",
    "NewComment",
    "add_comment",
    "client_key",
    "comments_of",
    "moderate_comment",
]

TARGETS = ("plan", "zone", "point", "parcel")
OUTCOMES = ("pending", "accepted", "changed", "not_accepted")
#: What ``PATCH /comments/{id}`` may change.
MODERATION_FIELDS = ("hidden_reason", "answer", "outcome", "outcome_version", "outcome_reason")

#: Longitudes and latitudes of Huế (the province's land and lagoon, with a margin of a few km), degrees.
HUE_LON_RANGE = (107.0, 108.3)
HUE_LAT_RANGE = (15.95, 16.85)

MAX_BODY = 5000
MAX_NAME = 200
MAX_CONTACT = 320
MAX_MODERATION_TEXT = 20000

#: Advisory lock class of the comment limits (a client key's hash is the second key).
COMMENT_LOCK_CLASS = 20_201

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates, which make a text show other than it reads
# (a name shown backwards in the report); a body may hold line breaks and tabs, a name or a contact nothing of the kind
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .()\-]{6,22}[0-9]$")


@dataclass(frozen=True)
class CommentLimits:
    """How many comments one client address may post: ``per_window`` in ``window_s`` seconds, ``per_day`` a day."""

    per_window: int = 5
    window_s: int = 600
    per_day: int = 30


@dataclass(frozen=True)
class NewComment:
    """A comment as sent: its target (``plan``, ``zone``, ``point``, ``parcel``), the author and the text.

    ``point`` is ``(lon, lat)`` in CRS84; it pins a ``point`` comment, and may pin a zone or parcel comment too.
    """

    target: str
    author_name: str
    contact: str
    body: str
    zone_id: int | None = None
    parcel_id: int | None = None
    point: tuple[float, float] | None = None


def client_key(addr: str) -> str:
    """The key a client address is counted under: a hash of the address (of its /64 network for IPv6).

    >>> client_key("2001:db8:1:2::5") == client_key("2001:db8:1:2:ffff::9")
    True
    >>> client_key("203.0.113.7") == client_key("203.0.113.8")
    False
    """
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        text = addr
    else:
        text = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
    return hashlib.sha256(f"comment:{text}".encode()).hexdigest()[:32]


def _text(value: str, field: str, *, limit: int, multiline: bool, required: bool = True) -> str:
    """A text field in NFC, stripped and checked: not empty, not over ``limit`` characters, no control characters.

    Vietnamese typed on some systems comes decomposed (a letter, then its marks): NFC counts each letter once, as
    the reader does.
    """
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise ValidationError(f"{field}: trống, hãy điền vào / is empty: write something")
    if len(text) > limit:
        raise ValidationError(
            f"{field}: dài {len(text)} ký tự, tối đa {limit} / is {len(text)} characters long, at most {limit}"
        )
    if (_CONTROL if multiline else _CONTROL_LINE).search(text):
        raise ValidationError(
            f"{field}: có ký tự điều khiển (không in được), hãy xoá / holds a control character (not printable): "
            "remove it"
        )
    return text


def _contact(value: str) -> str:
    text = _text(value, "contact", limit=MAX_CONTACT, multiline=False)
    if not (_EMAIL.match(text) or (_PHONE.match(text) and sum(c.isdigit() for c in text) >= 8)):
        raise ValidationError(
            "contact: hãy ghi địa chỉ e-mail hoặc số điện thoại / give an e-mail address or a phone number "
            "(e.g. ten@example.vn or 0234 3822 123); it is shown to planners only"
        )
    return text


def _check_point(point: tuple[float, float]) -> None:
    lon, lat = point
    if not (HUE_LON_RANGE[0] <= lon <= HUE_LON_RANGE[1] and HUE_LAT_RANGE[0] <= lat <= HUE_LAT_RANGE[1]):
        raise ValidationError(
            f"point: ({lon:g}, {lat:g}) nằm ngoài tỉnh Huế / lies outside the province of Huế; send [longitude, "
            f"latitude] in degrees (CRS84), longitude {HUE_LON_RANGE[0]}-{HUE_LON_RANGE[1]}, latitude "
            f"{HUE_LAT_RANGE[0]}-{HUE_LAT_RANGE[1]}"
        )


def _check_target(c: NewComment) -> None:
    if c.target not in TARGETS:
        raise ValidationError(f"target: chọn một trong / must be one of {', '.join(TARGETS)}")
    needs = {"zone": ("zone_id", c.zone_id), "parcel": ("parcel_id", c.parcel_id), "point": ("point", c.point)}
    if c.target in needs and needs[c.target][1] is None:
        name = needs[c.target][0]
        raise ValidationError(f"{name}: góp ý cho {c.target} cần {name} / a comment on a {c.target} needs {name}")
    if c.target == "plan" and (c.zone_id is not None or c.parcel_id is not None or c.point is not None):
        raise ValidationError(
            "góp ý cho toàn bộ đồ án không kèm ô, thửa hay vị trí / a comment on the whole plan takes no zone_id, "
            "parcel_id or point: choose another target"
        )
    if c.zone_id is not None and c.target != "zone":
        raise ValidationError(
            f"zone_id: chỉ góp ý cho ô quy hoạch / only a comment on a zone takes one (not {c.target})"
        )
    if c.parcel_id is not None and c.target != "parcel":
        raise ValidationError(
            f"parcel_id: chỉ góp ý cho thửa đất / only a comment on a parcel takes one (not {c.target})"
        )
    if c.point is not None:
        _check_point(c.point)


def _check_open(consultation: Consultation) -> None:
    today = today_in_hue()
    status = consultation.status(today)
    if status == "open":
        return
    if status == "scheduled":
        raise ReadOnly(
            f"đợt lấy ý kiến bắt đầu ngày {consultation.starts_on:%d/%m/%Y} / the consultation begins on "
            f"{consultation.starts_on}: comments are taken from then"
        )
    ended = consultation.ends_on
    if consultation.closed_at is not None:  # closed early, or on publication
        ended = min(ended, today_in_hue(consultation.closed_at))
    raise ReadOnly(
        f"đợt lấy ý kiến đã kết thúc ngày {ended:%d/%m/%Y} / the consultation ended on {ended}: comments are no "
        "longer taken"
    )


def _count_comment(conn: Connection, key: str, limits: CommentLimits) -> None:
    """Lock the client key for this transaction, then refuse (429) if its comments reach a limit."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"), {"c": COMMENT_LOCK_CLASS, "k": key})
    # statement_timestamp(): the transaction may have waited for the lock; the rows it waited for count
    row = conn.execute(
        sa.text(
            "SELECT count(*) FILTER (WHERE created_at > statement_timestamp() - make_interval(secs => :w)) AS recent,"
            " count(*) AS today,"
            " min(created_at) FILTER (WHERE created_at > statement_timestamp() - make_interval(secs => :w)) AS first,"
            " min(created_at) AS first_today, statement_timestamp() AS now "
            "FROM planning.comments WHERE client_key = :k AND created_at > statement_timestamp() - interval '1 day'"
        ),
        {"k": key, "w": limits.window_s},
    ).one()
    if row.recent >= limits.per_window:
        wait = limits.window_s - (row.now - row.first).total_seconds()
        minutes = max(1, round(limits.window_s / 60))
        raise TooManyRequests(
            f"quá nhiều góp ý từ một địa chỉ: tối đa {limits.per_window} trong {minutes} phút / too many comments "
            f"from one address: at most {limits.per_window} in {minutes} minutes; try again later",
            retry_after_s=max(1, int(wait) + 1),
        )
    if row.today >= limits.per_day:
        wait = 86400 - (row.now - row.first_today).total_seconds()
        raise TooManyRequests(
            f"quá nhiều góp ý từ một địa chỉ: tối đa {limits.per_day} mỗi ngày / too many comments from one address: "
            f"at most {limits.per_day} a day; try again tomorrow",
            retry_after_s=max(1, int(wait) + 1),
        )


def _check_place(conn: Connection, consultation: Consultation, c: NewComment) -> None:
    if c.zone_id is not None:
        found = conn.execute(
            sa.text("SELECT 1 FROM planning.zones WHERE id = :z AND plan_id = :p"),
            {"z": c.zone_id, "p": consultation.plan_id},
        ).first()
        if found is None:
            raise ValidationError(
                f"zone_id: {c.zone_id} không phải ô quy hoạch của dự thảo / is no zone of plan {consultation.code} "
                f"version {consultation.version}, the draft under consultation"
            )
    if c.parcel_id is not None:
        found = conn.execute(sa.text("SELECT 1 FROM planning.parcels WHERE id = :p"), {"p": c.parcel_id}).first()
        if found is None:
            raise ValidationError(f"parcel_id: không có thửa đất {c.parcel_id} / there is no parcel {c.parcel_id}")


_ID_RANGE = 2**63


def add_comment(
    conn: Connection,
    consultation_id: int,
    comment: NewComment,
    *,
    client_addr: str,
    limits: CommentLimits | None = None,
) -> dict[str, Any]:
    """Add a comment to an open consultation; the comment as the public sees it. Runs in the caller's transaction,
    which holds the client's lock until it commits.

    Raises
    ------
    ValidationError
        An empty or too long text, a control character, a contact that is no e-mail or phone, a target without its
        zone, parcel or point, a zone not of the draft, no such parcel, a point outside the province.
    NotFound
        No such consultation.
    ReadOnly
        The consultation has not begun, or has ended.
    TooManyRequests
        The client address has posted its limit (``Retry-After``).
    """
    limits = limits or CommentLimits()
    _check_target(comment)
    for value, name in ((comment.zone_id, "zone_id"), (comment.parcel_id, "parcel_id")):
        if value is not None and not 0 < value < _ID_RANGE:
            raise ValidationError(f"{name}: {value} không phải mã hợp lệ / is no id (ids are positive)")
    clean = NewComment(
        target=comment.target,
        author_name=_text(comment.author_name, "author_name", limit=MAX_NAME, multiline=False),
        contact=_contact(comment.contact),
        body=_text(comment.body, "body", limit=MAX_BODY, multiline=True),
        zone_id=comment.zone_id,
        parcel_id=comment.parcel_id,
        point=comment.point,
    )
    consultation = get_consultation(conn, consultation_id)
    _check_open(consultation)
    key = client_key(client_addr)
    _count_comment(conn, key, limits)
    _check_place(conn, consultation, clean)
    new_id = conn.execute(
        sa.text(
            "INSERT INTO planning.comments (consultation_id, target, zone_id, parcel_id, geom, author_name, contact, "
            "body, client_key) VALUES (:c, :t, :z, :p, CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE "
            "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 9214) END, :n, :ct, :b, :k) RETURNING id"
        ),
        {
            "c": consultation_id,
            "t": clean.target,
            "z": clean.zone_id,
            "p": clean.parcel_id,
            "lon": clean.point[0] if clean.point else None,
            "lat": clean.point[1] if clean.point else None,
            "n": clean.author_name,
            "ct": clean.contact,
            "b": clean.body,
            "k": key,
        },
    ).scalar_one()
    return _one(conn, new_id, staff=False)


# ---- reading ------------------------------------------------------------------------------------------------
_PUBLIC = (
    "id, consultation_id, target, zone_id, parcel_id, "
    "ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat, author_name, body, created_at, "
    "answer, answered_at, outcome, outcome_version, outcome_reason"
)
_STAFF = _PUBLIC + ", contact, hidden_at, hidden_by, hidden_reason, answered_by, outcome_by, outcome_at"


def _as_dict(row: sa.RowMapping, *, staff: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "consultation_id": row["consultation_id"],
        "target": row["target"],
        "zone_id": row["zone_id"],
        "parcel_id": row["parcel_id"],
        "point": None if row["lon"] is None else [round(row["lon"], 7), round(row["lat"], 7)],
        "author_name": row["author_name"],
        "body": row["body"],
        "created_at": row["created_at"].isoformat(),
        "answer": row["answer"],
        "answered_at": row["answered_at"].isoformat() if row["answered_at"] else None,
        "outcome": row["outcome"],
        "outcome_version": row["outcome_version"],
        "outcome_reason": row["outcome_reason"],
    }
    if staff:
        out.update(
            {
                "contact": row["contact"],
                "hidden": row["hidden_at"] is not None,
                "hidden_at": row["hidden_at"].isoformat() if row["hidden_at"] else None,
                "hidden_by": row["hidden_by"],
                "hidden_reason": row["hidden_reason"],
                "answered_by": row["answered_by"],
                "outcome_by": row["outcome_by"],
                "outcome_at": row["outcome_at"].isoformat() if row["outcome_at"] else None,
            }
        )
    return out


def _one(conn: Connection, comment_id: int, *, staff: bool) -> dict[str, Any]:
    row = (
        conn.execute(
            sa.text(f"SELECT {_STAFF if staff else _PUBLIC} FROM planning.comments WHERE id = :id"),  # noqa: S608
            {"id": comment_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"không có góp ý {comment_id} / no comment {comment_id}")
    return _as_dict(row, staff=staff)


def comments_of(conn: Connection, consultation_ids: list[int], *, staff: bool) -> list[dict[str, Any]]:
    """The comments of consultations, oldest first: for the public only the visible ones and no contact; for staff
    every one, with its contact and whether and why it is hidden."""
    where = "consultation_id = ANY(:ids)" + ("" if staff else " AND hidden_at IS NULL")
    rows = (
        conn.execute(
            sa.text(f"SELECT {_STAFF if staff else _PUBLIC} FROM planning.comments WHERE {where} ORDER BY id"),  # noqa: S608
            {"ids": consultation_ids},
        )
        .mappings()
        .all()
    )
    return [_as_dict(r, staff=staff) for r in rows]


# ---- moderation ---------------------------------------------------------------------------------------------
def _visibility_sets(changes: Mapping[str, Any], params: dict[str, Any]) -> list[str]:
    """The SET clauses of hiding (with the reason) or showing again, and of the answer."""
    sets = []
    if "hidden_reason" in changes:
        reason = changes["hidden_reason"]
        if reason is None:
            sets.append("hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL")
        else:
            params["hr"] = _text(reason, "hidden_reason", limit=2000, multiline=True)
            sets.append("hidden_at = now(), hidden_by = :u, hidden_reason = :hr")
    if "answer" in changes:
        answer = changes["answer"]
        if answer is None or not str(answer).strip():
            sets.append("answer = NULL, answered_by = NULL, answered_at = NULL")
        else:
            params["a"] = _text(answer, "answer", limit=MAX_MODERATION_TEXT, multiline=True)
            sets.append("answer = :a, answered_by = :u, answered_at = now()")
    return sets


def _outcome_sets(changes: Mapping[str, Any], current: Any, params: dict[str, Any]) -> list[str]:
    """The SET clause of the outcome, checked as a whole: what changes with what the comment has."""
    if not {"outcome", "outcome_version", "outcome_reason"} & set(changes):
        return []
    outcome = changes.get("outcome") or current.outcome
    if outcome not in OUTCOMES:
        raise ValidationError(f"outcome: chọn một trong / must be one of {', '.join(OUTCOMES)}")
    version = changes.get("outcome_version", current.outcome_version)
    if version is not None and not 0 < int(version) < 2**31:
        raise ValidationError(f"outcome_version: {version} không phải phiên bản / is no plan version (1, 2, ...)")
    reason = changes.get("outcome_reason", current.outcome_reason)
    if reason is not None and str(reason).strip():
        reason = _text(reason, "outcome_reason", limit=MAX_MODERATION_TEXT, multiline=True)
    else:
        reason = None
    if outcome == "changed" and version is None:
        raise ValidationError(
            "outcome_version: 'đã điều chỉnh' cần số phiên bản quy hoạch / 'changed' needs the plan version that "
            "takes the comment in"
        )
    if outcome == "not_accepted" and reason is None:
        raise ValidationError(
            "outcome_reason: 'không tiếp thu' cần nêu lý do / 'not_accepted' needs the reason, for the commenter "
            "and the dossier"
        )
    params.update({"o": outcome, "ov": version, "or": reason})
    return ["outcome = :o, outcome_version = :ov, outcome_reason = :or, outcome_by = :u, outcome_at = now()"]


def moderate_comment(conn: Connection, comment_id: int, changes: Mapping[str, Any], *, user: str) -> dict[str, Any]:
    """Hide (``hidden_reason``: the reason) or show again (``None``), answer, record the outcome; the comment as
    staff see it. Only the keys present in ``changes`` change.

    Raises
    ------
    NotFound
        No such comment.
    ValidationError
        Nothing to change, an empty reason to hide, an unknown outcome, "changed" without the version, "not
        accepted" without the reason, a control character, a text too long.
    """
    unknown = sorted(set(changes) - set(MODERATION_FIELDS))
    if unknown:
        raise ValidationError(
            f"không sửa được / cannot change {', '.join(unknown)}: send any of {', '.join(MODERATION_FIELDS)}"
        )
    if not changes:
        raise ValidationError(f"không có gì để sửa / nothing to change: send any of {', '.join(MODERATION_FIELDS)}")
    current = conn.execute(
        sa.text("SELECT outcome, outcome_version, outcome_reason FROM planning.comments WHERE id = :id FOR UPDATE"),
        {"id": comment_id},
    ).first()
    if current is None:
        raise NotFound(f"không có góp ý {comment_id} / no comment {comment_id}")
    params: dict[str, Any] = {"id": comment_id, "u": user}
    sets = _visibility_sets(changes, params) + _outcome_sets(changes, current, params)
    conn.execute(sa.text(f"UPDATE planning.comments SET {', '.join(sets)} WHERE id = :id"), params)  # noqa: S608
    return _one(conn, comment_id, staff=True)
