"""Errors of the planning service.

Domain code raises these, never ``HTTPException``: the web layer maps each class to an HTTP status through
:data:`status_code`, and the command line prints :attr:`PlanningError.message` as a single line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "DatabaseUnavailable",
    "LocalClusterError",
    "NotFound",
    "PlanningError",
    "ValidationError",
]


class PlanningError(Exception):
    """Base of every error the project raises on purpose; its message is fit for the user."""

    status_code: int = 500
    code: str = "ServerError"

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
