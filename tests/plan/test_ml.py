"""ML summary: sentences and numbers from component facts on both sides."""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.graph import DesiredGraph, DesiredResource, make_urn
from mlops_infra.plan.ml import describe_rollout, duration, summarize_ml
from mlops_infra.plan.model import MLChange
from mlops_infra.state.model import PriorState, StateResource

P, S = "fraud-detection", "prod"
SECTION = {"endpoint": "endpoints", "cluster": "clusters", "training_job": "training_jobs", "model": "models",
           "data_source": "data_sources", "monitor": "monitors", "alert": "alerts", "channel": "channels"}


def facts(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"factsVersion": 1, "kind": kind, "name": name, **fields}


def endpoint(name: str = "scorer", **over: Any) -> dict[str, Any]:
    base = {"model": "fraud-model", "modelVersion": 12, "instanceType": "ml.g5.xlarge", "gpuType": "A10G", "gpus": 1,
            "minReplicas": 2, "maxReplicas": 10,
            "rollout": {"strategy": "canary", "steps": [2, 5, 10, 25, 75, 100], "bakeSeconds": 600,
                        "rollbackOn": ["scorer-latency", "scorer-errors"]}, "capturePercent": 20}
    return facts("endpoint", name, **{**base, **over})


def cluster(name: str = "gpu-train", **over: Any) -> dict[str, Any]:
    base = {"instanceType": "ml.g5.12xlarge", "gpuType": "A10G", "gpus": 4, "minNodes": 0, "maxNodes": 8,
            "spot": True, "maxHourlyCostUsd": 60}
    return facts("cluster", name, **{**base, **over})


def job(**over: Any) -> dict[str, Any]:
    base = {"cluster": "gpu-train", "instanceType": "ml.g5.12xlarge", "gpuType": "A10G", "gpus": 4, "nodes": 2,
            "spot": True, "image": "train:1.4.2", "maxRuntimeSeconds": 21600, "schedule": "0 3 * * 1",
            "onAlerts": ["fraud-drift"], "registers": "fraud-model"}
    return facts("training_job", "retrain", **{**base, **over})


def _urn(f: dict[str, Any]) -> str:
    return make_urn(S, P, [COMPONENT_TYPES[SECTION[f["kind"]]]], f["name"])


def graph_of(*items: dict[str, Any]) -> DesiredGraph:
    resources = [DesiredResource(_urn(f), COMPONENT_TYPES[SECTION[f["kind"]]], f["name"], False, None, f,
                                 address=f"{SECTION[f['kind']]}.{f['name']}", role="component") for f in items]
    return DesiredGraph(P, S, tuple(sorted(resources, key=lambda r: r.urn)))


def prior_of(*items: dict[str, Any]) -> PriorState:
    resources = {_urn(f): StateResource(_urn(f), COMPONENT_TYPES[SECTION[f["kind"]]], False, inputs=f) for f in items}
    return PriorState("test", 3, "0" * 64, P, S, resources)


def summarize(before: list, after: list, **kw: Any) -> tuple[MLChange, ...]:
    return summarize_ml(graph_of(*after), prior_of(*before), (), **kw)


def by_kind(changes: tuple[MLChange, ...], address: str) -> dict[str, MLChange]:
    return {c.kind: c for c in changes if c.address == address}


def test_model_version_bump_tells_the_canary_rollout() -> None:
    changes = summarize([endpoint()], [endpoint(modelVersion=14)])
    assert [c.summary for c in changes] == [
        "scorer: fraud-model v12 -> v14, canary 2% -> 5% -> 10% -> 25% -> 75% -> 100%, 10m bake per step, "
        "rolls back on scorer-latency, scorer-errors"]
    details = changes[0].details
    assert (details["versionBefore"], details["versionAfter"]) == (12, 14)
    assert details["rollout"]["steps"] == [2, 5, 10, 25, 75, 100] and details["rollout"]["bakeSeconds"] == 600


