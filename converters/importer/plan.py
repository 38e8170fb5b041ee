"""The plan version an import writes to: found by the plan's code, made anew (based on the latest), or none when
the very same files were imported already and nothing was edited since.

An import records the digest of its files on the plan version it makes (``attributes.source_sha256``) with the
number of that version (``attributes.imported_as_version``). A draft started from a version copies its attributes,
digest and all, but not its number: so a started draft never passes for a version imported from those files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.errors import ConverterError
from converters.importer.columns import LEVEL_OF, SCALE_OF
from converters.importer.options import ImportOptions
from converters.report import ImportReport
from gis_service.model import PLAN_LAYERS


def plan_level(code: str, given: str | None) -> str:
    """The plan's level: as given (checked), else told by its code (QHC, QPK, QCT, QSD)."""
    if given:
        if given not in SCALE_OF:
            raise ConverterError(f"unknown plan level {given!r}: expected one of {', '.join(SCALE_OF)}")
        return given
    level = LEVEL_OF.get(code[2:5])
    if level is None:
        raise ConverterError(
            f"cannot tell the level of plan {code} from its code: give --level ({', '.join(SCALE_OF)})"
        )
    return level


def _plan_code(opts: ImportOptions) -> str:
    """The plan's code, checked to be a TT 16/2025 maHoSoQH."""
    code = (opts.plan or "").strip().upper()
    if not re.fullmatch(r"[0-9]{2}[A-Z]{3}[0-9]{7}", code):
        raise ConverterError(
            f"plan code {opts.plan!r} is not a TT 16/2025 maHoSoQH: 2-digit province (Huế 46) + QHC/QPK/QCT + "
            "7 digits, e.g. 46QPK0000001"
        )
    return code


@dataclass(frozen=True)
class _Version:
    """A version of the plan, as the choice of where to import needs it."""

    id: int
    version: int
    name: str
    status: str
    created_by: str | None
    created_at: datetime
    based_on_id: int | None
    attributes: dict[str, object]

    def imported_from(self, sha: str | None, based_on: _Version | None) -> bool:
        """Whether an import of files of digest ``sha`` made this version (any import's, for None); not a draft
        started from such a version, which carries a copy of its attributes."""
        own = self.attributes.get("source_sha256")
        if own is None or (sha is not None and own != sha):
            return False
        made_as = self.attributes.get("imported_as_version")
        if made_as is not None:
            return made_as == self.version
        # Imported before versions were recorded: a started draft carries the digest of the version it copies.
        return based_on is None or based_on.attributes.get("source_sha256") != own

    def origin(self, based_on: _Version | None) -> str:
        """``a draft (version 3) started by lan.nguyen``: what the version is and who made it, in plain words."""
        made = "imported" if self.imported_from(None, based_on) else "started"
        what = (
            f"a draft (version {self.version})"
            if self.status == "draft"
            else f"the {self.status} version {self.version}"
        )
        return f"{what} {made} by {self.created_by or 'an unknown user'}"

    def imported_by(self, user: str, based_on: _Version | None) -> bool:
        """Whether ``user`` imported this version (from whatever files)."""
        return self.created_by == user and self.imported_from(None, based_on)


def _new_version(
    conn: Connection,
    opts: ImportOptions,
    code: str,
    sha: str,
    report: ImportReport,
    latest: _Version | None,
    declared_balance: dict[str, float] | None = None,
) -> int:
    """Insert the plan's next version (its first, or one based on ``latest``, which is kept)."""
    level = plan_level(code, opts.plan_level)
    version = latest.version + 1 if latest is not None else 1
    name = opts.plan_name or (latest.name if latest is not None else f"Quy hoạch {code}")
    attrs: dict[str, object] = {"source_sha256": sha, "source": report.source, "imported_as_version": version}
    if declared_balance:  # the dossier's own land-use balance table, compared with the zones' (gis_service.balance)
        attrs["declared_balance"] = declared_balance
    row = conn.execute(
        sa.text(
            "INSERT INTO planning.plans (code, name, level, scale_denominator, version, based_on_id, decision_no, "
            "decision_date, attributes) VALUES (:code, :name, :level, :scale, :version, :based, :dno, :ddate, "
            "CAST(:attrs AS jsonb)) RETURNING id, status"
        ),
        {
            "code": code,
            "name": name,
            "level": level,
            "scale": opts.scale or SCALE_OF[level],
            "version": version,
            "based": latest.id if latest is not None else None,
            "dno": opts.decision_no,
            "ddate": opts.decision_date,
            "attrs": json.dumps(attrs),
        },
    ).one()
    action = f"new version (based on version {latest.version}, which is kept)" if latest is not None else "created"
    report.plan = {"id": row[0], "code": code, "version": version, "status": row[1], "action": action}
    return int(row[0])


