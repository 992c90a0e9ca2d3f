"""Tell a plan in ML terms: model versions, rollouts, GPU capacity, training, data, monitoring.

Contract of :func:`summarize_ml` (pure):
- Reads ML facts (``compile/facts.py``) from component resources on both sides: the desired
  graph (after) and the prior state (before, the components' ``inputs``). Items are matched by
  address (``<section>.<name>``). Nothing is inferred from cloud resources.
- One :class:`~mlops_infra.plan.model.MLChange` per (item, kind) that changed; ``summary`` is one
  sentence starting with the item's name; ``details`` holds the numbers (before/after values,
  GPU counts, runs per month, rollout steps). Kinds: see ``ML_KINDS`` in ``plan/model.py``.
- GPU capacity is counted at the ceiling: GPUs per replica x max replicas (endpoints; min
  replicas for an endpoint without autoscaling, which runs at min fixed), GPUs per node x max
  nodes (clusters).
- Said as the target runs it: an endpoint without autoscaling is "N replicas (fixed, no
  autoscaling)" and a change of its unused max says so; on Kubernetes instance types are EC2 node
  shapes (facts saved with SageMaker names are read as their node shape), and a data source is a
  bucket *declaration* (a ConfigMap): the summary says the bucket is assumed to exist and that its
  encryption, versioning and retention are required of it, not provisioned. When two or more items change it, a ``system`` total is added.
- A model version change names the rollout that will carry it (from the after-side facts).
- One ``drift`` change per drift item given (its own summary, never a value it did not show).
- Sorted by address, then by kind in ``ML_KINDS`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra import catalog
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.cost import (
    facts_by_address,
    fixed_replicas,
    replica_range,
    replicas_text,
    runs_text,
    scheduled_runs,
    target_cloud,
)
from mlops_infra.plan.model import ML_KINDS, MLChange, ResourceChange
from mlops_infra.state.model import PriorState

Facts = dict[str, Any]


def duration(seconds: int | float | None) -> str:
    """``600`` -> ``10m``; ``7200`` -> ``2h``; ``90`` -> ``90s``; None -> ``-``."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _onoff(value: Any) -> str:
    return "on" if value else "off"


def _names(items: Sequence[str] | None) -> str:
    return ", ".join(items) if items else "none"


def _range(low: Any, high: Any) -> str:
    return f"{low}-{high}"


def _shape(facts: Facts, count_key: str, noun: str) -> str:
    """``3-20 replicas x ml.g5.xlarge (1 A10G each)``; ``2 replicas (fixed, no autoscaling) x ...``;
    on Kubernetes ``... x g5.xlarge nodes (1 A10G each)``."""
    gpus = f" ({facts['gpus']} {facts['gpuType']} each)" if facts.get("gpus") else ""
    low, high = facts.get(count_key.replace("max", "min")), facts.get(count_key)
    if noun == "replicas" and fixed_replicas(facts):
        count = replicas_text(facts, "fixed, no autoscaling")
    else:
        count = f"{low}-{high} {noun}"
    instance = facts.get("instanceType")
    if facts.get("_cloud") == "kubernetes":
        if noun == "nodes":
            return f"{low}-{high} {instance or 'CPU'} nodes{gpus}"
        return f"{count} on {f'{instance} nodes' if instance else 'the cluster nodes'}{gpus}"
    return f"{count} x {instance}{gpus}"


# --- rollouts ----------------------------------------------------------------------------------------


def describe_rollout(rollout: dict[str, Any] | None, facts: Facts | None = None) -> str:
    """``canary 2% -> 5% -> 100%, 10m bake per step, rolls back on a, b``."""
    rollout = rollout or {}
    strategy = rollout.get("strategy") or "all_at_once"
    bake = rollout.get("bakeSeconds")
    steps = rollout.get("steps") or []
    if strategy == "canary":
        text = "canary " + " -> ".join(f"{s}%" for s in steps)
        text += f", {duration(bake)} bake per step" if bake else ", no bake between steps"
    elif strategy == "blue_green":
        fleet = f" (a second fleet of {facts.get('minReplicas')} x {facts.get('instanceType')})" if facts else ""
        text = f"blue/green{fleet}" + (f", {duration(bake)} bake before the switch" if bake else ", no bake")
    elif strategy == "rolling":
        text = "rolling" + (" " + " -> ".join(f"{s}%" for s in steps) if steps else "")
        text += f", {duration(bake)} bake per batch" if bake else ""
    else:
        return "all at once (no staged rollout)"
    rollback = rollout.get("rollbackOn") or []
    return text + (f", rolls back on {', '.join(rollback)}" if rollback else ", no automatic rollback")


