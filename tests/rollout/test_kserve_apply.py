"""``pulumi up`` and the rollout controller writing one InferenceService, on the Kubernetes API
stand-in (tests/support/kube_api.py: a protocol-level stand-in with server-side apply's field
ownership; no API server runs here).

``pulumi_up`` does what pulumi-kubernetes 4 does to create or update an object: a server-side apply
of the whole object by the provider's field manager (``pulumi-kubernetes-`` and a unique suffix:
provider ``pkg/provider/provider.go`` ``fieldManagerName``), forced only when the object carries
``pulumi.com/patchForce: "true"`` (``pkg/await/await.go``: ``Creation``, ``ssaUpdate``,
``patchForce``; the provider option and the environment variable that also force are unset here, as
by default). The controller is the real KServe driver (``rollout/drivers/kserve.py``) through
:class:`~mlops_infra.kube.KubeClient`; the objects are the compiled reference dev graph's.
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from mlops_infra.compile.kubernetes.serving import PATCH_FORCE
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Watch, watch
from tests.compile.aws.cases import REFERENCE, compile_text
from tests.rollout.sim import Clock, ScriptedGates
from tests.support.kube_api import KubeApiStandIn, load_crds

ISVC_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
PULUMI_MANAGER = "pulumi-kubernetes-5f1c2e9a"
RULES = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "patch"]},
         {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["rollout-scorer"], "verbs": ["get", "patch"]}]


def dev_graph(version: int):
    text = REFERENCE.read_text(encoding="utf-8")
    assert "endpoints.scorer.model.version: 14\n" in text
    return compile_text(text.replace("endpoints.scorer.model.version: 14\n",
                                     f"endpoints.scorer.model.version: {version}\n"), "dev")


def compiled_isvc(version: int) -> tuple[dict[str, Any], RolloutSpec]:
    graph = dev_graph(version)
    (resource,) = [r for r in graph.resources if r.type == ISVC_TYPE]
    assert "$ref" not in json.dumps(resource.inputs)  # plain JSON: what the provider sends
    return copy.deepcopy(resource.inputs), RolloutSpec.from_graph("endpoints.scorer", graph.rollouts["endpoints.scorer"])


def compiled_status_map(version: int) -> dict[str, Any]:
    """The endpoint's rollout status ConfigMap as compiled: no data, ``ignoreChanges: [data]``."""
    (resource,) = [r for r in dev_graph(version).resources
                   if r.type == "kubernetes:core/v1:ConfigMap" and r.name == "rollout-scorer"]
    assert "data" not in resource.inputs and resource.options.ignore_changes == ("data",)
    return copy.deepcopy(resource.inputs)


@pytest.fixture
def api():
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml"),
                        tokens={"pulumi": None, "rollout": RULES}) as server:
        yield server


