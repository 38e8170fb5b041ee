"""What a validation found: each finding with its rule, severity, messages, feature and place; the report over a
dossier, as JSON, with the sections other checks add to it.

The report's :attr:`ValidationReport.sections` is the hook for what is exported with it beyond the findings (the
land-use balance table, say): each section has a name, its data for the JSON and its HTML.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import shapely

from converters.validation.rules import RULES

__all__ = ["Finding", "ReportSection", "ValidationReport"]


class _Details(dict[str, Any]):
    """A finding's details for its message templates: a missing one reads as empty, not as a KeyError."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class Finding:
    """One thing the validation found: the rule broken, the feature (layer, source id, land-use code) and where
    (EPSG:9214 easting and northing of a point on it, its area when it is one), with the shape for the thumbnail."""

    rule: str
    layer: str | None = None
    feature: Any = None
    code: str | None = None
    e: float | None = None
    n: float | None = None
    area_m2: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    shape: Any = field(default=None, repr=False, compare=False)  # a shapely geometry, not exported

    @property
    def severity(self) -> str:
        """``error`` or ``warning``, the rule's."""
        return RULES[self.rule].severity

    def _fill(self) -> _Details:
        d = _Details(self.details)
        d.setdefault("layer", self.layer or "")
        d.setdefault("code", self.code)
        d.setdefault("area_m2", self.area_m2 or 0.0)
        return d

    @property
    def message_vi(self) -> str:
        """What was found, in Vietnamese."""
        return RULES[self.rule].message_vi.format_map(self._fill())

    @property
    def message_en(self) -> str:
        """What was found, in English."""
        return RULES[self.rule].message_en.format_map(self._fill())

    def at(self, shape: Any) -> Finding:
        """The finding placed at a point on ``shape`` (EPSG:9214), which is kept for its thumbnail."""
        if shape is not None and not shapely.is_empty(shape):
            p = shapely.point_on_surface(shape) if shape.geom_type.endswith("Polygon") else shape.representative_point()
            self.e, self.n = round(p.x, 2), round(p.y, 2)
            self.shape = shape
        return self

    def to_dict(self) -> dict[str, Any]:
        """As plain data for JSON."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "layer": self.layer,
            "feature": self.feature,
            "code": self.code,
            "e": self.e,
            "n": self.n,
            "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
            "details": {k: v for k, v in self.details.items() if k not in ("title_vi", "title_en")},
        }


class ReportSection(Protocol):
    """A part of the report beyond the findings, exported with it (in the JSON under its name, and in the HTML)."""

    name: str

    def to_dict(self) -> dict[str, Any]:
        """The section's data for the JSON report."""
        ...

    def html(self) -> str:
        """The section as an HTML fragment (escaped by the section)."""
        ...


@dataclass
class ValidationReport:
    """Every finding over a dossier, the layers read, the mappings proposed, and the sections added to it."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    sections: list[ReportSection] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    #: Findings counted but not listed, by rule (beyond the first thousand of a rule in a layer).
    not_listed: Counter[str] = field(default_factory=Counter)
    #: Each layer's kept shapes (EPSG:9214) by layer label, for the thumbnails' surroundings; not exported.
    shapes: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The zones' kept shapes (EPSG:9214) with their mapped land-use codes, for the balance table; not exported.
    zones: list[tuple[Any, Any]] = field(default_factory=list, repr=False)

    def add(self, finding: Finding) -> Finding:
        """Add a finding; returns it."""
        self.findings.append(finding)
        return finding

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return sum(1 for f in self.findings if f.severity == "error") + self._unlisted("error")

    @property
    def warnings(self) -> int:
        """How many findings are warnings."""
        return sum(1 for f in self.findings if f.severity == "warning") + self._unlisted("warning")

    def _unlisted(self, severity: str) -> int:
        return sum(n for rule, n in self.not_listed.items() if RULES[rule].severity == severity)

    @property
    def passed(self) -> bool:
        """A dossier passes when it has no error (warnings allowed)."""
        return self.errors == 0

    def counts(self) -> dict[str, int]:
        """Findings by rule id, those not listed included."""
        return dict(Counter(f.rule for f in self.findings) + self.not_listed)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, ready for JSON."""
        return {
            "source": self.source,
            "passed": self.passed,
            "errors": self.errors,
            "warnings": self.warnings,
            "counts": self.counts(),
            "layers": self.layers,
            "suggested_mapping": self.suggestions,
            "findings": [f.to_dict() for f in self.findings],
            "not_listed": dict(self.not_listed),
            **{s.name: s.to_dict() for s in self.sections},
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
        }

    def to_json(self) -> str:
        """The report as indented JSON, Vietnamese text as it is."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def write(self, path: Path) -> None:
        """Write the report to ``path``: HTML or PDF by its name's ending (.html, .pdf), else JSON."""
        if path.suffix.lower() in (".html", ".htm"):
            from converters.validation.html import report_html

            path.write_text(report_html(self), encoding="utf-8")
        elif path.suffix.lower() == ".pdf":
            from converters.validation.pdf import report_pdf

            path.write_bytes(report_pdf(self))
        else:
            path.write_text(self.to_json() + "\n", encoding="utf-8")

    def summary(self) -> str:
        """A few plain lines for people (stderr)."""
        verdict = "passed" if self.passed else "FAILED"
        out = [f"{self.source}: {verdict}: {self.errors} error(s), {self.warnings} warning(s)"]
        for f in self.findings[:50]:
            where = f" at E {f.e:.2f} N {f.n:.2f}" if f.e is not None and f.n is not None else ""
            feature = f" feature {f.feature}" if f.feature is not None else ""
            out.append(f"  {f.severity} {f.rule}: {f.layer or ''}{feature}{where}: {f.message_en}")
        more = len(self.findings) - 50 + sum(self.not_listed.values())
        if more > 0:
            out.append(f"  ... and {more} more (see the report)")
        out += [f"  proposed: {s['sentence']}" for s in self.suggestions]
        out.append(f"  {self.seconds:.1f} s")
        return "\n".join(out)