def _rollout_details(rollout: dict[str, Any] | None) -> dict[str, Any]:
    rollout = rollout or {}
    return {"strategy": rollout.get("strategy"), "steps": list(rollout.get("steps") or []),
            "bakeSeconds": rollout.get("bakeSeconds"), "rollbackOn": list(rollout.get("rollbackOn") or [])}


# --- GPU capacity --------------------------------------------------------------------------------------


def max_gpus(facts: Facts | None) -> tuple[str | None, int]:
    """(GPU type, GPUs at the ceiling) of an endpoint or cluster; (None, 0) for CPU or other kinds
    and for an endpoint still waiting for its model version (nothing runs)."""
    if not facts or not facts.get("gpus") or facts.get("deployed") is False:
        return None, 0
    count = replica_range(facts)[1] if facts.get("kind") == "endpoint" else facts.get("maxNodes")
    return facts.get("gpuType"), int(facts["gpus"]) * int(count or 0)


def _gpu_change(address: str, name: str, before: Facts | None, after: Facts | None) -> list[MLChange]:
    (old_type, old), (new_type, new) = max_gpus(before), max_gpus(after)
    if (old_type, old) == (new_type, new):
        return []
    if old_type == new_type or not old or not new:
        gpu = new_type or old_type
        text = f"{new - old:+d} {gpu} GPUs (max)"
    else:
        text = f"-{old} {old_type}, +{new} {new_type} GPUs (max)"
    return [MLChange(address, "gpu-capacity", f"{name}: {text}",
                     {"gpuTypeBefore": old_type, "gpuTypeAfter": new_type, "maxGpusBefore": old,
                      "maxGpusAfter": new, "delta": new - old if old_type == new_type or not old or not new else None})]


def _system_gpu(changes: list[MLChange]) -> list[MLChange]:
    gpu = [c for c in changes if c.kind == "gpu-capacity"]
    if len(gpu) < 2:
        return []
    totals: dict[str, int] = {}
    for change in gpu:
        d = change.details
        if d["gpuTypeBefore"]:
            totals[d["gpuTypeBefore"]] = totals.get(d["gpuTypeBefore"], 0) - d["maxGpusBefore"]
        if d["gpuTypeAfter"]:
            totals[d["gpuTypeAfter"]] = totals.get(d["gpuTypeAfter"], 0) + d["maxGpusAfter"]
    parts = [f"{delta:+d} {gpu_type}" for gpu_type, delta in sorted(totals.items()) if delta]
    if not parts:
        return []
    return [MLChange("system", "gpu-capacity", f"system: {', '.join(parts)} GPUs (max) across {len(gpu)} items",
                     {"deltaByGpuType": {k: v for k, v in sorted(totals.items()) if v}, "items": len(gpu)})]


# --- field changes -------------------------------------------------------------------------------------


def _fields(before: Facts, after: Facts, spec: Sequence[tuple[str, str, Callable[[Any], str]]]) -> tuple[list[str], dict]:
    """Sentence parts and details for the facts keys in ``spec`` (key, label, formatter) that differ."""
    parts, details = [], {}
    for key, label, fmt in spec:
        old, new = before.get(key), after.get(key)
        if old != new:
            parts.append(f"{label} {fmt(old)} -> {fmt(new)}")
            details[key] = {"before": old, "after": new}
    return parts, details


def _item(address: str, kind: str, name: str, parts: list[str], details: dict) -> list[MLChange]:
    return [MLChange(address, kind, f"{name}: {'; '.join(parts)}", details)] if parts else []


def _lifecycle(address: str, kind: str, name: str, before: Facts | None, after: Facts | None,
               noun: str, describe: Callable[[Facts], str]) -> list[MLChange] | None:
    """A created or removed item's change, or None when it exists on both sides."""
    if before is None and after is not None:
        return [MLChange(address, kind, f"{name}: new {noun}, {describe(after)}", {"after": after})]
    if after is None and before is not None:
        return [MLChange(address, kind, f"{name}: {noun} removed (was {describe(before)})", {"before": before})]
    return None


