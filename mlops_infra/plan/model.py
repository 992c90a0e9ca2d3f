"""The plan vocabulary: what will change, why, what it means in ML terms, and what it costs.

Contract:
- :class:`Action` is the only vocabulary for what happens to a resource. Decisions use Action;
  :class:`Reason` only explains an action to a person and is never used to decide anything.
- Everything here is plain, frozen, JSON-serialisable data; ``Plan.to_json()`` is the documented,
  versioned machine format (``PLAN_FORMAT_VERSION``; docs/plan-json.md). Every ResourceChange in it
  carries its ``urn`` and ``action``. ``Plan.to_json_lazy()`` is the same document with each resource
  change's data made only when a JSON encoder reaches it (:class:`LazyChange`, :func:`lazy_json`).
- No secret value is ever stored in a plan: sensitive attribute values are replaced by
  :data:`REDACTED` before a change is built.
- Sequences are sorted (changes by URN, drift by URN, ML changes by address) so renders are stable.
- :func:`plan_json_schema` is the JSON Schema of ``Plan.to_json()`` (``schemas/plan-v1.schema.json``
  is generated from it); ``from_json`` methods read that JSON back (saved plan files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mlops_infra.frozen import fillable, new
from mlops_infra.policy.model import GuardrailResult
from mlops_infra.spec.guardrails import RULES as GUARDRAIL_RULES
from mlops_infra.state.model import READ_FAILURE_CAUSES

PLAN_FORMAT_VERSION = 1
HOURS_PER_MONTH = 730
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


REASON_CODES: dict[str, str] = {
    "new": "not in the prior state: created",
    "missing-in-cloud": "in the state but gone from the cloud (refreshed plan): created again by `apply --plan` of "
                        "this plan, which runs `pulumi up --refresh`; a plain `apply` does not read the cloud",
    "removed-from-spec": "in the prior state, no longer desired: deleted",
    "property-changed": "inputs differ and every changed input can be updated in place",
    "forces-replacement": "a changed input cannot be updated in place (the type's replacement rule)",
    "replace-on-changes": "a changed input is listed in the resource's replace_on_changes option",
    "depends-on-replaced": "an input takes an output of a resource that is created or replaced",
    "provider-replaced": "its provider is replaced, or it moves to another provider (explicit or default) whose "
                         "settings that force a replace differ: another cluster (an aws provider's region change "
                         "replaces nothing in pulumi-aws 7: its region-aware resources are forces-replacement)",
    "protected": "the change would delete a protected resource: blocked until it is unprotected",
    "retained": "no longer desired, and kept in the cloud (retainOnDelete): Pulumi forgets it, nothing is deleted; "
                "not counted as destroyed",
    "pending-replacement": "an earlier delete-before-replace deleted it and did not create it again (Pulumi's "
                           "pendingReplacement): a replace that deletes nothing; no longer desired, a delete that only "
                           "removes it from the state (retained: not counted as destroyed)",
    "tainted": "tainted in the state (`pulumi state taint`): Pulumi replaces it on the next update whatever its "
               "inputs, asking no provider (so it deletes first only by its deleteBeforeReplace option)",
    "pending-delete": "an old copy the state marks delete: true (a create-before-replace could not delete it): Pulumi "
                      "deletes it on the next update whatever the spec says; counted as destroyed",
    "read-resource": "the state holds it as read with Resource.get (external, not managed by Pulumi): no longer "
                     "desired, a delete that only drops it from the state (retained: not counted as destroyed); "
                     "desired, a replace: Pulumi creates one it manages in its place and deletes nothing",
    "deleted-with-replaced": "the resource it is deleted with (Pulumi's deletedWith) is replaced, so it is replaced "
                             "too (an endpoint's autoscaling, which AWS deregisters with the endpoint)",
    "deregister-first": "AWS needs it removed before the endpoint update and added back after (see sequences)",
    "not-taken-by-cloud": "the cloud did not keep an input the last apply sent (its recorded output differs, "
                          "e.g. SageMaker rolled an endpoint update back): sent again",
    "init-error": "the last apply made it but it did not finish initializing (Pulumi's initErrors): updated again, "
                  "so Pulumi waits for it once more (a Kubernetes Job with pulumi.com/replaceUnready is replaced: it "
                  "runs again); a resource that changes anyway keeps its change's reason, which says this too",
    "endpoint-failed": "a SageMaker endpoint `plan --refresh` read Failed although the state records no initErrors (an "
                       "earlier update cleared them): replaced, deleting first (only DeleteEndpoint works on it)",
    "not-ready": "a refreshed plan read it live and it is not ready (a Deployment whose rollout failed, an "
                 "InferenceService whose Ready condition is False, a failed Job, a SageMaker endpoint OutOfService, "
                 "UpdateRollbackFailed or whose last update failed): a no-op, as `pulumi up` leaves it as it is, with "
                 "the live reason and what to do; a failed Job with pulumi.com/replaceUnready is replaced (its provider "
                 "does it)",
    "no-change": "desired and prior inputs are equal",
    "adopted": "a SageMaker model or endpoint config the plan creates (or replaces) already exists under the very "
               "name, which a hash of its content makes (a rollout kept it: the previous version set back in the "
               "spec): apply adopts it (Pulumi's import resource option), SageMaker refuses to create it again; "
               "only `plan --refresh` and `apply` read it, the mark is the change's importId",
    "aliased": "in the prior state under another URN (an alias: another type or name, the resource's own or its SDK "
               "class's type alias), which Pulumi takes over as this resource: no delete, no create; updated in place "
               "when its inputs differ",
}
"""Every ``Reason.code`` the planner emits, with its meaning (docs/plan-json.md lists them too)."""
NOT_READY = "not-ready"
"""The reason of a resource read live that is not ready (``plan/readiness.py``)."""
NOT_READY_NOW = "; not ready now: "
"""What ``plan/readiness.py`` appends to the reason of a resource that changes anyway and is not ready
(it keeps its own reason code), for people; the mark itself is :attr:`ResourceChange.not_ready`."""


def is_not_ready(change: ResourceChange) -> bool:
    """Whether ``change`` is of a resource a refreshed plan read live not ready (``plan/readiness.py``),
    whether or not a change is planned for it: :attr:`ResourceChange.not_ready` (``"notReady": true`` in
    JSON), never read back from a sentence (:class:`Reason` decides nothing)."""
    return change.not_ready


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an action was chosen, for people: a stable ``code`` (see :data:`REASON_CODES`) and a
    sentence. Never used to decide anything."""

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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttributeChange:
        return cls(data["path"], data["before"], data["after"], data["forcesReplacement"], data["sensitive"])

    @staticmethod
    def added(path: str, after: Any) -> AttributeChange:
        """``AttributeChange(path, None, after)`` (a new resource's input), built as
        ``mlops_infra.frozen`` says: the planner makes one for most inputs of every resource to create."""
        change = new(_AttributeChangeSlots)
        change.path, change.before, change.after = path, None, after
        change.forces_replacement = change.sensitive = False
        change.__class__ = AttributeChange
        return change


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """What happens to one resource (by URN), with the property-level changes.

    ``address``/``role`` tie it to an ML item (``endpoints.scorer`` / ``endpoint-config``);
    ``delete_before_replace`` says a replace deletes first (downtime); ``blocked`` is set when the
    change cannot be applied as planned (e.g. deleting a protected data store) and says why.
    ``retained`` marks a delete of a resource whose state has ``retainOnDelete``: Pulumi only drops it
    from the state and leaves it in the cloud (pulumi/pulumi ``pkg/resource/deploy/step.go``
    ``DeleteStep.Apply``: "Deleting a "drop on delete" is a no-op"), so it is not counted as
    destroyed (:attr:`destroys`). In JSON, ``"retainOnDelete": true``, written only when set. It also marks the
    delete of a resource whose state has ``pendingReplacement`` (reason ``pending-replacement``): already gone from
    the cloud, the engine only removes it from the state (``pkg/resource/deploy/step_generator.go``
    ``NewRemovePendingReplaceStep``), and of a resource read with ``Resource.get`` (``external``; reason
    ``read-resource``): the engine's delete of it is a discard (``step.go`` ``DeleteStep.Op``: ``OpReadDiscard``).
    ``not_ready`` marks a resource a refreshed plan read live and found not ready
    (``plan/readiness.py``), whatever its action: a ``no-op`` with reason ``not-ready``, a failed Job
    replaced, or a change planned anyway (its reason then says so too). In JSON, ``"notReady": true``,
    written only when set (so plans without ``--refresh`` keep their bytes).
    ``import_id`` (``"importId"`` in JSON, written only when set) marks a create or replace whose new
    object already exists in the cloud under that id and is adopted, not created (reason ``adopted``,
    ``plan/adopted.py``): Pulumi's ``import`` resource option, which ``mlops-infra apply`` gives the
    program for that ``up`` (``apply/adoption.py``). The action stays the create or replace it is: the
    URN still gets another object and a replaced one is still forgotten, so counts, sequences and the
    rollouts a plan announces are the same; only where the new object comes from differs.
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
    retained: bool = False
    not_ready: bool = False
    import_id: str = ""

    @property
    def destroys(self) -> bool:
        """Whether the change deletes the resource from the cloud: a delete, unless Pulumi only forgets
        it (``retained``). The summaries count these as "to destroy"."""
        return self.action is Action.DELETE and not self.retained

    def to_json(self) -> dict[str, Any]:
        out = {"urn": self.urn, "type": self.type, "name": self.name, "action": str(self.action),
                "reason": {"code": self.reason.code, "message": self.reason.message},
                "address": self.address or None, "role": self.role or None, "custom": self.custom,
                "deleteBeforeReplace": self.delete_before_replace, "blocked": self.blocked,
                "changes": [{"path": c.path, "before": c.before, "after": c.after,  # AttributeChange.to_json, inlined
                             "forcesReplacement": c.forces_replacement, "sensitive": c.sensitive}
                            for c in self.changes]}
        if self.retained:
            out["retainOnDelete"] = True
        if self.not_ready:
            out["notReady"] = True
        if self.import_id:
            out["importId"] = self.import_id
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceChange:
        return cls(data["urn"], data["type"], data["name"], Action(data["action"]),
                   Reason(data["reason"]["code"], data["reason"]["message"]),
                   tuple(AttributeChange.from_json(c) for c in data["changes"]), data["address"] or "",
                   data["role"] or "", data["custom"], data["deleteBeforeReplace"], data["blocked"],
                   data.get("retainOnDelete", False), data.get("notReady", False), data.get("importId", ""))

    @staticmethod
    def built(urn: str, type: str, name: str, action: Action, reason: Reason, changes: tuple[AttributeChange, ...],
              address: str, role: str, custom: bool, delete_before_replace: bool, blocked: str | None
              ) -> ResourceChange:
        """``ResourceChange(...)`` of every field, positionally, built as ``mlops_infra.frozen`` says (the
        planner makes one per desired resource)."""
        change = new(_ResourceChangeSlots)
        change.urn, change.type, change.name, change.action, change.reason = urn, type, name, action, reason
        change.changes, change.address, change.role, change.custom = changes, address, role, custom
        change.delete_before_replace, change.blocked, change.retained = delete_before_replace, blocked, False
        change.not_ready, change.import_id = False, ""
        change.__class__ = ResourceChange
        return change


_AttributeChangeSlots = fillable(AttributeChange)
_ResourceChangeSlots = fillable(ResourceChange)


@dataclass(frozen=True, slots=True)
class MLChange:
    """A change told in ML terms (model version bump, rollout, GPU capacity, monitors, ...).

    ``kind`` is one of: model-version, rollout, gpu-capacity, endpoint, version-check (whether the
    pinned model version is in the environment's registry, and how that was decided), sequence (an
    endpoint change AWS only accepts in steps, see :class:`ChangeSequence`), training,
    data, monitor, alert, channel, registry, drift. ``details`` holds the numbers behind the sentence.
    """

    address: str
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "summary": self.summary, "details": self.details}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MLChange:
        return cls(data["address"], data["kind"], data["summary"], dict(data["details"]))


ML_KINDS = ("model-version", "rollout", "endpoint", "version-check", "sequence", "gpu-capacity", "training", "registry", "data", "monitor",
            "alert", "channel", "drift")
"""Every ``MLChange.kind``, in the order renderers list an item's changes."""