def _versions(conn: Connection, code: str) -> list[_Version]:
    """The plan's versions, the latest first."""
    rows = conn.execute(
        sa.text(
            "SELECT id, version, name, status, created_by, created_at, based_on_id, attributes FROM planning.plans "
            "WHERE code = :c ORDER BY version DESC"
        ),
        {"c": code},
    ).all()
    return [_Version(*r) for r in rows]


#: What publishing a version changes on its plan row (and the bookkeeping of any change): not an edit of its content.
_PUBLISHING = (
    "status",
    "decision_no",
    "decision_date",
    "approving_authority",
    "updated_at",
    "updated_by",
    "row_version",
)


def edited_since_import(conn: Connection, plan_id: int, imported_at: datetime) -> bool:
    """Whether anything of the plan version ``plan_id`` changed after the transaction that made it at
    ``imported_at`` (its rows all carry that transaction's time): a feature of its layers written or deleted since,
    or its plan row changed beyond what publishing changes (status and decision)."""
    for layer in PLAN_LAYERS:
        written = conn.execute(
            sa.text(f"SELECT 1 FROM planning.{layer} WHERE plan_id = :p AND updated_at <> :t LIMIT 1"),
            {"p": plan_id, "t": imported_at},
        ).first()
        if written is not None:
            return True
    changed = conn.execute(
        sa.text(
            "SELECT 1 FROM planning.change_history h WHERE h.changed_at >= :t AND h.operation = 'delete' "
            "AND h.table_name = ANY(:layers) AND h.before->>'plan_id' = :p "
            "UNION ALL "
            "SELECT 1 FROM planning.change_history h WHERE h.table_name = 'plans' AND h.feature_id = :id "
            "AND h.operation <> 'insert' AND h.transaction_id <> (SELECT i.transaction_id "
            "FROM planning.change_history i WHERE i.table_name = 'plans' AND i.feature_id = :id "
            "AND i.operation = 'insert' ORDER BY i.id LIMIT 1) "
            "AND ((h.after - CAST(:skip AS text[])) IS DISTINCT FROM (h.before - CAST(:skip AS text[])) "
            "OR ST_AsEWKB(h.after_geom) IS DISTINCT FROM ST_AsEWKB(h.before_geom)) "
            "LIMIT 1"
        ),
        {"t": imported_at, "layers": list(PLAN_LAYERS), "p": str(plan_id), "id": plan_id, "skip": list(_PUBLISHING)},
    ).first()
    return changed is not None


def _holder(conn: Connection, versions: list[_Version], sha: str) -> _Version | None:
    """The version that holds these very files: the latest, or the one the latest (a draft) was started from, if
    it was imported from them and nothing of it was edited since. None when neither does."""
    by_id = {v.id: v for v in versions}
    latest = versions[0]
    candidates = [latest]
    if latest.status == "draft" and latest.based_on_id in by_id:
        candidates.append(by_id[latest.based_on_id])
    for v in candidates:
        based_on = by_id.get(v.based_on_id) if v.based_on_id is not None else None
        if v.imported_from(sha, based_on) and not edited_since_import(conn, v.id, v.created_at):
            return v
    return None


def _as_plan(code: str, v: _Version, action: str) -> dict[str, object]:
    """The version as the report's ``plan``."""
    return {
        "id": v.id,
        "code": code,
        "version": v.version,
        "status": v.status,
        "created_by": v.created_by,
        "action": action,
    }


def ensure_plan(
    conn: Connection,
    opts: ImportOptions,
    sha: str,
    report: ImportReport,
    *,
    declared_balance: dict[str, float] | None = None,
) -> int | None:
    """The id of the plan version to import into; None (and the report says why) when no new version was asked for
    and the plan holds these very files already (its latest version, or the version its draft was started from,
    was imported from them and not edited since), or, with ``leave_others``, when its latest version is a draft or
    was not imported by the same user."""
    code = _plan_code(opts)
    versions = _versions(conn, code)
    latest = versions[0] if versions else None
    if latest is None or opts.new_version:
        return _new_version(conn, opts, code, sha, report, latest, declared_balance)
    by_id = {v.id: v for v in versions}
    based_on = by_id.get(latest.based_on_id or 0)
    holder = _holder(conn, versions, sha)
    if holder is not None:
        report.plan = _as_plan(code, holder, "unchanged")
        report.skipped = (
            f"plan {code} version {holder.version} already holds these very files (imported from them and not "
            "edited since; same SHA-256): nothing imported"
        )
        if not opts.leave_others:
            report.skipped += " (--new-version imports them again as a new version)"
        if holder is not latest:
            report.skipped += f"; {latest.origin(based_on)} is left as it is"
        return None
    if opts.leave_others and (latest.status == "draft" or not latest.imported_by(opts.user, based_on)):
        report.plan = _as_plan(code, latest, "left as it is")
        report.skipped = f"{latest.origin(based_on)} is left as it is: these files are not imported beside it"
        return None
    return _new_version(conn, opts, code, sha, report, latest, declared_balance)