# --- per kind ------------------------------------------------------------------------------------------


def _memory(facts: Facts | None) -> str | None:
    """``13.9 of 24 GiB per GPU`` from the facts' optional ``gpuMemory`` (compile/facts.py)."""
    memory = (facts or {}).get("gpuMemory")
    return memory.get("text") if isinstance(memory, dict) else None


def _with_memory(text: str, facts: Facts) -> str:
    memory = _memory(facts)
    return f"{text}, memory {memory}" if memory else text


def _describe_endpoint(f: Facts) -> str:
    served = f"{f.get('model')} v{f.get('modelVersion')} on"
    if f.get("deployed") is False:
        served = f"waits for {f.get('model')} v{f.get('waitingFor')} before it runs on"
    return _with_memory(f"{served} {_shape(f, 'maxReplicas', 'replicas')}", f) + f", {describe_rollout(f.get('rollout'), f)}"


def _endpoint(address: str, name: str, before: Facts | None, after: Facts | None) -> list[MLChange]:
    gpu = _gpu_change(address, name, before, after)
    made = _lifecycle(address, "endpoint", name, before, after, "endpoint", _describe_endpoint)
    if made is not None:
        return made + gpu
    assert before is not None and after is not None
    out: list[MLChange] = []
    if before.get("deployed") is False and after.get("deployed") is not False:
        out.append(MLChange(address, "endpoint", f"{name}: {after.get('model')} v{after.get('modelVersion')} is "
                            f"available, so the endpoint is created: {_describe_endpoint(after)}",
                            {"created": True, "modelVersion": after.get("modelVersion")}))
        return out + gpu
    old_model, new_model = (before.get("model"), before.get("modelVersion")), (after.get("model"), after.get("modelVersion"))
    if old_model != new_model:
        target = f"v{new_model[1]}" if old_model[0] == new_model[0] else f"{new_model[0]} v{new_model[1]}"
        out.append(MLChange(
            address, "model-version",
            f"{name}: {old_model[0]} v{old_model[1]} -> {target}, {describe_rollout(after.get('rollout'), after)}",
            {"modelBefore": old_model[0], "modelAfter": new_model[0], "versionBefore": old_model[1],
             "versionAfter": new_model[1], "rollout": _rollout_details(after.get("rollout"))}))
    if (before.get("rollout") or {}) != (after.get("rollout") or {}):
        out.append(MLChange(
            address, "rollout",
            f"{name}: rollout {describe_rollout(before.get('rollout'))} -> {describe_rollout(after.get('rollout'))}",
            {"before": _rollout_details(before.get("rollout")), "after": _rollout_details(after.get("rollout"))}))
    parts, details = _fields(before, after, [
        ("instanceType", "instance", str), ("gpus", "GPUs per replica", str),
        ("capturePercent", "capture", lambda v: "off" if v is None else f"{v}%")])
    if _memory(before) != _memory(after) and _memory(after):
        parts.append(f"memory {_memory(before) or 'unknown'} -> {_memory(after)}")
        details["gpuMemory"] = {"before": before.get("gpuMemory"), "after": after.get("gpuMemory")}
    if (before.get("autoscaling") or None) != (after.get("autoscaling") or None) and "autoscaling" in after:
        parts.append(f"autoscaling {_scaling(before)} -> {_scaling(after)}")
        details["autoscaling"] = {"before": before.get("autoscaling"), "after": after.get("autoscaling")}
    if ((before.get("minReplicas"), before.get("maxReplicas")) != (after.get("minReplicas"), after.get("maxReplicas"))
            or replica_range(before) != replica_range(after)):
        parts.insert(0, _replicas_change(before, after))
        details["replicas"] = {"before": [before.get("minReplicas"), before.get("maxReplicas")],
                               "after": [after.get("minReplicas"), after.get("maxReplicas")]}
    return out + _item(address, "endpoint", name, parts, details) + gpu


def _scaling(facts: Facts) -> str:
    scaling = facts.get("autoscaling")
    return f"{scaling.get('metric')} target {scaling.get('target'):g}" if scaling else "off"


def _replicas(facts: Facts) -> str:
    low, high = replica_range(facts)
    return f"{low} (fixed)" if fixed_replicas(facts) else _range(low, high)


