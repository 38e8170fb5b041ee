"""Which two versions of a plan to compare: those asked for by number, or the defaults.

The defaults answer the citizen's question "what does the new plan change?": the approved version against the
draft under consultation today when there is one, else the last two versions by number. The public may compare only
what it may see: approved and superseded versions, and a draft while it is under consultation
(:data:`gis_service.consultation.periods.UNDER_CONSULTATION_IDS_SQL`); any other draft is "not found" for it, as
everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.consultation.periods import UNDER_CONSULTATION_IDS_SQL
from gis_service.errors import NotFound, ValidationError

__all__ = ["VersionRef", "resolve_versions", "version_ref", "version_refs"]

_VERSIONS_SQL = sa.text(
    "SELECT p.id, p.code, p.name, p.version, p.status, "  # noqa: S608 (static SQL)
    f"p.id IN ({UNDER_CONSULTATION_IDS_SQL}) AS consulted "
    "FROM planning.plans p WHERE p.code = :code ORDER BY p.version"
)


@dataclass(frozen=True)
class VersionRef:
    """One version of a plan as a comparison names it: its row id, number and status."""

    id: int
    code: str
    name: str | None
    version: int
    status: str
    under_consultation: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``{"id", "version", "status"}``, as the answers give each side."""
        return {"id": self.id, "version": self.version, "status": self.status}


def _versions(conn: Connection, code: str) -> list[VersionRef]:
    return [VersionRef(*r) for r in conn.execute(_VERSIONS_SQL, {"code": code}).all()]


_BY_ID_SQL = sa.text(
    "SELECT p.id, p.code, p.name, p.version, p.status, "  # noqa: S608 (static SQL)
    f"p.id IN ({UNDER_CONSULTATION_IDS_SQL}) AS consulted "
    "FROM planning.plans p WHERE p.id = ANY(:ids)"
)


def version_refs(conn: Connection, *plan_ids: int) -> list[VersionRef]:
    """The versions whose row ids are ``plan_ids``, in that order; NotFound when one does not exist."""
    found = {r[0]: VersionRef(*r) for r in conn.execute(_BY_ID_SQL, {"ids": list(plan_ids)}).all()}
    missing = [i for i in plan_ids if i not in found]
    if missing:
        raise NotFound(f"no plan version with id {missing[0]}")
    return [found[i] for i in plan_ids]


def version_ref(conn: Connection, plan_id: int) -> VersionRef:
    """The version whose row id is ``plan_id``; NotFound when there is none."""
    return version_refs(conn, plan_id)[0]


def resolve_versions(
    conn: Connection,
    code: str,
    from_version: int | None,
    to_version: int | None,
    *,
    public: bool = False,
) -> tuple[int, int]:
    """The plan row ids of the two versions of plan ``code`` to compare: ``(from_id, to_id)``.

    Parameters
    ----------
    conn
        A SQLAlchemy connection; nothing is written.
    code
        The plan's code (mã hồ sơ quy hoạch).
    from_version, to_version
        Version numbers, or None for the defaults: the approved version and the draft under consultation when
        there is one; else the last two versions. With only ``to_version``, "from" is the version it was started
        from (else the one before it); with only ``from_version``, "to" is the draft under consultation, else the
        latest version.
    public
        Only the versions the public may see: approved, superseded, a draft under consultation today.

    Raises
    ------
    NotFound
        No plan with that code, or no such version (for the public: a draft not under consultation).
    ValidationError
        The plan has a single version, so there is nothing to compare it with.
    """
    versions = _versions(conn, code)
    if public:
        versions = [v for v in versions if v.status != "draft" or v.under_consultation]
    if not versions:
        raise NotFound(f"no plan with code {code!r}")
    by_number = {v.version: v for v in versions}
    listed = ", ".join(f"{v.version} ({v.status})" for v in versions)

    def numbered(n: int, name: str) -> VersionRef:
        if n not in by_number:
            raise NotFound(f"plan {code} has no version {n} ({name}); its versions: {listed}")
        return by_number[n]

    consulted = next((v for v in reversed(versions) if v.under_consultation), None)
    if from_version is None and to_version is None:
        return _defaults(code, versions, consulted, listed)
    if from_version is not None and to_version is not None:
        return numbered(from_version, "from").id, numbered(to_version, "to").id
    if to_version is not None:
        to = numbered(to_version, "to")
        base = _based_on(conn, to.id)
        earlier = [v for v in versions if v.version < to.version]
        start = next((v for v in versions if v.id == base), None) or (earlier[-1] if earlier else None)
        if start is None:
            raise ValidationError(f"version {to.version} is the first of plan {code}: give 'from' to compare it")
        return start.id, to.id
    assert from_version is not None
    start = numbered(from_version, "from")
    return start.id, (consulted or versions[-1]).id


def _defaults(code: str, versions: list[VersionRef], consulted: VersionRef | None, listed: str) -> tuple[int, int]:
    """The approved version and the draft under consultation; else the last two versions."""
    approved = next((v for v in versions if v.status == "approved"), None)
    if consulted is not None and approved is not None:
        return approved.id, consulted.id
    if len(versions) < 2:
        raise ValidationError(f"plan {code} has one version only ({listed}): there is nothing to compare it with")
    return versions[-2].id, versions[-1].id


def _based_on(conn: Connection, plan_id: int) -> int | None:
    row = conn.execute(sa.text("SELECT based_on_id FROM planning.plans WHERE id = :id"), {"id": plan_id}).first()
    return None if row is None else row[0]