def pulumi_up(api: KubeApiStandIn, obj: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """pulumi-kubernetes' write of ``obj`` (see the module docstring)."""
    meta = obj["metadata"]
    force = (meta.get("annotations") or {}).get(PATCH_FORCE) == "true"
    query = f"fieldManager={PULUMI_MANAGER}" + ("&force=true" if force else "")
    kind = "api/v1" if obj["kind"] == "ConfigMap" else "apis/serving.kserve.io/v1beta1"
    plural = "configmaps" if obj["kind"] == "ConfigMap" else "inferenceservices"
    url = f"{api.url}/{kind}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
    request = urllib.request.Request(f"{url}?{query}", data=json.dumps(obj).encode(), method="PATCH",
                                     headers={"Content-Type": "application/apply-patch+yaml",
                                              "Authorization": "Bearer pulumi"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def controller(api: KubeApiStandIn, rollout: RolloutSpec, clock: Clock, decide=lambda percent: "ok"):
    """Run the rollout controller until it settles; returns its last pass."""
    driver = KServeDriver(KubeClient.from_url(api.url, token="rollout", retry=RetryPolicy(attempts=2, base_delay=0.01)),
                          "fraud-dev", "scorer")
    gates = ScriptedGates(decide=decide, percent=lambda: live(api)["spec"]["predictor"].get("canaryTrafficPercent"))
    return watch(rollout, driver, gates, Watch(poll_seconds=60, max_passes=200, clock=clock, sleep=clock.sleep))


def live(api: KubeApiStandIn) -> dict[str, Any]:
    return api.get("serving.kserve.io/v1beta1", "InferenceService", "scorer", "fraud-dev")


def stored(api: KubeApiStandIn) -> dict[str, str]:
    """The rollout status the controller keeps (its ConfigMap's data)."""
    return api.get("v1", "ConfigMap", "rollout-scorer", "fraud-dev").get("data") or {}


def test_the_compiled_canary_inference_service_asks_pulumi_to_force_its_apply():
    obj, rollout = compiled_isvc(14)
    assert obj["metadata"]["annotations"][PATCH_FORCE] == "true"
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == rollout.steps[0] == 2


def test_a_new_version_after_a_finished_rollout_applies_and_starts_at_the_first_step(api):
    clock = Clock()
    first, rollout = compiled_isvc(14)
    assert pulumi_up(api, first)[0] == 201
    assert pulumi_up(api, compiled_status_map(14))[0] == 201
    controller(api, rollout, clock)  # a first deployment: all traffic at once
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 100
    owners = api.managers("serving.kserve.io/v1beta1", "InferenceService", "scorer", "fraud-dev")
    assert ".spec.predictor.canaryTrafficPercent" in owners["mlops-infra-rollout (Update)"]
    assert ".spec.predictor.canaryTrafficPercent" not in owners[f"{PULUMI_MANAGER} (Apply)"]

    new, _ = compiled_isvc(15)
    without = copy.deepcopy(new)
    del without["metadata"]["annotations"][PATCH_FORCE]
    code, status = pulumi_up(api, without)  # what the compiler gave before: pulumi up fails
    assert code == 409 and status["message"] == ('Apply failed with 1 conflict: conflict with "mlops-infra-rollout" '
                                                 "using serving.kserve.io/v1beta1: .spec.predictor.canaryTrafficPercent")

    code, applied = pulumi_up(api, new)
    assert code == 200
    predictor = applied["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 2 and predictor["model"]["storageUri"].endswith("/fraud-model/15/")
    notes = applied["metadata"]["annotations"]
    assert notes["mlops-infra/model-version"] == "15"
    assert pulumi_up(api, compiled_status_map(15))[0] == 200  # pulumi up applies the status ConfigMap too
    assert stored(api)["stable-version"] == "14 of fraud-model"  # the controller's record survives the apply
    assert stored(api)["phase"] == "finished"

    last = controller(api, rollout, clock)
    assert last.decision.action == "none"
    assert (stored(api)["stable-version"], stored(api)["phase"]) == ("15 of fraud-model", "finished")
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 100


def test_a_new_version_after_a_rollback_applies_and_an_unchanged_version_is_put_back(api):
    clock = Clock()
    first, rollout = compiled_isvc(14)
    pulumi_up(api, first)
    pulumi_up(api, compiled_status_map(14))
    controller(api, rollout, clock)
    bad, _ = compiled_isvc(15)
    assert pulumi_up(api, bad)[0] == 200
    controller(api, rollout, clock, decide=lambda percent: "firing" if percent == 10 else "ok")
    assert stored(api)["phase"] == "rolled_back"
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 0

    relabelled = copy.deepcopy(bad)  # an apply that changes the object but not the version
    relabelled["metadata"]["labels"] = {**relabelled["metadata"].get("labels", {}), "team": "fraud"}
    assert pulumi_up(api, relabelled)[0] == 200
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 2  # the flip side the docstring states
    controller(api, rollout, clock)
    assert live(api)["spec"]["predictor"]["canaryTrafficPercent"] == 0  # the controller completes the rollback

    fixed, _ = compiled_isvc(16)
    code, applied = pulumi_up(api, fixed)
    assert code == 200 and applied["spec"]["predictor"]["canaryTrafficPercent"] == 2
    controller(api, rollout, clock)
    assert (stored(api)["stable-version"], stored(api)["phase"]) == ("16 of fraud-model", "finished")


def test_after_a_pulumi_refresh_the_plan_shows_the_reset_the_next_apply_makes():
    """``pulumi refresh`` copies the live ``canaryTrafficPercent`` (100 after a finished rollout) into
    the state's inputs (pulumi-kubernetes ``Read``: ``pruneLiveState``), so the next ``pulumi up``
    applies the first step again on an unchanged version; the plan says so, and nothing else
    (docs/compile-kubernetes.md, Rollouts)."""
    from mlops_infra.plan.model import Action
    from mlops_infra.plan.planner import make_plan
    from mlops_infra.state.pulumi_state import parse_state
    from tests.support.applied_state import applied_state, dumps, edit_resource

    graph = dev_graph(14)

    def refreshed(record: dict[str, Any]) -> None:
        for side in ("inputs", "outputs"):
            record[side]["spec"]["predictor"]["canaryTrafficPercent"] = 100

    checkpoint = edit_resource(applied_state(graph), lambda r: r["type"] == ISVC_TYPE, refreshed)
    plan = make_plan(graph, parse_state(dumps(checkpoint).encode(), "refreshed.json"))
    (change,) = [c for c in plan.changes if c.action != Action.NOOP]
    assert (change.type, change.action) == (ISVC_TYPE, Action.UPDATE)
    assert [(a.path, a.before, a.after) for a in change.changes] == [("spec.predictor.canaryTrafficPercent", 100, 2)]
    unrefreshed = make_plan(graph, parse_state(dumps(applied_state(graph)).encode(), "applied.json"))
    assert {c.action for c in unrefreshed.changes} == {Action.NOOP}