def _replicas_change(before: Facts, after: Facts) -> str:
    """``replicas 2-6 -> 2-8``; for endpoints without autoscaling what runs, and that an unused
    max changed nothing."""
    if replica_range(before) == replica_range(after) and fixed_replicas(after):
        return (f"replicas.max {before.get('maxReplicas')} -> {after.get('maxReplicas')} (no effect: no autoscaling, "
                f"runs at {after.get('minReplicas')} fixed)")
    return f"replicas {_replicas(before)} -> {_replicas(after)}"


def _rounded(runs: float | None) -> float | None:
    """A run count for the plan's JSON: two decimals (an average month's runs), whole counts as integers."""
    if runs is None:
        return None
    return int(runs) if runs == int(runs) else round(runs, 2)


def _runs(cron: str | None) -> str:
    runs = scheduled_runs(cron)
    return f'"{cron}"' + (f" (~{runs_text(runs)} runs/month)" if runs is not None else "") if cron else "none"


def _cluster(address: str, name: str, before: Facts | None, after: Facts | None) -> list[MLChange]:
    gpu = _gpu_change(address, name, before, after)
    made = _lifecycle(address, "training", name, before, after, "training cluster",
                      lambda f: _shape(f, "maxNodes", "nodes") + (", spot" if f.get("spot") else ""))
    if made is not None:
        return made + gpu
    assert before is not None and after is not None
    parts, details = _fields(before, after, [("instanceType", "instance", str), ("spot", "spot", _onoff),
                                             ("maxHourlyCostUsd", "max hourly cost", lambda v: f"${v}")])
    if (before.get("minNodes"), before.get("maxNodes")) != (after.get("minNodes"), after.get("maxNodes")):
        parts.insert(0, f"nodes {_range(before.get('minNodes'), before.get('maxNodes'))} -> "
                        f"{_range(after.get('minNodes'), after.get('maxNodes'))}")
        details["nodes"] = {"before": [before.get("minNodes"), before.get("maxNodes")],
                            "after": [after.get("minNodes"), after.get("maxNodes")]}
    return _item(address, "training", name, parts, details) + gpu


def _describe_job(f: Facts) -> str:
    nodes = f.get("nodes") or 1
    text = f"on {f.get('cluster')}, {nodes} node{'s' if nodes != 1 else ''} per run, max {duration(f.get('maxRuntimeSeconds'))}"
    if f.get("schedule"):
        text += f", schedule {_runs(f.get('schedule'))}"
    alerts = f.get("onAlerts") or []
    if alerts:
        text += f", retrains when {_names(alerts)} {'fires' if len(alerts) == 1 else 'fire'}"
    if f.get("registers"):
        text += f", registers {f['registers']}"
    return _with_memory(text, f)


def _training_job(address: str, name: str, before: Facts | None, after: Facts | None) -> list[MLChange]:
    made = _lifecycle(address, "training", name, before, after, "training job", _describe_job)
    if made is not None:
        return made
    assert before is not None and after is not None
    parts, details = _fields(before, after, [
        ("schedule", "schedule", _runs), ("onAlerts", "retrain on alerts", _names), ("image", "image", str),
        ("cluster", "cluster", str), ("nodes", "nodes", str), ("maxRuntimeSeconds", "max runtime", duration),
        ("registers", "registers", str)])
    if _memory(before) != _memory(after) and _memory(after):
        parts.append(f"memory {_memory(before) or 'unknown'} -> {_memory(after)}")
        details["gpuMemory"] = {"before": before.get("gpuMemory"), "after": after.get("gpuMemory")}
    if "schedule" in details:
        details["runsPerMonth"] = {"before": _rounded(scheduled_runs(before.get("schedule"))),
                                   "after": _rounded(scheduled_runs(after.get("schedule")))}
    return _item(address, "training", name, parts, details)


@dataclass(frozen=True)
class _ItemSummary:
    """The summariser of a kind told by a lifecycle sentence and a list of compared fields.

    New or removed: ``<name>: new <noun>, <describe(facts)>`` / ``<name>: <noun> removed (was ...)``;
    otherwise the changed ``fields`` (facts key, label, formatter) joined with '; '.
    """

    kind: str
    noun: str
    describe: Callable[[Facts], str]
    fields: tuple[tuple[str, str, Callable[[Any], str]], ...]

    def __call__(self, address: str, name: str, before: Facts | None, after: Facts | None) -> list[MLChange]:
        made = _lifecycle(address, self.kind, name, before, after, self.noun, self.describe)
        if made is not None:
            return made
        assert before is not None and after is not None
        parts, details = _fields(before, after, self.fields)
        return _item(address, self.kind, name, parts, details)


