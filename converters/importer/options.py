"""What an import is asked to do: its options and the progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gis_service.file_digest import Digest

#: ``progress(label, features read, features in the layer or None)``.
ProgressFn = Callable[[str, int, int | None], None]


@dataclass(kw_only=True)
class ImportOptions:
    """What to import and how. ``plan`` is the plan's code (maHoSoQH), needed for plan layers."""

    plan: str | None = None
    kind: str | None = None
    mapping: Path | None = None
    src_crs: str | None = None
    dry_run: bool = False
    allow_unknown_codes: bool = False
    #: Fill the columns no known field name fills from the fields whose values look like them (importer.suggest).
    accept_suggested_mapping: bool = False
    plan_name: str | None = None
    plan_level: str | None = None
    scale: int | None = None
    decision_no: str | None = None
    decision_date: date | None = None
    new_version: bool = False
    #: When the plan's latest version is a draft these files are not in, or a version ``user`` did not import (one
    #: a planner started, say, published since), import nothing beside or over it and say so.
    leave_others: bool = False
    user: str = "importer"
    reason: str | None = None
    batch_size: int = 50_000
    check_quality: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    digest: Digest | None = None  # the source files' SHA-256, begun beforehand (gis_service.file_digest.start)
