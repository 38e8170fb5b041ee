"""Errors of the planning service.

Domain code raises these, never ``HTTPException``: the web layer maps each class to an HTTP status through
:data:`status_code`, and the command line prints :attr:`PlanningError.message` as a single line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "DatabaseRefused",
    "DatabaseUnavailable",
    "DiskFull",
    "Forbidden",
    "LocalClusterError",
    "NotFound",
    "PlanningError",
    "PreconditionFailed",
    "PreconditionRequired",
    "ReadOnly",
    "TooManyRequests",
    "Unauthorized",
    "ValidationError",
]


class PlanningError(Exception):
    """Base of every error the project raises on purpose; its message is fit for the user."""

    status_code: int = 500
    code: str = "ServerError"
    #: Extra HTTP headers of the answer (e.g. ``WWW-Authenticate``, ``Retry-After``).
    headers: dict[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(PlanningError, ValueError):
    """A setting is missing or malformed."""

    code = "InvalidConfiguration"


class DatabaseError(PlanningError):
    """The database refused or failed an operation."""

    code = "DatabaseError"


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (wrong URL, server down, missing PostGIS)."""

    status_code = 503
    code = "DatabaseUnavailable"


class DatabaseRefused(DatabaseUnavailable):
    """The database server does not answer or refuses the connection (down, starting, restarting, wrong address)."""


class DiskFull(PlanningError, OSError):
    """A file could not be written for want of space; what was served before is still served."""

    status_code = 507
    code = "InsufficientStorage"


class LocalClusterError(PlanningError):
    """Provisioning, starting or stopping the project's own PostgreSQL cluster failed."""

    code = "LocalClusterError"


class NotFound(PlanningError, LookupError):
    """A plan, feature or history entry does not exist."""

    status_code = 404
    code = "NotFound"


class ValidationError(PlanningError, ValueError):
    """Input that cannot be accepted (bad value, unknown layer, missing reason)."""

    status_code = 400
    code = "InvalidParameterValue"


class Unauthorized(PlanningError):
    """No credentials, or credentials that are wrong, expired or revoked (HTTP 401)."""

    status_code = 401
    code = "Unauthorized"

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        # RFC 6750: a request without credentials gets a bare challenge, a bad token names the error.
        challenge = 'Bearer realm="planning"'
        if error:
            challenge += f', error="{error}"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(PlanningError, PermissionError):
    """The user is known but its role does not allow this (HTTP 403)."""

    status_code = 403
    code = "Forbidden"


class ReadOnly(PlanningError):
    """The target cannot be changed in its state (an approved or superseded plan version; HTTP 409)."""

    status_code = 409
    code = "ReadOnly"


class PreconditionFailed(PlanningError):
    """The feature changed since the client read it (``If-Match`` does not match; HTTP 412)."""

    status_code = 412
    code = "PreconditionFailed"


class PreconditionRequired(PlanningError):
    """A write came without ``If-Match`` (HTTP 428): read the feature first, send its ``ETag``."""

    status_code = 428
    code = "PreconditionRequired"


class TooManyRequests(PlanningError):
    """Too many attempts (HTTP 429); ``Retry-After`` says when to try again."""

    status_code = 429
    code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}