@dataclass(frozen=True, slots=True)
class SequenceStep:
    """One step of a :class:`ChangeSequence`: ``deregister``, ``update`` or ``register`` these URNs."""

    action: str
    urns: tuple[str, ...]
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "urns": list(self.urns), "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SequenceStep:
        return cls(data["action"], tuple(data["urns"]), data["summary"])


@dataclass(frozen=True, slots=True)
class ChangeSequence:
    """Changes of one ML item that AWS only accepts in this order (``plan/sequences.py``).

    ``runner`` says who runs the steps: ``apply`` (``mlops-infra apply`` runs them as phased
    ``pulumi up``s) or ``rollout`` (the rollout controller lands the endpoint's config itself and
    deregisters around it; Pulumi only creates the new model and config)."""

    address: str
    reason: str
    steps: tuple[SequenceStep, ...]
    runner: str = "apply"

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason, "runner": self.runner,
                "steps": [s.to_json() for s in self.steps]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeSequence:
        return cls(data["address"], data["reason"], tuple(SequenceStep.from_json(s) for s in data["steps"]),
                   data.get("runner", "apply"))


@dataclass(frozen=True, slots=True)
class CostLine:
    """Monthly cost of one priced item, before and after (None = not present on that side).

    ``before_usd``/``after_usd`` are the ceilings (max replicas or nodes); ``before_min_usd``/
    ``after_min_usd`` the floors (min replicas), None meaning "same as the ceiling". ``basis`` says
    how it was counted ("2-10 replicas x ml.g5.xlarge @ $1.41/h"), ``note`` flags estimates (region
    fallback, EC2 node price, spot).
    """

    address: str
    basis: str
    before_usd: float | None
    after_usd: float | None
    note: str = ""
    before_min_usd: float | None = None
    after_min_usd: float | None = None

    @property
    def delta_usd(self) -> float:
        """Change of the ceiling."""
        return (self.after_usd or 0.0) - (self.before_usd or 0.0)

    @property
    def before_range(self) -> CostRange | None:
        return _range(self.before_min_usd, self.before_usd)

    @property
    def after_range(self) -> CostRange | None:
        return _range(self.after_min_usd, self.after_usd)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "basis": self.basis, "beforeUsd": _money(self.before_usd),
                "afterUsd": _money(self.after_usd),
                "deltaUsd": round((_money(self.after_usd) or 0.0) - (_money(self.before_usd) or 0.0), 2),
                "beforeMinUsd": _money(_floor(self.before_min_usd, self.before_usd)),
                "afterMinUsd": _money(_floor(self.after_min_usd, self.after_usd)), "note": self.note or None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostLine:
        return cls(data["address"], data["basis"], data["beforeUsd"], data["afterUsd"], data["note"] or "",
                   data["beforeMinUsd"], data["afterMinUsd"])


