"""An endpoint switched to another registered model with the served version number is a new version for the
KServe rollout controller too (closing-41a-1's follow-up; ``rollout/drivers/kserve.py`` ``revision_key``).

The compiler gives the switch its first step (``RegistryView.serves``). The driver keyed a revision by its
``mlops-infra/model-version`` alone, so ``fraud-model-gbt`` v14 over a finished ``fraud-model`` v14 read as
the finished version whose traffic "is not 100": reconcile rule 4 completed "the finish" and KServe sent all
traffic to the other model's revision at once, no step, no bake, no gate. Now the key is the version AND the
model (``mlops-infra/model``, which KServe copies onto each Revision with the rest of the InferenceService's
annotations: kserve v0.15.0 ``pkg/controller/v1beta1/inferenceservice/components/predictor.go``
``buildPredictorResources``), and a status an earlier runner wrote with bare numbers is read as the model of
the revision KServe last rolled out (``keyed_fields``). Played on the Kubernetes API stand-in with KServe's
traffic model (tests/support/kserve.py, "Traffic").
"""

from __future__ import annotations

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.resources import CONFIG_MAP
from mlops_infra.model_versions import RegistryView
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.runner import Watch, watch
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import REFERENCE
from tests.rollout.sim import Clock, ScriptedGates
from tests.rollout.test_kserve_apply import controller, live, pulumi_up, stored
from tests.rollout.test_kserve_same_version_apply import parts, routed
from tests.support.kserve import traffic_world

SECOND_MODEL = "models:\n  - name: fraud-model-gbt\n    framework: xgboost\n  - name: fraud-model\n"


def dev_graph(model: str, served: str | None):
    """The reference dev at version 14 of ``model`` (the document declares both models), compiled with the view
    of a state serving v14 of ``served`` (None: no view, a first deployment)."""
    text = REFERENCE.read_text(encoding="utf-8").replace("models:\n  - name: fraud-model\n", SECOND_MODEL)
    pin = "endpoints.scorer.model.version: 14\n"
    assert SECOND_MODEL in text and pin in text
    text = text.replace(pin, f"{pin}      endpoints.scorer.model.name: {model}\n")
    loaded = parse_system(text, "case.yaml", "dev")
    assert loaded.system is not None
    view = None if served is None else RegistryView(serving={"scorer": 14}, serving_models={"scorer": served})
    return compile_system(loaded.system, "dev", registry=view)


@pytest.fixture
def world():
    """The stand-in with KServe's revisions and traffic split (tests/support/kserve.py ``traffic_world``)."""
    with traffic_world(Clock()) as world:
        yield world


def one_pass(api, rollout, clock):
    driver = KServeDriver(KubeClient.from_url(api.url, token="rollout", retry=RetryPolicy(attempts=2, base_delay=0.01)),
                          "fraud-dev", "scorer")
    gates = ScriptedGates(decide=lambda percent: "ok",
                          percent=lambda: live(api)["spec"]["predictor"].get("canaryTrafficPercent"))
    return watch(rollout, driver, gates, Watch(poll_seconds=60, max_passes=1, clock=clock, sleep=clock.sleep))


def served_fraud_model_v14(api, clock):
    first, status_map, rollout = parts(dev_graph("fraud-model", served=None))
    assert pulumi_up(api, first.inputs)[0] == 201 and pulumi_up(api, status_map)[0] == 201
    controller(api, rollout, clock)  # a first deployment: 100 %
    assert (stored(api)["phase"], stored(api)["stable-version"]) == ("finished", "14 of fraud-model")


def apply_the_switch(api, kserve):
    switched, _, rollout = parts(dev_graph("fraud-model-gbt", served="fraud-model"))
    assert switched.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 2  # the compiler's first step
    assert pulumi_up(api, switched.inputs)[0] == 200
    (old,) = kserve.of_version("scorer", "14", "fraud-dev")[:1]
    new = live(api)["status"]["components"]["predictor"]["latestReadyRevision"]
    assert new != old and routed(api) == [(new, 2), (old, 98)]
    return rollout, old, new


def test_a_switch_to_another_model_with_the_served_number_is_rolled_out_from_its_first_step(world):
    api, kserve, clock = world
    served_fraud_model_v14(api, clock)
    rollout, old, new = apply_the_switch(api, kserve)
    started = one_pass(api, rollout, clock)
    assert started.decision.message == "start: 2% of traffic to version 14 of fraud-model-gbt (from 14 of fraud-model)"
    assert routed(api) == [(new, 2), (old, 98)]  # before: "completing the finish", all traffic on `new` at once
    assert (stored(api)["phase"], stored(api)["revision"], stored(api)["previous"]) == (
        "progressing", "14 of fraud-model-gbt", "14 of fraud-model")
    assert one_pass(api, rollout, clock).observed.canary == new  # the gates judge the new model's revision

    last = controller(api, rollout, clock, decide=lambda percent: "firing" if percent == 10 else "ok")
    assert stored(api)["phase"] == "rolled_back" and stored(api)["stable-version"] == "14 of fraud-model"
    assert "version 14 of fraud-model-gbt" in last.decision.message
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 0 and routed(api) == [(new, 0), (old, 100)]


def test_a_status_an_earlier_runner_wrote_with_bare_numbers_still_tells_the_switch(world):
    """An upgrade applied together with the switch: the stored ``14`` is the old model's, as the revision KServe
    last rolled out says; an unchanged endpoint's bare status reads as before (nothing to do)."""
    api, kserve, clock = world
    served_fraud_model_v14(api, clock)
    kube = KubeClient.from_url(api.url, token="rollout")
    kube.patch(CONFIG_MAP, "rollout-scorer", "fraud-dev", {"data": {"revision": "14", "stable-version": "14"}})
    _, _, rollout = parts(dev_graph("fraud-model", served="fraud-model"))
    same = one_pass(api, rollout, clock)
    assert same.decision.action == "none" and "version 14 of fraud-model finished" in same.decision.message
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 100

    rollout, old, new = apply_the_switch(api, kserve)
    started = one_pass(api, rollout, clock)
    assert started.decision.message == "start: 2% of traffic to version 14 of fraud-model-gbt (from 14 of fraud-model)"
    assert routed(api) == [(new, 2), (old, 98)]
