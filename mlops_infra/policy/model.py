"""What a guardrail rule found: plain, frozen, JSON-friendly data (docs/guardrails.md).

Contract: a :class:`GuardrailResult` is one rule evaluated on one environment; its findings say
where (the ML item and spec field, the resource URN when there is one), what is wrong and what to
change. ``Plan.guardrails`` keeps the failing results; ``Plan.to_json()`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASS, FAIL = "pass", "fail"


@dataclass(frozen=True, slots=True)
class GuardrailFinding:
    """One violation of a guardrail rule (:mod:`mlops_infra.plan.guardrails`).

    ``address`` is the ML item it is about (``endpoints.scorer``), ``platform`` for what items share,
    or ``environments.<env>`` for a cap; ``field`` the spec field to change, dotted, relative to that
    item (``rollout.strategy``; ``guardrails.max_gpus`` for a cap; '' for the item as a whole);
    ``urn`` the resource in violation when there is one; ``message`` what is wrong; ``fix`` what to
    change.
    """

    rule: str
    address: str
    message: str
    fix: str
    field: str = ""
    urn: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "address": self.address, "field": self.field or None, "urn": self.urn,
                "message": self.message, "fix": self.fix}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GuardrailFinding:
        return cls(data["rule"], data["address"], data["message"], data["fix"], data.get("field") or "",
                   data.get("urn"))


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """One guardrail rule evaluated on one environment: ``level`` mandatory | advisory, ``status``
    pass | fail, a one-line ``summary`` and the ``findings`` (empty when it passes). A mandatory rule
    that fails ``blocks``: validate and plan exit 1."""

    rule: str
    level: str
    status: str
    summary: str
    findings: tuple[GuardrailFinding, ...] = ()

    @property
    def blocks(self) -> bool:
        return self.status == "fail" and self.level == "mandatory"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level, "status": self.status, "summary": self.summary,
                "findings": [f.to_json() for f in self.findings]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GuardrailResult:
        return cls(data["rule"], data["level"], data["status"], data["summary"],
                   tuple(GuardrailFinding.from_json(f) for f in data.get("findings") or ()))


@dataclass(frozen=True, slots=True)
class CostCeiling:
    """The environment's cost at full scale, per hour (the ``max_hourly_cost_usd`` rule reads it):
    ``by_item`` the largest items first, ``not_counted`` the items without a price, ``missing_regions``
    the regions whose catalog lacks their prices, ``at_peak`` the items counted while they run (what
    runs part of the time: not its monthly average), ``unbounded`` ``(address, how)`` of the items
    whose cost per hour has no bound (a Kubernetes cluster that borrows without a limit)."""

    usd_per_hour: float
    by_item: tuple[tuple[str, float], ...] = ()
    not_counted: tuple[str, ...] = ()
    missing_regions: tuple[str, ...] = ()
    at_peak: tuple[str, ...] = ()
    unbounded: tuple[tuple[str, str], ...] = ()