def test_blue_green_and_all_at_once_rollouts() -> None:
    bg = {"strategy": "blue_green", "steps": [], "bakeSeconds": 1800, "rollbackOn": []}
    change = summarize([endpoint(rollout=bg)], [endpoint(modelVersion=13, rollout=bg)])[0]
    assert change.summary == ("scorer: fraud-model v12 -> v13, blue/green (a second fleet of 2 x ml.g5.xlarge), "
                              "30m bake before the switch, no automatic rollback")
    assert describe_rollout({"strategy": "all_at_once"}) == "all at once (no staged rollout)"


def test_replicas_gpu_capacity_and_rollout_changes() -> None:
    before = endpoint(minReplicas=2, maxReplicas=10)
    after = endpoint(minReplicas=3, maxReplicas=18, rollout={**before["rollout"], "steps": [10, 50, 100]})
    changes = by_kind(summarize([before], [after]), "endpoints.scorer")
    assert changes["endpoint"].summary == "scorer: replicas 2-10 -> 3-18"
    assert changes["endpoint"].details["replicas"] == {"before": [2, 10], "after": [3, 18]}
    assert changes["gpu-capacity"].summary == "scorer: +8 A10G GPUs (max)"
    assert changes["gpu-capacity"].details["delta"] == 8
    assert changes["rollout"].summary.startswith("scorer: rollout canary 2% -> 5%")
    assert "-> canary 10% -> 50% -> 100%" in changes["rollout"].summary


def test_gpu_type_change_and_system_total() -> None:
    changes = summarize([endpoint(), cluster()],
                        [endpoint(instanceType="ml.g6.xlarge", gpuType="L4"), cluster(maxNodes=4)])
    gpu = {c.address: c.summary for c in changes if c.kind == "gpu-capacity"}
    assert gpu == {"endpoints.scorer": "scorer: -10 A10G, +10 L4 GPUs (max)",
                   "clusters.gpu-train": "gpu-train: -16 A10G GPUs (max)",
                   "system": "system: -26 A10G, +10 L4 GPUs (max) across 2 items"}
    assert by_kind(changes, "clusters.gpu-train")["training"].summary == "gpu-train: nodes 0-8 -> 0-4"


def test_new_and_removed_endpoints() -> None:
    created = summarize([], [endpoint()])
    assert by_kind(created, "endpoints.scorer")["endpoint"].summary == (
        "scorer: new endpoint, fraud-model v12 on 2-10 replicas x ml.g5.xlarge (1 A10G each), canary 2% -> 5% -> "
        "10% -> 25% -> 75% -> 100%, 10m bake per step, rolls back on scorer-latency, scorer-errors")
    assert by_kind(created, "endpoints.scorer")["gpu-capacity"].summary == "scorer: +10 A10G GPUs (max)"
    removed = summarize([endpoint()], [])
    assert by_kind(removed, "endpoints.scorer")["endpoint"].summary.startswith("scorer: endpoint removed (was fraud-model v12")


def test_training_schedule_and_trigger_changes() -> None:
    change = summarize([job()], [job(schedule="0 3 * * *", onAlerts=["fraud-drift", "label-shift"])])[0]
    assert change.kind == "training"
    assert change.summary == ('retrain: schedule "0 3 * * 1" (~4.33 runs/month) -> "0 3 * * *" (~30.42 runs/month); '
                              "retrain on alerts fraud-drift -> fraud-drift, label-shift")
    assert change.details["runsPerMonth"] == {"before": 4.33, "after": 30.42}
    created = summarize([], [job()])[0]
    assert created.summary == ('retrain: new training job, on gpu-train, 2 nodes per run, max 6h, schedule "0 3 * * 1" '
                               "(~4.33 runs/month), retrains when fraud-drift fires, registers fraud-model")


