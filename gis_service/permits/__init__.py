"""Permit checks: a proposed building against the approved plan and QCVN 01:2021/BXD, explained and recorded.

* :func:`check` / :func:`check_async`: an unrecorded check (anyone), with the rules of :mod:`gis_service.rules`;
* :mod:`gis_service.permits.workflow`: applications, recorded checks pinned to the plan rows they used, decisions;
* :mod:`gis_service.permits.report`: the printable report (HTML, PDF).
"""

from gis_service.permits.check import check, check_async
from gis_service.permits.model import CheckRequest, Proposal, parse_request
from gis_service.rules import RULE_IDS, RuleResult, verdict

__all__ = [
    "RULE_IDS",
    "CheckRequest",
    "Proposal",
    "RuleResult",
    "check",
    "check_async",
    "parse_request",
    "verdict",
]
