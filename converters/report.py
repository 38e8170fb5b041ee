"""What an import did: counts, repairs, code mappings, encodings, warnings; as JSON and as a short summary."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImportReport", "LayerReport"]

MAX_LISTED = 200  # repairs and drops listed one by one per layer; beyond, only counted


@dataclass
class LayerReport:
    """What the import did with one source layer: counts, the repairs and drops (the first :data:`MAX_LISTED`
    listed), text encodings met, the field mapping and warnings."""

    source: str
    kind: str
    table: str
    crs: str = ""
    read: int = 0
    written: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    repairs_total: int = 0
    dropped_total: int = 0
    encodings: Counter[str] = field(default_factory=Counter)
    fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def repair(self, fid: Any, what: str) -> None:
        """Count a feature's repair, and list it while the list is short."""
        self.repairs_total += 1
        if len(self.repairs) < MAX_LISTED:
            self.repairs.append({"fid": fid, "what": what})

    def drop(self, fid: Any, why: str) -> None:
        """Count a dropped feature, and list it while the list is short."""
        self.dropped_total += 1
        if len(self.dropped) < MAX_LISTED:
            self.dropped.append({"fid": fid, "why": why})


@dataclass
class ImportReport:
    """What one import did, over all its layers: the plan, code mappings, quality checks, warnings, timings."""

    source: str
    dry_run: bool = False
    plan: dict[str, Any] | None = None
    skipped: str | None = None
    layers: list[LayerReport] = field(default_factory=list)
    code_mappings: list[dict[str, Any]] = field(default_factory=list)
    unknown_codes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: Wall time of the import's steps (s): reading and writing the layers, quality checks, attaching the zones.
    timings: dict[str, float] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Add a warning once (the same message from several batches is kept once)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (counters as dicts), ready for JSON."""
        d = asdict(self)
        for layer in d["layers"]:
            layer["encodings"] = dict(layer["encodings"])
        return d

    def to_json(self) -> str:
        """The report as indented JSON, Vietnamese text as it is (not escaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def write(self, path: Path) -> None:
        """Write the JSON report to ``path`` (UTF-8)."""
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    def summary(self) -> str:
        """A few plain lines for people (stderr)."""
        out = self._head()
        out += [f"  {lr.source} → {lr.table}: {', '.join(_layer_counts(lr))}" for lr in self.layers]
        out += [f"  code {m['from']} → {m['to']} ({m['count']} features)" for m in self.code_mappings]
        out += [f"  warning: {w}" for w in self.warnings]
        out += _quality_lines(self.quality)
        out.append(f"  {self.seconds:.1f} s")
        return "\n".join(out)

    def _head(self) -> list[str]:
        """The plan written (or that nothing was) and why the import was skipped, if it was."""
        out = []
        head = "dry run (nothing written): " if self.dry_run else ""
        if self.plan:
            p = self.plan
            out.append(f"{head}plan {p['code']} version {p['version']} ({p['status']}, id {p['id']}): {p['action']}")
        elif head:
            out.append(head.rstrip(": "))
        if self.skipped:
            out.append(self.skipped)
        return out


def _layer_counts(lr: LayerReport) -> list[str]:
    """A layer's counts for the summary, those that are zero left out (but read and written)."""
    parts = [f"{lr.read} read", f"{lr.written} written"]
    optional = (
        (lr.updated, "updated"),
        (lr.unchanged, "unchanged"),
        (lr.repairs_total, "repaired"),
        (lr.dropped_total, "dropped"),
    )
    parts += [f"{count} {what}" for count, what in optional if count]
    if lr.encodings:
        parts.append("text converted from " + ", ".join(f"{k} ({v})" for k, v in lr.encodings.items()))
    return parts


def _quality_lines(q: dict[str, Any]) -> list[str]:
    """The summary's lines on overlaps, gaps and the plan boundary's uncovered area."""
    out = []
    if q.get("overlaps"):
        n = q.get("overlaps_total", len(q["overlaps"]))
        out.append(f"  {n} overlaps between zones (total {q['overlap_area_m2']:.1f} m²)")
    if q.get("gaps"):
        out.append(f"  {len(q['gaps'])} gaps inside the zones' outline (total {q['gap_area_m2']:.1f} m²)")
    if "uncovered_in_boundary_m2" in q:
        out.append(f"  {q['uncovered_in_boundary_m2']:,.0f} m² of the plan boundary is in no zone (roads, water, gaps)")
    return out
