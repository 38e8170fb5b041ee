"""Users, roles, passwords and bearer tokens.

Roles: ``public`` (reads, the default), ``planner`` (edits draft plans, publishes), ``permit_officer`` (records permit
decisions), ``admin`` (manages users; passes every role check).

Passwords are hashed with **scrypt** from the standard library (RFC 7914; one of the schemes OWASP recommends), at
OWASP's cost N=2^14, r=8, p=5 (16 MiB a hash), stored as ``scrypt$ln=14,r=8,p=5$<salt>$<key>``
(base64), so the cost can be raised later without invalidating stored hashes. No extra dependency, no C extension.

Tokens are **random opaque strings** (256 bits), handed to the client once; the database keeps only their SHA-256
with an expiry. Why not signed JWTs: every request checks the token against the database anyway (a disabled user
must be locked out at once, and the role may change), and a JWT would add a signing key to keep secret, to share
between processes and to rotate, for nothing. Revoking is one UPDATE; a stolen copy of the table lets no one in.

Functions take a SQLAlchemy connection inside the caller's transaction and raise :mod:`gis_service.errors` classes;
the web app reads the token of a request and checks roles in :mod:`gis_service.api.deps`.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gis_service.errors import NotFound, TooManyRequests, Unauthorized, ValidationError

__all__ = [
    "IssuedToken",
    "Role",
    "User",
    "authenticate",
    "create_user",
    "disable_user",
    "get_user",
    "hash_password",
    "issue_token",
    "list_users",
    "login",
    "revoke_token",
    "user_for_token",
    "verify_password",
]


class Role(enum.StrEnum):
    """What a user may do. ``admin`` passes every role check."""

    PUBLIC = "public"
    PLANNER = "planner"
    PERMIT_OFFICER = "permit_officer"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """A user of the service: its id, unique name (any case), role, and whether it is locked out."""

    id: int
    name: str
    role: Role
    disabled: bool

    def has_role(self, *roles: Role) -> bool:
        """True for one of ``roles``, and always for an administrator."""
        return self.role is Role.ADMIN or self.role in roles


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token: the secret itself exists only here, the database keeps its SHA-256."""

    access_token: str
    expires_at: datetime
    expires_in: int
    user: User

    def as_oauth2(self) -> dict[str, str | int]:
        """The OAuth2 token response (RFC 6749 §5.1)."""
        return {"access_token": self.access_token, "token_type": "bearer", "expires_in": self.expires_in}


# ---- passwords --------------------------------------------------------------------------------------------
SCRYPT_LOG2_N = 14
SCRYPT_R = 8
SCRYPT_P = 5
_SCRYPT_MAXMEM = 256 * 1024 * 1024
_HASH_RE = re.compile(r"^scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
MIN_PASSWORD_LENGTH = 8


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, log2_n: int = SCRYPT_LOG2_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Hash a password with scrypt and a random 16-byte salt.

    >>> h = hash_password("mật khẩu dài", log2_n=10)
    >>> h.startswith("scrypt$ln=10,r=8,p=5$"), verify_password("mật khẩu dài", h), verify_password("x", h)
    (True, True, False)
    """
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
    return f"scrypt$ln={log2_n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    m = _HASH_RE.match(stored or "")
    if m is None:
        return False
    log2_n, r, p = (int(m.group(i)) for i in (1, 2, 3))
    salt, expected = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=len(expected)
    )
    return hmac.compare_digest(key, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that the answer takes as long as for a real user."""
    return hash_password(secrets.token_urlsafe(16))


# ---- users ------------------------------------------------------------------------------------------------
_NAME_RE = re.compile(r"^[\w.@-]{2,64}$")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}: expected one of {', '.join(r.value for r in Role)}") from None


def _user(row: Any) -> User:
    return User(id=row[0], name=row[1], role=Role(row[2]), disabled=row[3])


