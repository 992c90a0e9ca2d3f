"""The finish lands the declared instance count of an endpoint the graph does not autoscale (audit
refresh-3).

A canary endpoint ignores changes of its config name (``compile/aws/serving.py``), so a ``replicas``
edit reaches the fleet only through the driver's finish: ``UpdateEndpoint`` to the graph's new config
with ``RetainAllVariantProperties``. botocore ``UpdateEndpointInput.ExcludeRetainedVariantProperties``:
"If you don't specify a value [...], no variant properties are overridden"; ``VariantPropertyType``
``DesiredInstanceCount``: "Overrides the existing variant instance counts using the
InitialInstanceCount values". Without autoscaling the endpoint runs at ``replicas.min``, fixed
(docs/semantics.md), so the finish excludes ``DesiredInstanceCount`` too; with autoscaling, Application
Auto Scaling owns the count and the finish keeps it. The moto server applies the exclusions as botocore
documents them (tests/support/moto_server.py, ``UpdateEndpoint``)."""

from __future__ import annotations

import pytest

from mlops_infra.plan.drift import find_drift
from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling, EndpointTarget, SageMakerDriver
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from mlops_infra.state.aws_live import scan_aws
from mlops_infra.state.model import PriorState, StateResource
from tests.rollout.aws_world import IMAGE, ROLE, canary_percent, config, deploy, model_name
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, spec
from tests.support.moto_server import REGION

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"
EP = "urn:pulumi:prod::fraud::mlops:serving:Endpoint$aws:sagemaker/endpoint:Endpoint::scorer-endpoint"
CF = ("urn:pulumi:prod::fraud::mlops:serving:Endpoint$aws:sagemaker/endpointConfiguration:"
      "EndpointConfiguration::scorer-endpoint-config")


def same_version_resize(sm, old: int, new: int, scaling=None) -> EndpointTarget:
    """Version 13 serving on a config of ``old`` instances; ``pulumi up`` created the graph's new config
    with ``new`` (a ``replicas.min`` edit) and, the config name being ignored, left the endpoint on the
    old one."""
    sm.create_model(ModelName=model_name(E, 13), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    config(sm, f"{E}-cfg-v13-r{old}", model_name(E, 13), count=old)
    config(sm, f"{E}-cfg-v13-r{new}", model_name(E, 13), count=new)
    sm.create_endpoint(EndpointName=E, EndpointConfigName=f"{E}-cfg-v13-r{old}")
    declared = None
    if scaling is not None:
        scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{E}/variant/primary",
                                         ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                         MinCapacity=old, MaxCapacity=10)
        declared = DeclaredScaling(old, 10, ())
    return EndpointTarget(E, "13", f"{E}-cfg-v13-r{new}", model_name(E, 13), declared)


def primary_counts(sm) -> tuple[int, int]:
    [primary] = sm.describe_endpoint(EndpointName=E)["ProductionVariants"]
    return primary["CurrentInstanceCount"], primary["DesiredInstanceCount"]


def prior(old: int, new: int) -> PriorState:
    """The state ``pulumi up`` leaves: the endpoint keeps its first config name (ignoreChanges), the
    config resource is the new one."""
    return PriorState("t", 1, "f" * 64, "fraud", "prod", {
        EP: StateResource(urn=EP, type="aws:sagemaker/endpoint:Endpoint", custom=True, id=E,
                          inputs={"name": E, "endpointConfigName": f"{E}-cfg-v13-r{old}"}, outputs={}),
        CF: StateResource(urn=CF, type="aws:sagemaker/endpointConfiguration:EndpointConfiguration", custom=True,
                          id=f"{E}-cfg-v13-r{new}", inputs={"name": f"{E}-cfg-v13-r{new}", "productionVariants": [
                              {"variantName": "primary", "modelName": model_name(E, 13), "instanceType": "ml.g5.xlarge",
                               "initialInstanceCount": new, "initialVariantWeight": 1.0}]}, outputs={})})


@pytest.mark.parametrize(("old", "new"), [(2, 4), (4, 2)])
def test_a_replicas_change_without_autoscaling_lands_and_is_no_drift(sm, moto_url, monkeypatch, old, new):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    target = same_version_resize(sm, old, new)
    driver = SageMakerDriver(sm, target)
    result = reconcile_once(spec("aws"), driver, ScriptedGates(), 1000.0)
    assert result.decision.action == "finish" and result.acted
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
    assert primary_counts(sm) == (new, new)  # the config's InitialInstanceCount, not the old count
    assert driver.observe().converged
    state = prior(old, new)
    live = scan_aws(state.resources.values(), region=REGION, endpoint_url=moto_url)
    assert find_drift(state, live, left={EP: ("endpointConfigName",)}) == []


def test_a_version_rollout_without_autoscaling_ends_at_the_new_configs_count(sm):
    """A version bump that also raises ``replicas``: the walk ends on the final config's count."""
    target = deploy(sm, count=3)
    config(sm, f"{E}-cfg-v13-r5", model_name(E, 13), count=5)
    target = EndpointTarget(E, target.version, f"{E}-cfg-v13-r5", target.model, None)
    clock, gates = Clock(), ScriptedGates(percent=lambda: canary_percent(sm, E))
    shares: list = []
    watch(spec("aws"), SageMakerDriver(sm, target), gates,
          Watch(poll_seconds=BAKE, max_passes=300, clock=clock, sleep=clock.sleep,
                on_pass=lambda _: shares.append(canary_percent(sm, E))))
    assert STEPS[-2] in shares and shares[-1] is None  # walked the steps, then one variant again
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
    assert primary_counts(sm) == (5, 5)


def test_an_autoscaled_endpoint_keeps_its_live_count_on_the_finish(sm, scaling):
    """Application Auto Scaling owns the count of an autoscaled variant: the finish retains it."""
    target = same_version_resize(sm, 2, 4, scaling)
    driver = SageMakerDriver(sm, target, autoscaling=scaling)
    assert reconcile_once(spec("aws"), driver, ScriptedGates(), 1000.0).decision.action == "finish"
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
    assert primary_counts(sm) == (2, 2)
