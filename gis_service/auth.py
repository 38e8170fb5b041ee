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

Failed logins are counted per (user name, client address) pair and per client address, **before** the password is
checked (:func:`login`): a locked pair or address gets no check, so concurrent guesses get no more checks than the
limit; a lock doubles with each further failure. A name is locked only from the address that failed, so guessing a
planner's password from elsewhere cannot shut the planner out; an administrator lifts locks (:func:`unlock_logins`).

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
    "LoginLimits",
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
    "unlock_logins",
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
_FAILED = "wrong user name or password, or the user is disabled"
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
        raise Unauthorized(_FAILED, error="")
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


# ---- logging in: attempts counted before the check, locks per (name, address) and per address -------------
@dataclass(frozen=True)
class LoginLimits:
    """How failed logins are slowed down (from ``settings.auth``).

    Attributes
    ----------
    per_pair
        Failed logins of one user name from one client address before that pair is locked.
    per_address
        Failed logins from one client address, whatever the names, before the address is locked.
    window_s
        Seconds after the last failure (or the end of the last lock) when the failures are forgotten.
    lock_base_s, lock_max_s
        The first lock lasts ``lock_base_s``; each further failure doubles it, up to ``lock_max_s``.
    """

    per_pair: int = 5
    per_address: int = 20
    window_s: int = 900
    lock_base_s: int = 60
    lock_max_s: int = 3600


def _lock_until(failures: str) -> str:
    """SQL: the end of the lock after ``failures`` failures (NULL below the limit), doubling from the limit on."""
    return (
        f"CASE WHEN {failures} >= :limit THEN now() + make_interval(secs => least(CAST(:lock_max AS float8), "
        f"CAST(:lock_base AS float8) * power(2.0, least({failures} - :limit, 30)))) END"
    )


_NEXT_FAILURES = "(CASE WHEN a.forget_at <= now() THEN 1 ELSE a.failures + 1 END)"

# One statement counts the attempt and decides whether it may go on: a locked row is not updated and returns
# nothing. Concurrent attempts on one row wait for its row lock and then see the count of the others.
_COUNT_ATTEMPT = sa.text(
    "INSERT INTO auth.login_attempts AS a "  # noqa: S608 (constant SQL fragments, no input)
    "(scope, name_key, client_addr, failures, checks, last_at, locked_until, forget_at) "
    f"VALUES (:scope, lower(:name), :addr, 1, 1, now(), {_lock_until('1')}, "
    f"coalesce({_lock_until('1')}, now()) + make_interval(secs => :window)) "
    "ON CONFLICT (scope, name_key, client_addr) DO UPDATE SET "
    f"failures = {_NEXT_FAILURES}, checks = a.checks + 1, last_at = now(), "
    f"locked_until = {_lock_until(_NEXT_FAILURES)}, "
    f"forget_at = coalesce({_lock_until(_NEXT_FAILURES)}, now()) + make_interval(secs => :window) "
    "WHERE a.locked_until IS NULL OR a.locked_until <= now() "
    "RETURNING a.failures"
)


def _count_attempt(conn: Connection, scope: str, name: str, client_addr: str, *, limits: LoginLimits) -> None:
    """Count one failure of the ``pair`` (name, address) or of the ``address`` before the password is checked.

    Raises
    ------
    TooManyRequests
        The pair or the address is locked: nothing was counted, no password may be checked.
    """
    key = {"scope": scope, "name": name, "addr": client_addr}
    limit = limits.per_pair if scope == "pair" else limits.per_address
    counted = conn.execute(
        _COUNT_ATTEMPT,
        {
            **key,
            "limit": limit,
            "lock_base": limits.lock_base_s,
            "lock_max": limits.lock_max_s,
            "window": limits.window_s,
        },
    ).one_or_none()
    if counted is not None:
        return
    left = conn.execute(
        sa.text(
            "SELECT ceil(extract(epoch FROM locked_until - now())) FROM auth.login_attempts "
            "WHERE scope = :scope AND name_key = lower(:name) AND client_addr = :addr"
        ),
        key,
    ).scalar_one_or_none()
    wait = max(1, int(left or 1))
    what = "this user name from this address" if scope == "pair" else "this address"
    raise TooManyRequests(
        f"too many failed logins for {what}: try again in {wait} s (or ask an administrator to lift the lock)",
        retry_after_s=wait,
    )


