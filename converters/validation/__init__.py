"""Validation of plan dossiers before the province accepts them: the import's reading with nothing written, and a
report of every finding (rule, severity, messages in Vietnamese and English, the feature and where it is).

``validate_path(path)`` returns a :class:`ValidationReport`; it passes when it has no error. The rules are listed in
:data:`RULES` (and ``docs/validation.md``).
"""

from converters.validation.report import Finding, ReportSection, ValidationReport
from converters.validation.rules import RULES, Rule
from converters.validation.run import reference_codebook, validate_path

__all__ = ["RULES", "Finding", "ReportSection", "Rule", "ValidationReport", "reference_codebook", "validate_path"]
