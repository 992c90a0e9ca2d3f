"""What a stored Kubernetes object that differs from the graph plans, as pulumi-kubernetes' Diff decides (audits
k8sstate-2, k8sstate-1's ConfigMap part).

The fraud-detection ``dev`` stack applied as the provider stores it (tests/support/applied_state.py), then one object's
stored inputs edited the way a state written by another graph version (or refreshed after a hand edit) holds them.
The provider replaces only on its forceNew paths (tests/plan/test_rules_k8s_force_new.py), and a ConfigMap's data only
when its provider's ``enableConfigMapMutable`` is not "true" (diff.go l. 32).
"""

from __future__ import annotations

from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.kube_cases import graph_of

FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
GRAPH = graph_of("fraud-detection-dev")


def _plan_with(type_: str, name: str, edit):
    state = edit_resource(applied_state(GRAPH), lambda r: r.get("type") == type_ and r["urn"].endswith(f"::{name}"),
                          edit)
    plan = make_plan(GRAPH, parse_state(dumps(state).encode(), "prior.json"), options=FAST)
    return [c for c in plan.changes if c.action is not Action.NOOP]


def _register_job() -> str:
    return next(r.name for r in GRAPH.resources if r.type == "kubernetes:batch/v1:Job" and r.name.startswith("register-"))


def test_a_service_type_change_is_an_update():
    """Service ``spec.type`` is updatable (core/v1 types.go); diff.go forces only ``.spec.clusterIP``."""
    def edit(record):
        record["inputs"]["spec"]["type"] = "NodePort"
    [change] = _plan_with("kubernetes:core/v1:Service", "mlops-mlflow", edit)
    assert (change.name, change.action) == ("mlops-mlflow", Action.UPDATE)
    assert not change.delete_before_replace and not change.blocked


def test_a_claims_volume_mode_is_sent_as_an_update_not_a_blocked_replace():
    def edit(record):
        record["inputs"]["spec"]["volumeMode"] = "Filesystem"
    [change] = _plan_with("kubernetes:core/v1:PersistentVolumeClaim", "mlops-mlflow", edit)
    assert (change.name, change.action, change.blocked) == ("mlops-mlflow", Action.UPDATE, None)


def test_a_jobs_parallelism_change_replaces_it_delete_first():
    """diff.go ``job``: ``.spec.parallelism`` forces; the Job is named, so the provider deletes it first."""
    name = _register_job()

    def edit(record):
        record["inputs"]["spec"]["parallelism"] = 2
    [change] = _plan_with("kubernetes:batch/v1:Job", name, edit)
    assert (change.name, change.action, change.reason.code) == (name, Action.REPLACE, "forces-replacement")
    assert change.delete_before_replace
    assert [c.path for c in change.changes if c.forces_replacement] == ["spec.parallelism"]


def _scripts_edited(flag: str | None, planned_with: str | None = ""):
    """mlops-scripts stored with an older capture_sink.py, under a provider stored with ``flag`` (what the SDK
    stores when ``up`` ran with PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE set: pulumi_kubernetes/provider.py), planned with
    the variable set as then (``planned_with`` "") or to ``planned_with`` (None: not set)."""
    state = applied_state(GRAPH)
    if flag is not None:
        state = edit_resource(state, lambda r: r.get("type") == "pulumi:providers:kubernetes",
                              lambda r: r["inputs"].update(enableConfigMapMutable=flag))

    def edit(record):
        record["inputs"]["data"]["capture_sink.py"] = "# an older script\n"
    state = edit_resource(state, lambda r: r.get("type") == "kubernetes:core/v1:ConfigMap"
                          and r["urn"].endswith("::mlops-scripts"), edit)
    value = flag if planned_with == "" else planned_with
    env = {"PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE": value} if value is not None else None
    plan = make_plan(GRAPH, parse_state(dumps(state).encode(), "prior.json"),
                     options=PlanOptions(summarize_ml=False, estimate_cost=False, program_env=env))
    # the stored flag, sent again by the SDK from the same variable, is no change: the ConfigMap is the only one
    changed = [c for c in plan.changes if c.action is not Action.NOOP]
    if planned_with != "":
        return changed
    [change] = changed
    assert change.name == "mlops-scripts"
    return change


def test_a_configmap_edit_replaces_it_by_default():
    change = _scripts_edited(None)
    assert (change.action, change.delete_before_replace) == (Action.REPLACE, True)


def test_a_configmap_edit_is_an_update_under_a_provider_with_configmaps_mutable():
    """diff.go l. 32: ``clients.IsConfigMap(obj) && (!k.enableConfigMapMutable || clients.IsImmutable(obj))``."""
    change = _scripts_edited("true")
    assert (change.action, change.delete_before_replace) == (Action.UPDATE, False)
    assert [c.path for c in change.changes] == ['data["capture_sink.py"]']
    assert _scripts_edited("false").action is Action.REPLACE


def test_a_configmap_edit_under_a_stored_mutable_flag_this_run_does_not_send_replaces_it():
    """Stored "true", planned without PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE: the SDK sends no flag, the provider is
    updated (DiffConfig) and configured with its new inputs before the ConfigMap is diffed (pulumi/pulumi
    registry.go ``Update``), whose ``Configure`` defaults to false: the edit replaces it (audit closing-43b-1)."""
    changes = _scripts_edited("true", planned_with=None)
    assert sorted((c.name, c.action) for c in changes) == [("k8s", Action.UPDATE), ("mlops-scripts", Action.REPLACE)]