def _retention(days: Any) -> str:
    return "none" if days is None else f"{days} days"


_model = _ItemSummary(
    "registry", "registered model",
    lambda f: f"{f.get('framework')}, {f.get('approval')} approval"
              + (f", served by {f['servingImage']}" if f.get("servingImage") else ""),
    (("approval", "approval", str), ("framework", "framework", str),
     ("servingImage", "served by", lambda v: v or "the training image")))

def _describe_data(f: Facts) -> str:
    """A data store's line. On AWS a versioned bucket's retention is stated as the bound it is: the
    lifecycle expires the current version after the days (a delete marker), and S3 counts a
    noncurrent version's ``NoncurrentDays`` from when it became noncurrent (botocore ``s3``
    ``NoncurrentVersionExpiration.NoncurrentDays``), so the last version goes up to the days later
    (compile/aws/storage.py ``_lifecycle_rules``; audit contract-5)."""
    settings = (f"{f.get('encryption')} encryption, versioning {_onoff(f.get('versioning'))}, "
                f"retention {_retention(f.get('retentionDays'))}")
    if f.get("_cloud") == "kubernetes":
        return (f"declared only (ConfigMap data-{f.get('name')}): the bucket must already exist in the "
                f"S3-compatible store with {settings}; none of it is provisioned or enforced here")
    days = f.get("retentionDays")
    if days is not None and f.get("versioning"):
        settings += (f" (objects expire after {days} days; on a versioned bucket their last version is "
                     f"deleted up to {days} days later)")
    return settings


_data = _ItemSummary(
    "data", "data store", _describe_data,
    (("encryption", "encryption", str), ("versioning", "versioning", _onoff), ("retentionDays", "retention", _retention)))

_monitor = _ItemSummary(
    "monitor", "monitor",
    lambda f: (f"{f.get('metric')} on {f.get('endpoint')}, threshold {f.get('threshold')}"
               + (f", every {duration(f['scheduleSeconds'])}" if f.get("scheduleSeconds") else "")),
    (("metric", "metric", str), ("endpoint", "endpoint", str), ("threshold", "threshold", str),
     ("scheduleSeconds", "schedule", duration)))

_alert = _ItemSummary(
    "alert", "alert",
    lambda f: (f"{f.get('severity')} on {f.get('monitor')} after {duration(f.get('forSeconds'))}, "
               f"notifies {_names(f.get('notify'))}"),
    (("severity", "severity", str), ("monitor", "monitor", str), ("forSeconds", "for", duration),
     ("notify", "notifies", _names)))

_channel = _ItemSummary("channel", "channel", lambda f: f"{f.get('channelKind')}", (("channelKind", "kind", str),))


SUMMARIZERS: dict[str, Callable[[str, str, Facts | None, Facts | None], list[MLChange]]] = {
    "endpoint": _endpoint, "cluster": _cluster, "training_job": _training_job, "model": _model,
    "data_source": _data, "monitor": _monitor, "alert": _alert, "channel": _channel,
}
"""Facts kind -> summariser of one item (address, name, before facts, after facts)."""


_INSTANCE_KEYS = ("instanceType", "jobInstanceType")


def _as_run(facts: Facts | None, cloud: str) -> Facts | None:
    """Facts as the target runs them: on Kubernetes instance names are EC2 node shapes (state saved
    by an older mlops-infra holds SageMaker names) and ``_cloud`` tells the describers the target."""
    if facts is None or cloud != "kubernetes":
        return facts
    out = {**facts, "_cloud": cloud}
    for key in _INSTANCE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = catalog.ec2_name(out[key])
    return out


def _public(change: MLChange) -> MLChange:
    """The change without the ``_cloud`` marker in its details (a new/removed item's facts)."""
    details = {key: ({k: v for k, v in value.items() if k != "_cloud"} if key in ("before", "after")
                     and isinstance(value, dict) else value) for key, value in change.details.items()}
    return MLChange(change.address, change.kind, change.summary, details)


BASIS_WORDS = {"registry": "read from the registry", "created-now": "decided offline: this apply creates it",
               "prior-state": "decided offline from the prior state", "unverified": "not checked offline"}
"""How a model-version decision was reached (``model_versions.Basis``), as the plan says it."""