def create_user(
    conn: Connection,
    name: str,
    role: Role | str,
    password: str,
    *,
    full_name: str | None = None,
    created_by: str | None = None,
) -> User:
    """Add a user; names are unique regardless of case.

    Raises
    ------
    ValidationError
        Bad name (2-64 letters, digits, ``. _ @ -``), unknown role, password shorter than 8 characters, or the name
        is taken.
    """
    if not _NAME_RE.match(name or ""):
        raise ValidationError(f"user name {name!r} is not allowed: 2-64 letters, digits or . _ @ - (e.g. lan.nguyen)")
    role = _role(role)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password of {name} is too short: at least {MIN_PASSWORD_LENGTH} characters")
    try:
        with conn.begin_nested():
            row = conn.execute(
                sa.text(
                    "INSERT INTO auth.users (name, role, password_hash, full_name, created_by) "
                    "VALUES (:name, :role, :hash, :full_name, :by) RETURNING id, name, role, disabled"
                ),
                {
                    "name": name,
                    "role": role.value,
                    "hash": hash_password(password),
                    "full_name": full_name,
                    "by": created_by,
                },
            ).one()
    except IntegrityError:
        raise ValidationError(f"a user named {name!r} exists already") from None
    return _user(row)


def get_user(conn: Connection, name: str) -> User:
    """The user of that name (any case); raises :class:`NotFound`."""
    row = conn.execute(
        sa.text("SELECT id, name, role, disabled FROM auth.users WHERE lower(name) = lower(:name)"), {"name": name}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no user named {name!r}")
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    """Every user, by name."""
    rows = conn.execute(sa.text("SELECT id, name, role, disabled FROM auth.users ORDER BY lower(name)")).all()
    return [_user(r) for r in rows]


def disable_user(conn: Connection, name: str) -> User:
    """Lock a user out: it can no longer log in, and every token it holds is revoked now."""
    user = get_user(conn, name)
    conn.execute(
        sa.text("UPDATE auth.users SET disabled = true, disabled_at = coalesce(disabled_at, now()) WHERE id = :id"),
        {"id": user.id},
    )
    conn.execute(
        sa.text("UPDATE auth.tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL"),
        {"id": user.id},
    )
    return User(id=user.id, name=user.name, role=user.role, disabled=True)


def authenticate(conn: Connection, name: str, password: str) -> User:
    """The user whose name and password these are.

    Raises
    ------
    Unauthorized
        Unknown name, wrong password or disabled user: one message for all three, so that the answer does not tell
        which names exist (and an unknown name takes as long as a wrong password).
    """
    row = conn.execute(
        sa.text("SELECT id, name, role, disabled, password_hash FROM auth.users WHERE lower(name) = lower(:name)"),
        {"name": name or ""},
    ).one_or_none()
    ok = verify_password(password or "", row[4] if row is not None else _dummy_hash())
    if row is None or not ok or row[3]:
        raise Unauthorized("wrong user name or password, or the user is disabled", error="")
    conn.execute(sa.text("UPDATE auth.users SET last_login_at = now() WHERE id = :id"), {"id": row[0]})
    return User(id=row[0], name=row[1], role=Role(row[2]), disabled=False)


# ---- tokens -----------------------------------------------------------------------------------------------
TOKEN_PREFIX = "hue_"  # makes a leaked token recognisable to secret scanners


def _token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_token(conn: Connection, user: User, *, ttl_s: int, client_addr: str | None = None) -> IssuedToken:
    """A new bearer token for ``user``, valid ``ttl_s`` seconds."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at: datetime = conn.execute(
        sa.text(
            "INSERT INTO auth.tokens (token_sha256, user_id, expires_at, client_addr) "
            "VALUES (:digest, :uid, now() + make_interval(secs => :ttl), :addr) RETURNING expires_at"
        ),
        {"digest": _token_digest(token), "uid": user.id, "ttl": ttl_s, "addr": client_addr},
    ).scalar_one()
    return IssuedToken(access_token=token, expires_at=expires_at, expires_in=ttl_s, user=user)


def user_for_token(conn: Connection, token: str) -> User:
    """The user a bearer token belongs to; raises :class:`Unauthorized` when it is unknown, expired or revoked."""
    row = conn.execute(
        sa.text(
            "SELECT u.id, u.name, u.role, u.disabled, t.expires_at <= now(), t.revoked_at IS NOT NULL "
            "FROM auth.tokens t JOIN auth.users u ON u.id = t.user_id WHERE t.token_sha256 = :digest"
        ),
        {"digest": _token_digest(token)},
    ).one_or_none()
    if row is None:
        raise Unauthorized("the bearer token is not valid: log in again at /auth/token")
    if row[5] or row[3]:
        raise Unauthorized("the bearer token was revoked (logged out or user disabled): log in again")
    if row[4]:
        raise Unauthorized("the bearer token has expired: log in again at /auth/token")
    return User(id=row[0], name=row[1], role=Role(row[2]), disabled=False)


def revoke_token(conn: Connection, token: str) -> bool:
    """Revoke one token (log out); True when it was valid until now."""
    revoked = conn.execute(
        sa.text("UPDATE auth.tokens SET revoked_at = now() WHERE token_sha256 = :digest AND revoked_at IS NULL"),
        {"digest": _token_digest(token)},
    ).rowcount
    return bool(revoked)


# ---- logging in, slowed down after failures ----------------------------------------------------------------
def _check_login_rate(
    conn: Connection, name: str, client_addr: str, *, max_per_user: int, max_per_address: int, window_s: int
) -> None:
    row = conn.execute(
        sa.text(
            "SELECT count(*) FILTER (WHERE lower(name) = lower(:name)), "
            "min(failed_at) FILTER (WHERE lower(name) = lower(:name)), "
            "count(*) FILTER (WHERE client_addr = :addr), min(failed_at) FILTER (WHERE client_addr = :addr), now() "
            "FROM auth.login_failures "
            "WHERE failed_at > now() - make_interval(secs => :w) "
            "AND (lower(name) = lower(:name) OR client_addr = :addr)"
        ),
        {"name": name, "addr": client_addr, "w": window_s},
    ).one()
    by_user, first_user, by_addr, first_addr, now = row
    for count, limit, first, what in (
        (by_user, max_per_user, first_user, "this user name"),
        (by_addr, max_per_address, first_addr, "this address"),
    ):
        if count >= limit:
            wait = max(1, int(window_s - (now - first).total_seconds()) + 1)
            raise TooManyRequests(
                f"too many failed logins for {what}: try again in {wait} s", retry_after_s=min(wait, window_s)
            )


def login(
    engine: Engine,
    name: str,
    password: str,
    *,
    client_addr: str,
    ttl_s: int,
    max_failures_per_user: int = 5,
    max_failures_per_address: int = 20,
    failure_window_s: int = 900,
) -> IssuedToken:
    """The OAuth2 password flow: check the rate of failures, the password, then issue a token.

    A failure is recorded in its own committed transaction (so that it counts even though the login fails).

    Raises
    ------
    TooManyRequests
        Too many failed logins for the name or the address within ``failure_window_s``.
    Unauthorized
        Wrong name or password, or a disabled user.
    """
    with engine.begin() as conn:
        _check_login_rate(
            conn,
            name,
            client_addr,
            max_per_user=max_failures_per_user,
            max_per_address=max_failures_per_address,
            window_s=failure_window_s,
        )
        try:
            user = authenticate(conn, name, password)
        except Unauthorized:
            failed = True
        else:
            failed = False
            conn.execute(sa.text("DELETE FROM auth.login_failures WHERE lower(name) = lower(:name)"), {"name": name})
            return issue_token(conn, user, ttl_s=ttl_s, client_addr=client_addr)
    assert failed
    with engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM auth.login_failures WHERE failed_at < now() - make_interval(secs => :w)"),
            {"w": failure_window_s},
        )
        conn.execute(
            sa.text("INSERT INTO auth.login_failures (name, client_addr) VALUES (:name, :addr)"),
            {"name": (name or "")[:200], "addr": client_addr},
        )
    raise Unauthorized("wrong user name or password, or the user is disabled", error="")
