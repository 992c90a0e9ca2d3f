"""The order of a replace: the plan deletes first exactly when Pulumi will (audit replace-4).

Rules (cited in plan/rules.py ``provider_deletes_first`` and planner ``_delete_first``): the engine
takes the program's ``deleteBeforeReplace`` when set, else the provider's answer (pulumi
step_generator.go); pulumi-aws answers delete-first for a replace it forces on an explicitly named
resource (pulumi-terraform-bridge ``nameRequiresDeleteBeforeReplace``); pulumi-kubernetes for a
replace it forces on an object that keeps its explicit name and namespace (provider.go ``Diff``);
no provider is asked for a replace from ``replaceOnChanges`` only or a new provider.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mlops_infra.graph import DesiredGraph, GraphBuilder, ResourceOptions
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import rule_for
from mlops_infra.state.model import PriorState, StateResource

P, S = "demo", "dev"
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
CONFIGMAP, QUEUE = "kubernetes:core/v1:ConfigMap", "kubernetes:kueue.x-k8s.io/v1beta1:LocalQueue"
K8S = "pulumi:providers:kubernetes"


def one(type_: str, inputs: dict[str, Any], provider: tuple[str, dict[str, Any]] = (K8S, {"context": "kind"}),
        options: ResourceOptions | None = None) -> tuple[DesiredGraph, str, str]:
    b = GraphBuilder(P, S)
    prov = b.add(provider[0], "prov", provider[1])
    urn = b.add(type_, "it", inputs, provider=prov, options=options)
    return b.build(), urn, prov


def applied(graph: DesiredGraph) -> PriorState:
    """The state ``graph`` leaves (inputs as desired; ``__defaults: []`` on AWS types, as real states)."""
    resources = {}
    for r in graph.resources:
        inputs = {"__defaults": [], **r.inputs} if r.type.startswith("aws:") else dict(r.inputs)
        resources[r.urn] = StateResource(urn=r.urn, type=r.type, custom=True, id=r.name, parent=None,
                                         provider=r.provider, inputs=inputs, outputs=dict(inputs), protect=False)
    return PriorState(resources=resources, source="test", version=3, serial="s" * 64, project=P, stack=S)


def planned(old: DesiredGraph, new: DesiredGraph):
    result = make_plan(new, applied(old), options=FAST)
    return next(c for c in result.changes if c.name == "it"), result.warnings


def configmap(name: str, data: dict[str, str], namespace: str = "ns") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def test_a_changed_configmap_is_replaced_delete_first() -> None:
    """pulumi-kubernetes forces a replace on a ConfigMap's data (diff.go forceNewProperties) and, as the
    name and namespace stay, deletes the old one first."""
    old, _, _ = one(CONFIGMAP, configmap("run-template", {"epochs": "5"}))
    new, _, _ = one(CONFIGMAP, configmap("run-template", {"epochs": "7"}))
    change, warnings = planned(old, new)
    assert (change.action, change.reason.code, change.delete_before_replace) == (Action.REPLACE, "forces-replacement",
                                                                                   True)
    assert warnings == ()


def test_a_renamed_or_moved_configmap_is_created_first() -> None:
    old, _, _ = one(CONFIGMAP, configmap("run-template", {"epochs": "5"}))
    for new_inputs in (configmap("run-template-2", {"epochs": "5"}), configmap("run-template", {"epochs": "5"}, "other")):
        new, _, _ = one(CONFIGMAP, new_inputs)
        change, warnings = planned(old, new)
        assert (change.action, change.delete_before_replace) == (Action.REPLACE, False)
        assert warnings == ()


def test_a_replace_only_from_replace_on_changes_is_created_first_and_warned() -> None:
    """A LocalQueue's cluster queue is immutable by its CRD, not by pulumi-kubernetes: the replace
    comes from replaceOnChanges only, the provider answers create-first, and the same name collides."""
    assert rule_for(QUEUE).provider_replace == rule_for("kubernetes:core/v1:Namespace").replace
    opts = ResourceOptions(replace_on_changes=("spec.clusterQueue",))

    def queue(cluster_queue: str) -> dict[str, Any]:
        return {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
                "metadata": {"name": "training", "namespace": "ns"}, "spec": {"clusterQueue": cluster_queue}}

    old, _, _ = one(QUEUE, queue("a"), options=opts)
    new, _, _ = one(QUEUE, queue("b"), options=opts)
    change, warnings = planned(old, new)
    assert (change.action, change.delete_before_replace) == (Action.REPLACE, False)
    assert len(warnings) == 1 and "'training'" in warnings[0] and "creating the new one will fail" in warnings[0]


AWS = ("pulumi:providers:aws", {"region": "eu-west-1"})
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def test_an_explicitly_named_aws_resource_is_replaced_delete_first() -> None:
    """The bridge answers delete-first for a replace it forces when the desired inputs set ``name``,
    whether or not it changes: the endpoint's rollback alarms (ForceNew) under a fixed name."""
    def endpoint(alarms: list[str]) -> dict[str, Any]:
        return {"name": "demo-dev-scorer", "endpointConfigName": "cfg",
                "deploymentConfig": {"autoRollbackConfiguration": {"alarms": [{"alarmName": a} for a in alarms]}}}

    old, _, _ = one(ENDPOINT, endpoint(["a", "b"]), provider=AWS)
    new, _, _ = one(ENDPOINT, endpoint(["a"]), provider=AWS)
    change, warnings = planned(old, new)
    assert (change.action, change.delete_before_replace) == (Action.REPLACE, True)
    assert warnings == ()


