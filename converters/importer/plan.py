"""The plan version an import writes to: found by the plan's code, made anew (based on the latest), or none when
the very same files were imported already."""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.errors import ConverterError
from converters.importer.columns import LEVEL_OF, SCALE_OF
from converters.importer.options import ImportOptions
from converters.report import ImportReport


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


def _new_version(conn: Connection, opts: ImportOptions, code: str, sha: str, report: ImportReport, latest: Any) -> int:
    """Insert the plan's next version (its first, or one based on ``latest``, which is kept)."""
    level = plan_level(code, opts.plan_level)
    version = latest[1] + 1 if latest is not None else 1
    name = opts.plan_name or (latest[2] if latest is not None else f"Quy hoạch {code}")
    attrs = {"source_sha256": sha, "source": report.source}
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
            "based": latest[0] if latest is not None else None,
            "dno": opts.decision_no,
            "ddate": opts.decision_date,
            "attrs": json.dumps(attrs),
        },
    ).one()
    action = f"new version (based on version {latest[1]}, which is kept)" if latest is not None else "created"
    report.plan = {"id": row[0], "code": code, "version": version, "status": row[1], "action": action}
    return int(row[0])


def ensure_plan(conn: Connection, opts: ImportOptions, sha: str, report: ImportReport) -> int | None:
    """The id of the plan version to import into; None (and the report says why) when the plan's latest version
    holds these very files already and no new version was asked for."""
    code = _plan_code(opts)
    latest = conn.execute(
        sa.text(
            "SELECT id, version, name, status, attributes->>'source_sha256' FROM planning.plans "
            "WHERE code = :c ORDER BY version DESC LIMIT 1"
        ),
        {"c": code},
    ).first()
    if latest is not None and latest[4] == sha and not opts.new_version:
        report.plan = {"id": latest[0], "code": code, "version": latest[1], "status": latest[3], "action": "unchanged"}
        report.skipped = (
            f"plan {code} version {latest[1]} already holds these very files (same SHA-256): nothing imported "
            "(--new-version imports them again as a new version)"
        )
        return None
    return _new_version(conn, opts, code, sha, report, latest)
