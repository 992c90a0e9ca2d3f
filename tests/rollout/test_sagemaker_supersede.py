"""A version applied while another is rolling out on SageMaker starts at 0 %, not at the superseded
canary's share (audit rolloutrun-2).

The start's ``UpdateEndpoint`` moves the endpoint to a rollout config whose ``canary`` variant is the
new model at weight 0. With ``RetainAllVariantProperties`` alone, a variant named in both configs keeps
its live weight (botocore sagemaker 2017-07-24 ``UpdateEndpointInput.ExcludeRetainedVariantProperties``:
"If you don't specify a value for ExcludeRetainedVariantProperties, no variant properties are
overridden"), and mid-rollout the serving config already has a ``canary``: the new, never gated version
took the superseded one's share (75 %, or 100 % from the last step). The moto server's UpdateEndpoint
(tests/support/moto_server.py, patch 2) retains and excludes properties as botocore documents, so these
tests show the weights SageMaker would apply, and the request the driver sends.
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import EndpointTarget, SageMakerDriver
from mlops_infra.rollout.runner import NoGates, reconcile_once
from tests.rollout.aws_world import IMAGE, ROLE, canary_percent, config, deploy, model_name, status_tags
from tests.rollout.sim import BAKE, STEPS, spec

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"


def canary_model(sm) -> str | None:
    name = sm.describe_endpoint(EndpointName=E)["EndpointConfigName"]
    variants = sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]
    return next((v["ModelName"] for v in variants if v["VariantName"] == "canary"), None)


def update_endpoint_requests(sm) -> list[dict]:
    """The parameters of every UpdateEndpoint the client sends from now on (a botocore event hook)."""
    sent: list[dict] = []
    sm.meta.events.register("provide-client-params.sagemaker.UpdateEndpoint",
                            lambda params, **_: sent.append(dict(params)))
    return sent


@pytest.mark.parametrize("step", [4, 5], ids=["superseded-at-75", "superseded-at-100"])
def test_a_version_applied_mid_rollout_starts_at_zero_then_the_first_step(sm, step):
    rollout = spec("aws", gates=())
    v13 = deploy(sm, stable=12, new=13, count=4)
    now = 1_800_000_000.0
    for _ in range(40):  # version 13 walks its steps up to ``step`` (index into STEPS)
        reconcile_once(rollout, SageMakerDriver(sm, v13), NoGates(), now)
        now += BAKE + 1
        if status_tags(sm, E).get("step") == str(step) and canary_percent(sm, E) == STEPS[step]:
            break
    assert canary_percent(sm, E) == STEPS[step] and canary_model(sm) == model_name(E, 13)

    # ``pulumi up`` of version 14: its model and final config; the runner's document now names 14
    sm.create_model(ModelName=model_name(E, 14), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    config(sm, f"{E}-cfg-v14", model_name(E, 14), count=4)
    v14 = EndpointTarget(E, "14", f"{E}-cfg-v14", model_name(E, 14), None)
    sent = update_endpoint_requests(sm)
    shares = []
    for _ in range(40):
        result = reconcile_once(rollout, SageMakerDriver(sm, v14), NoGates(), now)
        shares.append(canary_percent(sm, E))
        now += 30 if len(shares) < 3 else BAKE + 1
        if result.decision.action == "set_traffic" and result.decision.percent == STEPS[1]:
            break
    assert canary_model(sm) == model_name(E, 14)
    assert shares[0] == 0  # the start: version 14's canary at weight 0 (it was 75 or 100 before the fix)
    assert max(shares[:-1]) == STEPS[0] and shares[-1] == STEPS[1]  # never above step 1 before step 2
    [start] = sent
    assert start["RetainAllVariantProperties"] is True  # primary keeps its instance count
    assert start["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]
    counts = {v["VariantName"]: v["CurrentInstanceCount"]
              for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}
    assert counts["primary"] == 4


def test_a_first_start_on_the_final_config_still_gives_the_canary_nothing(sm):
    """Not a supersede: the serving config has one ``primary``; the weights from the rollout config
    (primary as it serves, canary 0) are what retaining gave before: 100 % on the stable version."""
    v13 = deploy(sm, stable=12, new=13, count=3)
    reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, v13), NoGates(), 1_800_000_000.0)
    variants = {v["VariantName"]: v for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}
    assert canary_percent(sm, E) == 0 and variants["primary"]["CurrentInstanceCount"] == 3