def test_an_explicit_false_option_creates_first_and_a_kept_name_is_warned() -> None:
    def config(name: str, instance: str) -> dict[str, Any]:
        return {"name": name, "productionVariants": [{"variantName": "primary", "instanceType": instance}]}

    create_first = ResourceOptions(delete_before_replace=False)
    old, _, _ = one(CONFIG, config("cfg-aaaa", "ml.m5.large"), provider=AWS, options=create_first)
    new, _, _ = one(CONFIG, config("cfg-bbbb", "ml.m5.xlarge"), provider=AWS, options=create_first)
    change, warnings = planned(old, new)
    assert (change.action, change.delete_before_replace, warnings) == (Action.REPLACE, False, ())
    same_name, _, _ = one(CONFIG, config("cfg-aaaa", "ml.m5.xlarge"), provider=AWS, options=create_first)
    change, warnings = planned(old, same_name)
    assert (change.action, change.delete_before_replace) == (Action.REPLACE, False)
    assert len(warnings) == 1 and "'cfg-aaaa'" in warnings[0] and "option is false" in warnings[0]


def test_a_replace_from_a_new_provider_creates_first() -> None:
    """The engine replaces a resource whose provider is replaced without asking the provider
    (step_generator.go providerChanged): create-first, in the other cluster. (An aws provider's region change no
    longer does this: pulumi-aws 7 dropped that cascade, pulumi/pulumi-aws#5656; closing-43a-2 moved this test from
    an aws endpoint to a kubernetes object.)"""
    old, _, _ = one(CONFIGMAP, configmap("run-template", {"epochs": "5"}), provider=(K8S, {"clusterIdentifier": "a"}))
    new, _, _ = one(CONFIGMAP, configmap("run-template", {"epochs": "5"}), provider=(K8S, {"clusterIdentifier": "b"}))
    change, warnings = planned(old, new)
    assert (change.action, change.reason.code, change.delete_before_replace) == (Action.REPLACE, "provider-replaced",
                                                                                   False)
    assert warnings == ()