def test_data_store_monitor_alert_channel_and_registry_changes() -> None:
    before = [facts("data_source", "transactions", encryption="kms", versioning=True, retentionDays=400),
              facts("monitor", "drift", endpoint="scorer", metric="feature_drift", threshold="0.2", scheduleSeconds=3600),
              facts("alert", "scorer-latency", monitor="latency", severity="warning", forSeconds=300, notify=["oncall"]),
              facts("channel", "oncall", channelKind="slack"),
              facts("model", "fraud-model", framework="pytorch", approval="manual")]
    after = [facts("data_source", "transactions", encryption="s3", versioning=False, retentionDays=90),
             facts("monitor", "latency", endpoint="scorer", metric="latency_p99", threshold="250ms", scheduleSeconds=None),
             facts("alert", "scorer-latency", monitor="latency", severity="critical", forSeconds=600,
                   notify=["oncall", "ml-team"]),
             facts("channel", "ml-team", channelKind="email"),
             facts("model", "fraud-model", framework="pytorch", approval="automatic")]
    summaries = {(c.address, c.kind): c.summary for c in summarize(before, after)}
    assert summaries == {
        ("alerts.scorer-latency", "alert"):
            "scorer-latency: severity warning -> critical; for 5m -> 10m; notifies oncall -> oncall, ml-team",
        ("channels.ml-team", "channel"): "ml-team: new channel, email",
        ("channels.oncall", "channel"): "oncall: channel removed (was slack)",
        ("data_sources.transactions", "data"):
            "transactions: encryption kms -> s3; versioning on -> off; retention 400 days -> 90 days",
        ("models.fraud-model", "registry"): "fraud-model: approval manual -> automatic",
        ("monitors.drift", "monitor"): "drift: monitor removed (was feature_drift on scorer, threshold 0.2, every 1h)",
        ("monitors.latency", "monitor"): "latency: new monitor, latency_p99 on scorer, threshold 250ms",
    }


def test_unchanged_facts_say_nothing_and_drift_items_are_listed() -> None:
    class Drift:
        urn = _urn(endpoint())
        type = "mlops:serving:Endpoint"
        kind = "changed"
        summary = "endpoint scorer: instance count 2 -> 5 changed outside Pulumi"

    changes = summarize([endpoint()], [endpoint()], drift=[Drift()])
    assert [(c.kind, c.summary) for c in changes] == [
        ("drift", "endpoint scorer: instance count 2 -> 5 changed outside Pulumi")]
    assert changes[0].details["driftKind"] == "changed"


def test_changes_are_sorted_by_address_then_kind() -> None:
    changes = summarize([endpoint(), endpoint("b-endpoint")],
                        [endpoint(modelVersion=13, maxReplicas=12), endpoint("b-endpoint", minReplicas=1)])
    assert [(c.address, c.kind) for c in changes] == [
        ("endpoints.b-endpoint", "endpoint"), ("endpoints.scorer", "model-version"), ("endpoints.scorer", "endpoint"),
        ("endpoints.scorer", "gpu-capacity")]


def test_duration_formatting() -> None:
    assert [duration(s) for s in (600, 7200, 90, 86400, None)] == ["10m", "2h", "90s", "1d", "-"]


def test_reference_system_version_bump_through_the_compiler(shared_dir) -> None:
    """The reference document compiled for prod, applied at v12, then planned at v14."""
    from mlops_infra.compile import compile_system
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.spec import load_system
    from mlops_infra.state.pulumi_state import parse_state
    from tests.support.applied_state import applied_state, dumps

    system = load_system(shared_dir / "spec/reference-mlsystem.yaml", "prod").system
    applied = parse_state(dumps(applied_state(compile_system(system, "prod"))), "applied")
    endpoints = [e.model_copy(update={"model": e.model.model_copy(update={"version": 14})}) for e in system.endpoints]
    bumped = system.model_copy(update={"endpoints": endpoints})
    plan = make_plan(compile_system(bumped, "prod"), applied, options=PlanOptions(estimate_cost=False))
    assert [c.summary for c in plan.ml if c.kind == "model-version"] == [
        "scorer: fraud-model v12 -> v14, canary 2% -> 5% -> 10% -> 25% -> 75% -> 100%, 10m bake per step, "
        "rolls back on scorer-latency, scorer-errors"]
    assert plan.has_changes


