"""``deletedWith`` in the plan (audit autoscale-1), as the Pulumi engine decides: a resource deleted with a
replaced resource is replaced too (pulumi pkg/resource/deploy/step_generator.go
``calculateDependentReplacements``: "A resource deleted with a replaced resource is destroyed by that delete, so
it must be replaced regardless of property diffs"), whatever its own inputs say.

The case: an autoscaled SageMaker endpoint replaced (its rollback alarms change). AWS deregisters the
endpoint's scalable target and policy with it; a plain ``dependsOn`` never replaces them.
"""

from __future__ import annotations

from mlops_infra.graph import GraphBuilder, ResourceOptions
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.render.common import delete_first_note
from mlops_infra.state.model import PriorState, StateResource

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
PROVIDER = "pulumi:providers:aws"


def _graph_and_prior(*, alarms_before: list[str], alarms_after: list[str], deleted_with: bool = True):
    b = GraphBuilder("proj", "staging")
    provider = b.add(PROVIDER, "aws", {"region": "us-east-1"})
    endpoint_inputs = {"name": "proj-staging-scorer", "endpointConfigName": "cfg-1", "deploymentConfig": {
        "autoRollbackConfiguration": {"alarms": [{"alarmName": a} for a in alarms_after]}}}
    endpoint = b.add(ENDPOINT, "scorer-endpoint", endpoint_inputs, provider=provider, address="endpoints.scorer")
    options = ResourceOptions(deleted_with=endpoint, delete_before_replace=True) if deleted_with else None
    target_inputs = {"serviceNamespace": "sagemaker", "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
                     "resourceId": "endpoint/proj-staging-scorer/variant/primary", "minCapacity": 2, "maxCapacity": 10}
    target = b.add(TARGET, "scorer-scalable-target", target_inputs, provider=provider, depends_on=[endpoint],
                   options=options, address="endpoints.scorer", role="scalable-target", refs_in=())
    policy_inputs = {"name": "scorer-tt", "resourceId": {"$ref": target, "output": "resourceId"}}
    policy = b.add(POLICY, "scorer-scaling-policy", policy_inputs, provider=provider, options=options,
                   address="endpoints.scorer", role="scaling-policy")
    graph = b.build()
    before = {**endpoint_inputs, "deploymentConfig": {
        "autoRollbackConfiguration": {"alarms": [{"alarmName": a} for a in alarms_before]}}}
    policy_state = {"name": "scorer-tt", "resourceId": target_inputs["resourceId"]}
    prior = PriorState("prior.json", 7, "1", "proj", "staging", {
        provider: StateResource(urn=provider, type=PROVIDER, custom=True, id="p1", inputs={"region": "us-east-1"}),
        endpoint: StateResource(urn=endpoint, type=ENDPOINT, custom=True, id="proj-staging-scorer", provider=provider,
                                inputs=before, outputs=before),
        target: StateResource(urn=target, type=TARGET, custom=True, id="t", provider=provider, dependencies=(endpoint,),
                              inputs=target_inputs, outputs=target_inputs),
        policy: StateResource(urn=policy, type=POLICY, custom=True, id="p", provider=provider, dependencies=(target,),
                              inputs=policy_state, outputs=policy_state),
    })
    return graph, prior, endpoint, target, policy


def test_autoscaling_deleted_with_a_replaced_endpoint_is_replaced_with_it_deleting_first():
    graph, prior, endpoint, target, policy = _graph_and_prior(alarms_before=["a"], alarms_after=["a", "b"])
    changes = {c.urn: c for c in make_plan(graph, prior).changes}
    assert changes[endpoint].action is Action.REPLACE
    for urn in (target, policy):
        change = changes[urn]
        assert (change.action, change.reason.code, change.delete_before_replace) == (
            Action.REPLACE, "deleted-with-replaced", True), urn
        assert "AWS deregisters an endpoint's autoscaling" in change.reason.message
        assert delete_first_note(change) == ("removed with the old endpoint: autoscaling is registered again on "
                                             "the new endpoint")


def test_autoscaling_of_an_endpoint_kept_is_left_alone():
    graph, prior, endpoint, target, policy = _graph_and_prior(alarms_before=["a"], alarms_after=["a"])
    changes = {c.urn: c for c in make_plan(graph, prior).changes}
    assert [changes[u].action for u in (endpoint, target, policy)] == [Action.NOOP] * 3


def test_without_deleted_with_a_depends_on_edge_replaces_nothing():
    """What the engine does for a plain ``dependsOn`` (the graph before autoscale-1): the planner agrees."""
    graph, prior, endpoint, target, policy = _graph_and_prior(alarms_before=["a"], alarms_after=["a", "b"],
                                                               deleted_with=False)
    changes = {c.urn: c for c in make_plan(graph, prior).changes}
    assert changes[endpoint].action is Action.REPLACE
    assert [changes[u].action for u in (target, policy)] == [Action.NOOP] * 2
