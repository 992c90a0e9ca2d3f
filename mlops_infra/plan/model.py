"""The plan vocabulary: what will change, why, what it means in ML terms, and what it costs.

Contract:
- :class:`Action` is the only vocabulary for what happens to a resource. Decisions use Action;
  :class:`Reason` only explains an action to a person and is never used to decide anything.
- Everything here is plain, frozen, JSON-serialisable data; ``Plan.to_json()`` is the documented,
  versioned machine format (``PLAN_FORMAT_VERSION``; docs/plan-json.md). Every ResourceChange in it
  carries its ``urn`` and ``action``.
- No secret value is ever stored in a plan: sensitive attribute values are replaced by
  :data:`REDACTED` before a change is built.
- Sequences are sorted (changes by URN, drift by URN, ML changes by address) so renders are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PLAN_FORMAT_VERSION = 1
REDACTED = "(sensitive)"
UNKNOWN_AFTER_APPLY = "(known after apply)"


class Action(StrEnum):
    """What happens to one resource."""

    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    READ = "read"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def is_change(self) -> bool:
        return self not in (Action.NOOP, Action.READ)


_SYMBOLS = {Action.NOOP: " ", Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+",
            Action.DELETE: "-", Action.READ: "<="}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an action was chosen, for people: a stable ``code`` and a sentence."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """One property difference. ``path`` uses dots and [i] (``productionVariants[0].instanceType``).

    ``before``/``after`` are JSON values, :data:`REDACTED` for secrets, :data:`UNKNOWN_AFTER_APPLY`
    when only known after apply; ``forces_replacement`` marks the paths that make it a replace.
    """

    path: str
    before: Any
    after: Any
    forces_replacement: bool = False
    sensitive: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after,
                "forcesReplacement": self.forces_replacement, "sensitive": self.sensitive}


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """What happens to one resource (by URN), with the property-level changes.

    ``address``/``role`` tie it to an ML item (``endpoints.scorer`` / ``endpoint-config``);
    ``delete_before_replace`` says a replace deletes first (downtime); ``blocked`` is set when the
    change cannot be applied as planned (e.g. deleting a protected data store) and says why.
    """

    urn: str
    type: str
    name: str
    action: Action
    reason: Reason
    changes: tuple[AttributeChange, ...] = ()
    address: str = ""
    role: str = ""
    custom: bool = True
    delete_before_replace: bool = False
    blocked: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "action": str(self.action),
                "reason": {"code": self.reason.code, "message": self.reason.message},
                "address": self.address or None, "role": self.role or None, "custom": self.custom,
                "deleteBeforeReplace": self.delete_before_replace, "blocked": self.blocked,
                "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True, slots=True)
class MLChange:
    """A change told in ML terms (model version bump, rollout, GPU capacity, monitors, ...).

    ``kind`` is one of: model-version, rollout, gpu-capacity, endpoint, training, data, monitor,
    alert, channel, registry, drift. ``details`` holds the numbers behind the sentence.
    """

    address: str
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "summary": self.summary, "details": self.details}


@dataclass(frozen=True, slots=True)
class CostLine:
    """Monthly cost of one priced item, before and after (None = not present on that side).

    ``basis`` says how it was counted ("2-10 replicas x ml.g5.xlarge", "8 nodes max x ..."),
    ``note`` flags estimates (region fallback, missing price).
    """

    address: str
    basis: str
    before_usd: float | None
    after_usd: float | None
    note: str = ""

    @property
    def delta_usd(self) -> float:
        return (self.after_usd or 0.0) - (self.before_usd or 0.0)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "basis": self.basis, "beforeUsd": self.before_usd,
                "afterUsd": self.after_usd, "deltaUsd": round(self.delta_usd, 2), "note": self.note or None}


@dataclass(frozen=True, slots=True)
class CostRange:
    """A monthly amount as a range: min is the floor (min replicas), max the ceiling."""

    min_usd: float
    max_usd: float

    def to_json(self) -> dict[str, float]:
        return {"minUsd": round(self.min_usd, 2), "maxUsd": round(self.max_usd, 2)}


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Monthly cost before, after and the delta, with sources (hours per month: 730).

    ``rollout_extra_usd`` is the temporary extra cost of blue/green or canary capacity during the
    rollouts this plan starts (a one-off amount, not monthly).
    """

    before: CostRange
    after: CostRange
    lines: tuple[CostLine, ...] = ()
    rollout_extra_usd: float = 0.0
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def delta(self) -> CostRange:
        return CostRange(self.after.min_usd - self.before.min_usd, self.after.max_usd - self.before.max_usd)

    def to_json(self) -> dict[str, Any]:
        return {"currency": "USD", "hoursPerMonth": 730, "before": self.before.to_json(),
                "after": self.after.to_json(), "delta": self.delta.to_json(),
                "rolloutExtraUsd": round(self.rollout_extra_usd, 2),
                "lines": [line.to_json() for line in self.lines], "sources": list(self.sources),
                "notes": list(self.notes)}


@dataclass(frozen=True, slots=True)
class PlanCounts:
    add: int = 0
    change: int = 0
    replace: int = 0
    destroy: int = 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.replace + self.destroy

    def sentence(self) -> str:
        """``Plan: N to add, N to change, N to replace, N to destroy.``"""
        return (f"Plan: {self.add} to add, {self.change} to change, {self.replace} to replace, "
                f"{self.destroy} to destroy.")


@dataclass(frozen=True, slots=True)
class Plan:
    """A complete plan for one stack.

    ``state_serial`` identifies the prior state it was computed against and ``graph_digest`` the
    desired graph, so an apply can refuse a stale plan. ``drift`` (prior vs live) is its own
    section, shown before the changes; it is empty unless the plan was refreshed.
    """

    project: str
    stack: str
    target: dict[str, Any]
    state_serial: str
    graph_digest: str
    changes: tuple[ResourceChange, ...]
    ml: tuple[MLChange, ...] = ()
    drift: tuple[Any, ...] = ()
    cost: CostEstimate | None = None
    refreshed: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def counts(self) -> PlanCounts:
        tally = {a: 0 for a in Action}
        for change in self.changes:
            if change.custom:
                tally[change.action] += 1
        return PlanCounts(tally[Action.CREATE], tally[Action.UPDATE], tally[Action.REPLACE], tally[Action.DELETE])

    @property
    def has_changes(self) -> bool:
        return any(c.action.is_change for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "formatVersion": PLAN_FORMAT_VERSION,
            "project": self.project,
            "stack": self.stack,
            "target": self.target,
            "stateSerial": self.state_serial,
            "graphDigest": self.graph_digest,
            "refreshed": self.refreshed,
            "summary": {"add": counts.add, "change": counts.change, "replace": counts.replace,
                        "destroy": counts.destroy, "hasChanges": self.has_changes},
            "drift": [d.to_json() if hasattr(d, "to_json") else d for d in self.drift],
            "ml": [m.to_json() for m in self.ml],
            "cost": self.cost.to_json() if self.cost else None,
            "resourceChanges": [c.to_json() for c in self.changes],
            "warnings": list(self.warnings),
        }