def _version_checks(graph: DesiredGraph, before: dict[str, Facts], after: dict[str, Facts],
                    changes: list[MLChange]) -> list[MLChange]:
    """One ``version-check`` per endpoint that waits or holds, and per endpoint that is new or
    changes version (so a plan says whether the version it deploys is in the registry, and how it
    knows: ``graph.model_versions``, finding A1). A hold that keeps another model's version (the endpoint
    was switched to another model, ``serveModel``) names that model: "stays on fraud-model v14", since a
    version number names a version only within its registered model."""
    moving = {c.address for c in changes if c.kind == "model-version"
              or (c.kind == "endpoint" and before.get(c.address) is None)}
    out = []
    for address, decision in graph.model_versions.items():
        state = decision["state"]
        if state == "ready" and address not in moving:
            continue
        name, pinned = address.split(".", 1)[1], f"{decision['model']} v{decision['pinned']}"
        kept = decision.get("serveModel")  # the hold keeps another model's version (Decision.served_model)
        held = f"{kept} v{decision['serve']}" if kept and kept != decision["model"] else f"v{decision['serve']}"
        lead = {"waiting": f"waits for {pinned}: it is", "holding": f"stays on {held}: {pinned} is"}
        basis = "" if decision["basis"] == "unverified" else f" ({BASIS_WORDS.get(decision['basis'], decision['basis'])})"
        text = f"{name}: {lead.get(state, pinned + ' is')} {decision['why']}{basis}"
        out.append(MLChange(address, "version-check", text, dict(decision)))
    return out


def _sequence(sequence: Any) -> MLChange:
    """An endpoint change AWS only accepts in steps (``plan/sequences.py``), told as the steps."""
    name = sequence.address.split(".", 1)[-1]
    steps = "; ".join(f"{i}. {step.action} {', '.join(u.rsplit('::', 1)[-1] for u in step.urns)} ({step.summary})"
                      for i, step in enumerate(sequence.steps, start=1))
    who = "the rollout controller runs, in order" if sequence.runner == "rollout" else "applied in order"
    return MLChange(sequence.address, "sequence", f"{name}: {who}: {steps}",
                    {"reason": sequence.reason, "runner": sequence.runner, "order": [s.to_json() for s in sequence.steps]})


def _drift_change(item: Any, addresses: dict[str, str]) -> MLChange:
    def get(key: str) -> Any:
        return item.get(key) if isinstance(item, dict) else getattr(item, key, None)

    urn = get("urn") or ""
    summary = get("summary") or f"{urn.rsplit('::', 1)[-1]}: changed outside Pulumi"
    return MLChange(get("address") or addresses.get(urn) or urn, "drift", summary,
                    {"urn": urn, "type": get("type"), "driftKind": get("kind")})


def summarize_ml(graph: DesiredGraph, prior: PriorState, changes: Sequence[ResourceChange] = (), *,
                 drift: Sequence[Any] = (), sequences: Sequence[Any] = (),
                 facts: tuple[dict[str, Facts], dict[str, Facts]] | None = None) -> tuple[MLChange, ...]:
    """The plan's ML changes (see the module contract). ``changes`` (the plan's resource changes)
    give drift items the address of the ML item their resource belongs to. ``facts``:
    :func:`~mlops_infra.plan.cost.facts_by_address` of ``prior``'s and of ``graph``'s resources,
    when the caller has them (only read here)."""
    before, after = facts if facts is not None else (facts_by_address(prior.resources.values()),
                                                     facts_by_address(graph.resources))
    cloud = target_cloud(graph)
    out: list[MLChange] = []
    for address in sorted(before.keys() | after.keys()):
        old, new = _as_run(before.get(address), cloud), _as_run(after.get(address), cloud)
        if old == new:
            continue
        facts = new or old
        assert facts is not None
        out += [_public(change) for change in SUMMARIZERS[facts["kind"]](address, str(facts.get("name")), old, new)]
    out += _version_checks(graph, before, after, out)
    out += [_sequence(s) for s in sequences]
    out += _system_gpu(out)
    if drift:
        addresses = {c.urn: c.address for c in changes if c.address}
        out += [_drift_change(item, addresses) for item in drift]
    order = {kind: i for i, kind in enumerate(ML_KINDS)}
    return tuple(sorted(out, key=lambda c: (c.address, order.get(c.kind, len(order)), c.summary)))
