"""One rule's answer, and the verdict over all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["RuleResult", "Status", "verdict"]

Status = Literal["pass", "fail", "needs_review", "not_applicable", "officer_judgement"]


@dataclass
class RuleResult:
    """One rule's answer (for one zone or one road when the rule depends on it).

    ``basis`` says where the limit comes from (``plan``, ``qcvn``, ``no_limit``, ``no_data``, ``scanned_draft``);
    ``zone`` and ``road`` name what the rule measured against.
    """

    id: str
    status: Status
    value: Any
    limit: Any
    unit: str | None
    source: str
    message_vi: str
    message_en: str
    zone: dict[str, Any] | None = None
    road: dict[str, Any] | None = None
    basis: str | None = None
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The answer as JSON (``zone``, ``road`` and ``confidence`` only when known)."""
        d: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "basis": self.basis,
            "source": self.source,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }  # by hand: dataclasses.asdict deep-copies and costs more than the rules themselves
        if self.zone is not None:
            d["zone"] = dict(self.zone)
        if self.road is not None:
            d["road"] = dict(self.road)
        if self.confidence is not None:
            d["confidence"] = self.confidence
        return d


def verdict(results: list[RuleResult]) -> str:
    """``not_compliant`` when any rule fails, else ``needs_review`` when any needs review, else ``compliant``.

    Rules left to the officer's judgement (architecture, heritage appearance) do not decide the verdict.

    >>> verdict([])
    'compliant'
    """
    statuses = {r.status for r in results}
    if "fail" in statuses:
        return "not_compliant"
    if "needs_review" in statuses:
        return "needs_review"
    return "compliant"