def _take_back(conn: Connection, name: str, client_addr: str) -> None:
    """A success: the pair's failures are cleared, the address's count of this attempt taken back."""
    conn.execute(
        sa.text(
            "UPDATE auth.login_attempts SET failures = 0, locked_until = NULL, forget_at = now() "
            "WHERE scope = 'pair' AND name_key = lower(:name) AND client_addr = :addr"
        ),
        {"name": name, "addr": client_addr},
    )
    conn.execute(
        sa.text(
            "UPDATE auth.login_attempts SET failures = greatest(failures - 1, 0) "
            "WHERE scope = 'address' AND name_key = '' AND client_addr = :addr"
        ),
        {"addr": client_addr},
    )


def _forget_old(conn: Connection) -> None:
    """Delete up to 100 rows whose failures are forgotten (bounded work per failed login)."""
    conn.execute(
        sa.text(
            "DELETE FROM auth.login_attempts WHERE forget_at < now() AND (scope, name_key, client_addr) IN "
            "(SELECT scope, name_key, client_addr FROM auth.login_attempts WHERE forget_at < now() LIMIT 100)"
        )
    )


def login(
    engine: Engine, name: str, password: str, *, client_addr: str, ttl_s: int, limits: LoginLimits | None = None
) -> IssuedToken:
    """The OAuth2 password flow: count the attempt, check the password, then issue a token.

    The attempt is counted as a failure of the (name, address) pair and of the address, and committed, before the
    password is checked: a locked pair or address refuses the attempt without a check, so concurrent guesses get no
    more checks than the limit. A success clears the pair's failures and takes its count back from the address.
    A lock follows a name only from the address that failed, so no one can lock a real user out from elsewhere.

    Raises
    ------
    TooManyRequests
        The pair or the address is locked (``Retry-After``).
    Unauthorized
        Wrong name or password, or a disabled user.
    """
    limits = limits or LoginLimits()
    name = (name or "")[:200]
    with engine.begin() as conn:  # a refusal rolls back the address's count too
        _count_attempt(conn, "address", "", client_addr, limits=limits)
        _count_attempt(conn, "pair", name, client_addr, limits=limits)
    with engine.begin() as conn:
        try:
            user = authenticate(conn, name, password)
        except Unauthorized:
            pass
        else:
            _take_back(conn, name, client_addr)
            return issue_token(conn, user, ttl_s=ttl_s, client_addr=client_addr)
    with engine.begin() as conn:
        _forget_old(conn)
    raise Unauthorized(_FAILED, error="")


def unlock_logins(conn: Connection, name: str | None = None, *, address: str | None = None) -> int:
    """Lift the login locks of a user name (from every address) and of a client address; how many rows were cleared.

    Raises
    ------
    NotFound
        No user of that name.
    ValidationError
        Neither a name nor an address.
    """
    if not name and not address:
        raise ValidationError("say whose login locks to lift: a user name, a client address or both")
    cleared = 0
    if name:
        user = get_user(conn, name)
        cleared += conn.execute(
            sa.text(
                "UPDATE auth.login_attempts SET failures = 0, locked_until = NULL, forget_at = now() "
                "WHERE scope = 'pair' AND name_key = lower(:name) AND failures > 0"
            ),
            {"name": user.name},
        ).rowcount
    if address:
        cleared += conn.execute(
            sa.text(
                "UPDATE auth.login_attempts SET failures = 0, locked_until = NULL, forget_at = now() "
                "WHERE scope = 'address' AND name_key = '' AND client_addr = :addr AND failures > 0"
            ),
            {"addr": address.strip()},
        ).rowcount
    return cleared