def test_replicas_without_autoscaling_run_at_min_and_an_unused_max_changes_nothing() -> None:
    fixed = {"autoscaling": None, "minReplicas": 2, "maxReplicas": 6}
    created = summarize([], [endpoint(**fixed)])
    assert by_kind(created, "endpoints.scorer")["endpoint"].summary.startswith(
        "scorer: new endpoint, fraud-model v12 on 2 replicas (fixed, no autoscaling) x ml.g5.xlarge (1 A10G each)")
    assert by_kind(created, "endpoints.scorer")["gpu-capacity"].summary == "scorer: +2 A10G GPUs (max)"
    raised = by_kind(summarize([endpoint(**fixed)], [endpoint(**{**fixed, "maxReplicas": 8})]), "endpoints.scorer")
    assert raised["endpoint"].summary == "scorer: replicas.max 6 -> 8 (no effect: no autoscaling, runs at 2 fixed)"
    assert "gpu-capacity" not in raised
    scaled = by_kind(summarize([endpoint(**fixed)], [endpoint(**{**fixed, "autoscaling": {
        "metric": "invocations_per_replica", "target": 50}})]), "endpoints.scorer")
    assert scaled["endpoint"].summary == ("scorer: replicas 2 (fixed) -> 2-6; autoscaling off -> "
                                          "invocations_per_replica target 50")
    assert scaled["gpu-capacity"].summary == "scorer: +4 A10G GPUs (max)"


def test_facts_saved_before_the_autoscaling_key_keep_their_range() -> None:
    old = endpoint()  # no "autoscaling" key
    assert summarize([old], [old]) == ()
    assert by_kind(summarize([], [old]), "endpoints.scorer")["gpu-capacity"].summary == "scorer: +10 A10G GPUs (max)"


def test_kubernetes_summaries_read_sagemaker_names_saved_by_older_versions_as_node_shapes() -> None:
    kube = DesiredResource("urn:pulumi:prod::fraud-detection::kubernetes:core/v1:ConfigMap::x",
                           "kubernetes:core/v1:ConfigMap", "x", True, None, {})
    old = endpoint(minReplicas=1, maxReplicas=2)  # saved as ml.g5.xlarge
    new = endpoint(minReplicas=1, maxReplicas=2, instanceType="g5.xlarge")
    graph = graph_of(new)
    graph = DesiredGraph(graph.project, graph.stack, (*graph.resources, kube), {}, {"cloud": "kubernetes"})
    assert summarize_ml(graph, prior_of(old)) == ()  # the same node shape: no change
    created = summarize_ml(graph, prior_of())
    summary = by_kind(created, "endpoints.scorer")["endpoint"]
    assert summary.summary.startswith("scorer: new endpoint, fraud-model v12 on 1-2 replicas on g5.xlarge nodes")
    assert "_cloud" not in summary.details["after"]


def test_a_hold_keeping_another_model_names_it() -> None:
    """An endpoint switched from fraud-model v14 to fraud-model-gbt v14, not approved, keeps serving fraud-model v14
    (``Decision.serve_model``): the version line says which model's v14 stays (f6e29e13); a hold of the same model
    still says the number alone (the goldens' wording)."""
    why = "PendingManualApproval; approve it"
    graph = graph_of(endpoint(model="fraud-model", modelVersion=14), endpoint("ranker", modelVersion=12))
    graph.model_versions.update({
        "endpoints.scorer": {"state": "holding", "model": "fraud-model-gbt", "pinned": 14, "serve": 14,
                             "basis": "registry", "why": why, "serveModel": "fraud-model"},
        "endpoints.ranker": {"state": "holding", "model": "fraud-model", "pinned": 13, "serve": 12,
                             "basis": "registry", "why": why, "serveModel": "fraud-model"}})
    changes = summarize_ml(graph, prior_of(), ())
    assert by_kind(changes, "endpoints.scorer")["version-check"].summary == (
        f"scorer: stays on fraud-model v14: fraud-model-gbt v14 is {why} (read from the registry)")
    assert by_kind(changes, "endpoints.ranker")["version-check"].summary == (
        f"ranker: stays on v12: fraud-model v13 is {why} (read from the registry)")