def test_a_region_move_is_the_resources_own_replace_and_its_order_is_the_providers() -> None:
    """pulumi-aws 7: the provider's region change is an update; the endpoint, whose stored ``region`` is the old
    one, is replaced through it, a replace the provider forces itself, so delete-first for an explicit name
    (``nameRequiresDeleteBeforeReplace``); a create-first config keeps its name without a collision warning, its
    name being regional (closing-43a-2; before: ``provider-replaced``, create-first)."""
    old, _, _ = one(ENDPOINT, {"name": "demo-dev-scorer", "endpointConfigName": "cfg", "region": "eu-west-1"},
                    provider=AWS)
    new, _, _ = one(ENDPOINT, {"name": "demo-dev-scorer", "endpointConfigName": "cfg"},
                    provider=(AWS[0], {"region": "eu-central-1"}))
    result = make_plan(new, applied(old), options=FAST)
    by_name = {c.name: c for c in result.changes}
    assert (by_name["prov"].action, by_name["it"].action, by_name["it"].reason.code,
            by_name["it"].delete_before_replace) == (Action.UPDATE, Action.REPLACE, "forces-replacement", True)
    assert result.warnings == ()
    create_first = ResourceOptions(delete_before_replace=False)
    variants = [{"variantName": "primary", "instanceType": "ml.m5.large"}]
    old, _, _ = one(CONFIG, {"name": "cfg-aaaa", "productionVariants": variants, "region": "eu-west-1"},
                    provider=AWS, options=create_first)
    new, _, _ = one(CONFIG, {"name": "cfg-aaaa", "productionVariants": variants},
                    provider=(AWS[0], {"region": "eu-central-1"}), options=create_first)
    change, warnings = planned(old, new)
    assert (change.action, change.reason.code, change.delete_before_replace, warnings) == (
        Action.REPLACE, "forces-replacement", False, ())


def test_an_explicit_true_option_deletes_first_whatever_forces_the_replace() -> None:
    old, _, _ = one(CONFIGMAP, configmap("x", {"a": "1"}))
    new, urn, _ = one(CONFIGMAP, configmap("x-2", {"a": "1"}))
    new = replace(new, resources=tuple(replace(r, options=ResourceOptions(delete_before_replace=True))
                                       if r.urn == urn else r for r in new.resources))
    change, _ = planned(old, new)
    assert (change.action, change.delete_before_replace) == (Action.REPLACE, True)


GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"


def _group(description: str, protect: bool = True) -> tuple[DesiredGraph, str, str]:
    return one(GROUP, {"modelPackageGroupName": "fraud-prod-fraud-model", "modelPackageGroupDescription": description},
               provider=AWS, options=ResourceOptions(protect=protect,
                                                     ignore_changes=("modelPackageGroupDescription",)))


def test_a_model_package_group_keeps_its_description_and_a_removal_is_blocked_with_the_loss() -> None:
    """Audit replace-1: the description is written once (ignoreChanges), so a description edit is no
    change; removing the group is blocked (protect) and the block says the versions go with it."""
    old, urn, _ = _group("fraud-model (pytorch); versions are approved by a person")
    new, _, _ = _group("fraud-model (pytorch); versions are approved on registration")
    change, warnings = planned(old, new)
    assert (change.action, warnings) == (Action.NOOP, ())
    prior = applied(old)
    prior = replace(prior, resources={u: replace(r, protect=True) if u == urn else r for u, r in prior.resources.items()})
    gone = DesiredGraph(P, S, tuple(r for r in old.resources if r.urn != urn))
    delete = next(c for c in make_plan(gone, prior, options=FAST).changes if c.urn == urn)
    assert delete.action is Action.DELETE and delete.reason.code == "protected"
    assert "discards every model version registered in it" in delete.blocked


def test_an_unprotected_model_package_group_delete_is_warned() -> None:
    """A stack applied before the group was protected: the delete would go through, so the plan warns."""
    old, urn, _ = _group("d", protect=False)
    gone = DesiredGraph(P, S, tuple(r for r in old.resources if r.urn != urn))
    result = make_plan(gone, applied(old), options=FAST)
    assert [w for w in result.warnings if "discards every model version registered in it" in w]