def _floor(floor: float | None, ceiling: float | None) -> float | None:
    return ceiling if floor is None else floor


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _range(floor: float | None, ceiling: float | None) -> CostRange | None:
    return None if ceiling is None else CostRange(_floor(floor, ceiling) or 0.0, ceiling)


@dataclass(frozen=True, slots=True)
class CostRange:
    """A monthly amount as a range: min is the floor (min replicas), max the ceiling."""

    min_usd: float
    max_usd: float

    def to_json(self) -> dict[str, float]:
        return {"minUsd": round(self.min_usd, 2), "maxUsd": round(self.max_usd, 2)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostRange:
        return cls(data["minUsd"], data["maxUsd"])


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Monthly cost before, after and the delta, with sources (hours per month: 730).

    ``rollout_extra_usd`` is the temporary extra cost of blue/green or canary capacity during the
    rollouts this plan starts (a one-off amount, not monthly). ``not_counted`` names the items the
    totals leave out (no price in the catalog, no schedule, ...; the notes say why).
    """

    before: CostRange
    after: CostRange
    lines: tuple[CostLine, ...] = ()
    rollout_extra_usd: float = 0.0
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    not_counted: tuple[str, ...] = ()

    @property
    def delta(self) -> CostRange:
        return CostRange(self.after.min_usd - self.before.min_usd, self.after.max_usd - self.before.max_usd)

    def to_json(self) -> dict[str, Any]:
        before, after = self.before.to_json(), self.after.to_json()
        delta = {key: round(after[key] - before[key], 2) for key in ("minUsd", "maxUsd")}
        return {"currency": "USD", "hoursPerMonth": HOURS_PER_MONTH, "before": before, "after": after, "delta": delta,
                "rolloutExtraUsd": round(self.rollout_extra_usd, 2),
                "lines": [line.to_json() for line in self.lines], "sources": list(self.sources),
                "notes": list(self.notes), "notCounted": list(self.not_counted)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostEstimate:
        return cls(CostRange.from_json(data["before"]), CostRange.from_json(data["after"]),
                   tuple(CostLine.from_json(line) for line in data["lines"]), data["rolloutExtraUsd"],
                   tuple(data["sources"]), tuple(data["notes"]), tuple(data.get("notCounted", ())))


@dataclass(frozen=True, slots=True)
class PlanCounts:
    """Custom resources by what the apply does to them. A blocked change (``ResourceChange.blocked``:
    the apply refuses the plan, ``cli/commands/apply.py``) is counted in ``blocked`` only, never under
    its action: a protected bucket whose delete is blocked is not "to destroy" (audit finding
    removal-1)."""

    add: int = 0
    change: int = 0
    replace: int = 0
    destroy: int = 0
    blocked: int = 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.replace + self.destroy

    def sentence(self) -> str:
        """``Plan: N to add, N to change, N to replace, N to destroy.``, with ``, N blocked`` before the
        full stop when some are."""
        blocked = f", {self.blocked} blocked" if self.blocked else ""
        return (f"Plan: {self.add} to add, {self.change} to change, {self.replace} to replace, "
                f"{self.destroy} to destroy{blocked}.")


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
    unread: tuple[UnreadGroup, ...] = ()
    sequences: tuple[ChangeSequence, ...] = ()
    guardrails: tuple[GuardrailResult, ...] = ()
    """The guardrail rules of the environment that fail (those that pass are not kept)."""

    @property
    def refresh_complete(self) -> bool:
        """Every live read succeeded (True when the plan was not refreshed)."""
        return not self.unread

    @property
    def counts(self) -> PlanCounts:
        tally = {a: 0 for a in Action}
        blocked = 0
        for change in self.changes:
            if not change.custom:
                continue
            if change.blocked:
                blocked += 1
            elif change.destroys or change.action is not Action.DELETE:
                tally[change.action] += 1
        return PlanCounts(tally[Action.CREATE], tally[Action.UPDATE], tally[Action.REPLACE], tally[Action.DELETE],
                          blocked)

    @property
    def has_changes(self) -> bool:
        return any(c.action.is_change for c in self.changes)

    @property
    def not_ready(self) -> int:
        """Resources a refreshed plan read live that are not ready (reason ``not-ready``,
        ``plan/readiness.py``), whether or not a change is planned for them."""
        return sum(1 for c in self.changes if is_not_ready(c))

    def to_json(self) -> dict[str, Any]:
        return self._json([c.to_json() for c in self.changes])

    def to_json_lazy(self) -> dict[str, Any]:
        """``to_json()`` with each of its ``resourceChanges`` still a :class:`LazyChange` (:func:`lazy_json`
        makes its ``to_json()``): a JSON encoder given ``default=lazy_json`` writes ``to_json()``'s text
        while only one resource's data exists at a time, not the tens of thousands of dicts at once."""
        return self._json([LazyChange(c) for c in self.changes])

    def _json(self, resource_changes: list[Any]) -> dict[str, Any]:
        """``to_json()`` with ``resource_changes`` as its ``resourceChanges``."""
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
                        "destroy": counts.destroy, "blocked": counts.blocked, "hasChanges": self.has_changes,
                        **({"notReady": not_ready} if (not_ready := self.not_ready) else {})},
            "drift": [drift_to_json(d) for d in self.drift],
            "ml": [m.to_json() for m in self.ml],
            "cost": self.cost.to_json() if self.cost else None,
            "resourceChanges": resource_changes,
            "sequences": [s.to_json() for s in self.sequences],
            "warnings": list(self.warnings),
            **({"refresh": {"complete": not self.unread, "unread": sum(g.count for g in self.unread),
                            "causes": [g.to_json() for g in self.unread]}} if self.refreshed else {}),
            **({"guardrails": [g.to_json() for g in self.guardrails]} if self.guardrails else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """A plan from its JSON (``to_json`` output of this format version); drift items stay dicts.

        Raises ``KeyError``/``ValueError``/``TypeError`` on malformed data; callers reading files
        validate against :func:`plan_json_schema` first (see ``plan/planfile.py``).
        """
        if data.get("formatVersion") != PLAN_FORMAT_VERSION:
            raise ValueError(f"plan format {data.get('formatVersion')!r} is not {PLAN_FORMAT_VERSION}")
        return cls(
            project=data["project"], stack=data["stack"], target=dict(data["target"]),
            state_serial=data["stateSerial"], graph_digest=data["graphDigest"],
            changes=tuple(ResourceChange.from_json(c) for c in data["resourceChanges"]),
            ml=tuple(MLChange.from_json(m) for m in data["ml"]), drift=tuple(data["drift"]),
            cost=CostEstimate.from_json(data["cost"]) if data["cost"] is not None else None,
            refreshed=data["refreshed"], warnings=tuple(data["warnings"]),
            unread=tuple(UnreadGroup.from_json(g) for g in (data.get("refresh") or {}).get("causes", ())),
            sequences=tuple(ChangeSequence.from_json(s) for s in data.get("sequences") or ()),
            guardrails=tuple(GuardrailResult.from_json(g) for g in data.get("guardrails") or ()),
        )


class LazyChange:
    """A :class:`ResourceChange` standing for its ``to_json()`` in :meth:`Plan.to_json_lazy`'s document.

    Neither orjson nor ``json`` can write it (it is no dataclass, dict or list): both hand it to the
    ``default`` they were given (:func:`lazy_json`) and write what that returns in its place, at its
    depth, with the same options (orjson 3.13's README, "default"; ``json/encoder.py``,
    ``_iterencode``: ``o = _default(o)`` then ``_iterencode(o, _current_indent_level)``), so the text is
    ``to_json()``'s; orjson releases the dict once written (``src/serialize/per_type/default.rs``:
    ``Py_DECREF(default_obj)`` after serialising it, with the caller's nesting depth)."""

    __slots__ = ("change",)

    def __init__(self, change: ResourceChange) -> None:
        self.change = change


def lazy_json(value: Any) -> dict[str, Any]:
    """The ``default`` for ``orjson.dumps``/``json.dumps`` of a document holding :class:`LazyChange`:
    its change's ``to_json()``; ``TypeError`` for anything else, as the encoder itself raises."""
    if type(value) is LazyChange:
        return value.change.to_json()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class DeferredDigest:
    """A graph digest to compute when first read: :func:`~mlops_infra.plan.planner.make_plan` gives
    a plan this instead of ``graph.digest()`` (a serialisation and hash of the whole graph, which
    only the JSON format and saved plans show). ``Plan.graph_digest`` reads it as the digest, computed
    once and kept; equality, ``repr``, ``dataclasses.replace`` and pickling read it like any field."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], str]) -> None:
        self.compute = compute


def _deferred_field(cls: type, name: str) -> Any:
    """Make the slot field ``name`` of the frozen dataclass ``cls`` read a :class:`DeferredDigest`
    it holds as that digest (computed on first read, then stored in place of it); return the slot's
    own descriptor (what it holds, unread)."""
    slot = cls.__dict__[name]

    def read(self: Any) -> Any:
        value = slot.__get__(self, cls)
        if type(value) is DeferredDigest:
            value = value.compute()
            slot.__set__(self, value)
        return value

    setattr(cls, name, property(read, slot.__set__, doc=f"``{name}`` (see :class:`DeferredDigest`)."))
    return slot


_GRAPH_DIGEST = _deferred_field(Plan, "graph_digest")


def amended(plan: Plan, **changes: Any) -> Plan:
    """``dataclasses.replace(plan, **changes)``, with a digest not read yet still not computed:
    ``replace`` reads every field it is not given, and reading a :class:`DeferredDigest` computes it
    (a serialisation and hash of the whole graph). The new plan holds what ``plan`` held."""
    if "graph_digest" not in changes:
        changes["graph_digest"] = _GRAPH_DIGEST.__get__(plan, Plan)
    return replace(plan, **changes)


@dataclass(frozen=True, slots=True)
class UnreadGroup:
    """Resources a refreshed plan could not read, for one cause.

    ``cause`` is a key of ``state.model.READ_FAILURE_CAUSES`` (``access-denied``, ``throttled``,
    ``server-error``, ``no-credentials``, ``credentials-rejected``, ``connection-failed``,
    ``timeout``, ``bad-endpoint``, ``other``); ``codes`` the AWS error codes (or exception
    classes) seen, never a message; ``count`` how many resources; ``advice`` what to do.
    """

    cause: str
    codes: tuple[str, ...]
    count: int
    advice: str

    def to_json(self) -> dict[str, Any]:
        return {"cause": self.cause, "codes": list(self.codes), "count": self.count, "advice": self.advice}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnreadGroup:
        return cls(data["cause"], tuple(data["codes"]), data["count"], data["advice"])


def drift_to_json(item: Any) -> dict[str, Any]:
    """One drift item as JSON: its own ``to_json`` if it has one, a dict as is, else the
    ``DriftItem`` shape ``{urn, type, kind, summary, changes: [{path, before, after}]}`` (before =
    last applied, after = live; the drift detector never puts a secret value in a change)."""
    if hasattr(item, "to_json"):
        return item.to_json()
    if isinstance(item, dict):
        return item
    changes = [{"path": c[0], "before": c[1], "after": c[2]} if isinstance(c, tuple) else c
               for c in getattr(item, "changes", ())]
    return {"urn": item.urn, "type": getattr(item, "type", None), "kind": getattr(item, "kind", None),
            "summary": getattr(item, "summary", ""), "changes": changes}


# --------------------------------------------------------------------------------------------
# JSON Schema of Plan.to_json() (schemas/plan-v1.schema.json is generated from this function)
# --------------------------------------------------------------------------------------------


def _obj(properties: dict[str, Any], *, required: list[str] | None = None, extra: bool = False,
         description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "required": list(properties) if required is None else required,
                           "additionalProperties": extra}
    if description:
        out["description"] = description
    return out


def _t(kind: str | list[str], description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


_MONEY = {"type": ["number", "null"]}


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``Plan.to_json()`` for ``PLAN_FORMAT_VERSION``.

    ``schemas/plan-v{N}.schema.json`` is this function's output (a test keeps it current). Drift
    items belong to the drift detector and are only required to be objects with a ``urn``.

    It has no ``$id`` and no ``$ref``: its base URI is the URL it is read from (JSON Schema 2020-12 Core,
    "Initial Base URI"). The ``urn:mlops-infra:...`` id it had made yaml-language-server 1.20 and later
    throw on Node.js 25 (it indexes each ``$id`` through Node's legacy ``url.resolve``, which reads
    ``mlops-infra:schema`` as a host and a port: https://nodejs.org/api/deprecations.html#DEP0170), as
    the MLSystem schema's did (``spec/schema.py``, audit schemas-5).
    """
    cost_range = _obj({"minUsd": _t("number", "Floor (min replicas/nodes), USD per month."),
                       "maxUsd": _t("number", "Ceiling (max replicas/nodes), USD per month.")})
    attribute = _obj({
        "path": _t("string", "Property path: dots for keys, [i] for list items, [\"k\"] for odd keys."),
        "before": {"description": "Prior value (null = absent); \"(sensitive)\" or \"(known after apply)\"."},
        "after": {"description": "Desired value (null = removed); \"(sensitive)\" or \"(known after apply)\"."},
        "forcesReplacement": _t("boolean", "This change alone makes the resource a replace."),
        "sensitive": _t("boolean", "The values are secret (redacted here)."),
    })
    change = _obj({
        "urn": _t("string", "The resource's Pulumi URN (the key that matches state)."),
        "type": _t("string", "Pulumi type token."),
        "name": _t("string", "Logical name (last URN part)."),
        "action": _t("string", "What happens.", enum=[a.value for a in Action]),
        "reason": _obj({"code": _t("string", "Stable reason code.", enum=sorted(REASON_CODES)),
                        "message": _t("string", "One sentence for people.")}),
        "address": _t(["string", "null"], "The ML item (endpoints.scorer) when known."),
        "role": _t(["string", "null"], "What the resource is within its item (endpoint-config)."),
        "custom": _t("boolean", "false for components (not counted in the summary)."),
        "deleteBeforeReplace": _t("boolean", "A replace deletes the old resource first (downtime)."),
        "blocked": _t(["string", "null"], "Why the change cannot be applied as planned, and how to unblock."),
        "changes": {"type": "array", "items": attribute, "description": "Property changes, sorted by path."},
        "retainOnDelete": {"const": True, "description": "Only on a delete Pulumi only drops from the state, "
                           "deleting nothing: of a resource kept in the cloud (Pulumi's retainOnDelete), already "
                           "gone (pendingReplacement) or read, not managed (external); not counted in "
                           "summary.destroy."},
        "notReady": {"const": True, "description": "Only in a refreshed plan, on a resource read live that is not "
                     "ready (whatever its action); counted in summary.notReady."},
        "importId": {"type": "string", "minLength": 1, "description": "Only on a create or replace whose new "
                     "object already exists in the cloud (reason adopted): its id, which apply imports (Pulumi's "
                     "import resource option) instead of creating it."},
    }, required=["urn", "type", "name", "action", "reason", "address", "role", "custom", "deleteBeforeReplace",
                 "blocked", "changes"])
    ml = _obj({"address": _t("string", "The ML item (endpoints.scorer), or \"system\" for totals."),
               "kind": _t("string", "What kind of ML change.", enum=list(ML_KINDS)),
               "summary": _t("string", "One sentence."),
               "details": _t("object", "The numbers behind the sentence (kind-specific).")})
    line = _obj({
        "address": _t("string", "The priced ML item."),
        "basis": _t("string", "How it was counted."),
        "beforeUsd": {**_MONEY, "description": "Ceiling before (null = absent before)."},
        "afterUsd": {**_MONEY, "description": "Ceiling after (null = absent after)."},
        "deltaUsd": _t("number", "afterUsd - beforeUsd (absent = 0)."),
        "beforeMinUsd": {**_MONEY, "description": "Floor before."},
        "afterMinUsd": {**_MONEY, "description": "Floor after."},
        "note": _t(["string", "null"], "Estimate caveats (EC2 node price, region fallback, spot)."),
    })
    cost = _obj({
        "currency": {"const": "USD"},
        "hoursPerMonth": {"const": HOURS_PER_MONTH},
        "before": cost_range, "after": cost_range, "delta": cost_range,
        "rolloutExtraUsd": _t("number", "One-off extra cost of the rollouts this plan starts."),
        "lines": {"type": "array", "items": line},
        "sources": {"type": "array", "items": {"type": "string"}, "description": "Price sources with dates."},
        "notes": {"type": "array", "items": {"type": "string"}, "description": "What was not priced, and why."},
        "notCounted": {"type": "array", "items": {"type": "string"},
                       "description": "Addresses of the items the totals leave out (see notes for why)."},
    })
    step = _obj({"action": _t("string", "What the step does.", enum=["deregister", "update", "register"]),
                 "urns": {"type": "array", "items": {"type": "string"}, "description": "The resources it changes."},
                 "summary": _t("string", "The AWS calls it makes.")})
    sequence = _obj({"address": _t("string", "The ML item (endpoints.scorer)."),
                     "reason": _t("string", "Why the order matters, with its source."),
                     "runner": {"enum": ["apply", "rollout"], "description":
                                "Who runs the steps: mlops-infra apply (phased pulumi up) or the rollout controller."},
                     "steps": {"type": "array", "items": step, "description": "In the order they run."}})
    summary = _obj({"add": _t("integer", "Custom resources created.", minimum=0),
                    "change": _t("integer", "Custom resources updated in place.", minimum=0),
                    "replace": _t("integer", "Custom resources replaced.", minimum=0),
                    "destroy": _t("integer", "Custom resources deleted (not those only forgotten: retainOnDelete).",
                                  minimum=0),
                    "blocked": _t("integer", "Custom resources whose change is blocked (a protected resource's "
                                  "delete or replace): counted here, not under their action; apply refuses the plan.",
                                  minimum=0),
                    "hasChanges": _t("boolean", "Any resource (components included) changes."),
                    "notReady": _t("integer", "Only when some are: resources a refreshed plan read live that are "
                                   "not ready (reason not-ready), with or without a planned change; not a change "
                                   "themselves.", minimum=1)},
                   required=["add", "change", "replace", "destroy", "hasChanges"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"mlops-infra plan, format {PLAN_FORMAT_VERSION}",
        **_obj({
            "formatVersion": {"const": PLAN_FORMAT_VERSION},
            "project": _t("string", "Pulumi project."),
            "stack": _t("string", "Pulumi stack (environment)."),
            "target": _t("object", "Target facts from the desired graph (cloud, region, account, namespace)."),
            "stateSerial": _t("string", "SHA-256 of the prior state the plan was computed against."),
            "graphDigest": _t("string", "SHA-256 of the desired graph."),
            "refreshed": _t("boolean", "Live state was read (drift is meaningful)."),
            "summary": summary,
            "drift": {"type": "array", "items": _obj({"urn": {"type": "string"}}, extra=True),
                      "description": "Drift items (live vs last applied), shown before the changes."},
            "ml": {"type": "array", "items": ml, "description": "Changes in ML terms, sorted by address."},
            "cost": {"oneOf": [cost, {"type": "null"}], "description": "Monthly cost estimate, or null."},
            "resourceChanges": {"type": "array", "items": change, "description": "Sorted by URN."},
            "sequences": {"type": "array", "items": sequence,
                          "description": "Changes AWS only accepts in order; apply runs their steps in order."},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "refresh": _obj({
                "complete": _t("boolean", "Every live read succeeded; false: drift is unknown for `unread` resources."),
                "unread": _t("integer", "Resources that could not be read.", minimum=0),
                "causes": {"type": "array", "description": "Unread resources by cause.", "items": _obj({
                    "cause": _t("string", "Why the reads failed.", enum=sorted(READ_FAILURE_CAUSES)),
                    "codes": {"type": "array", "items": {"type": "string"},
                              "description": "AWS error codes (or exception classes) seen; never messages."},
                    "count": _t("integer", "Resources not read for this cause.", minimum=1),
                    "advice": _t("string", "What to do."),
                })},
            }, description="Only in refreshed plans: whether the live reads were complete."),
            "guardrails": {"type": "array", "description": "Only when some fail: the environment's guardrail rules "
                           "that fail (docs/guardrails.md).", "items": _obj({
                               "rule": _t("string", "The rule.", enum=list(GUARDRAIL_RULES)),
                               "level": _t("string", "mandatory: the plan exits 1; advisory: a warning.",
                                           enum=["mandatory", "advisory"]),
                               "status": {"const": "fail"},
                               "summary": _t("string", "One sentence."),
                               "findings": {"type": "array", "items": _obj({
                                   "rule": _t("string", "The rule."),
                                   "address": _t("string", "The ML item, platform, or environments.<env>."),
                                   "field": _t(["string", "null"], "The spec field to change, relative to the item."),
                                   "urn": _t(["string", "null"], "The resource in violation, when one."),
                                   "message": _t("string", "What is wrong."),
                                   "fix": _t("string", "What to change."),
                               })},
                           })},
        }, required=["formatVersion", "project", "stack", "target", "stateSerial", "graphDigest", "refreshed",
                     "summary", "drift", "ml", "cost", "resourceChanges", "warnings"]),
    }


def dump_plan_schema() -> str:
    """The text of ``schemas/plan-v{N}.schema.json``. Regenerate the file with
    ``python -c "from mlops_infra.plan.model import dump_plan_schema as d; print(d(), end='')" >
    schemas/plan-v1.schema.json``."""
    import json

    return json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
