"""An apply of the version an InferenceService already serves leaves ``canaryTrafficPercent`` to the rollout
controller (audit k8sroll-1).

KServe reads a ``canaryTrafficPercent`` below 100 written without a new revision, after a finished rollout, as
its rollback gesture (kserve v0.15.0 ``inference_service_status.go`` ``PropagateStatus`` l.459-470: the latest
rolled-out revision goes back to the previous one, which ``ksvc_reconciler.go`` ``createKnativeService``
l.140-149 then gives the rest). Before, every apply of the same version wrote the first step again (forced):
a new first step in the spec, any change of the object, any apply after ``pulumi refresh``; 90-98 % of the
traffic went back to the previous version until the controller's next pass. Now ``plan`` and ``apply``
compile the same version without the field and with ``ignoreChanges`` on it
(``compile/kubernetes/serving.py`` ``keeps_controller_traffic``).

``pulumi up`` is played on the Kubernetes API stand-in (tests/support/kube_api.py, server-side apply's field
ownership) by :func:`pulumi_up_ignoring`, which transcribes what Pulumi does with an ignored path: the engine
puts the old value back (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``processIgnoreChanges``)
and pulumi-kubernetes' server-side apply drops the field when another manager owns it on the cluster, else
sends the last live value (``provider/pkg/await/await.go``, the ``IgnoreChanges`` loop of the SSA update).
KServe's routing is the stand-in's transcription (tests/support/kserve.py, "Traffic").
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.serving import TRAFFIC_FIELD
from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.spec import parse_system
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.aws.cases import REFERENCE
from tests.rollout.sim import Clock
from tests.rollout.test_kserve_apply import ISVC_TYPE, PULUMI_MANAGER, controller, live, pulumi_up, stored
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.kserve import traffic_world
from tests.support.kube_api import KubeApiStandIn


def dev_graph(version: int, served: int | None, steps: str = "[2, 5, 10, 25, 75, 100]"):
    """The reference dev graph at ``version``, compiled as ``plan``/``apply`` do: with the registry view the
    prior state gives (``served``: the version it shows the endpoint serving; None: no view at all)."""
    text = REFERENCE.read_text(encoding="utf-8")
    assert "endpoints.scorer.model.version: 14\n" in text and "steps: [2, 5, 10, 25, 75, 100]" in text
    text = text.replace("endpoints.scorer.model.version: 14\n", f"endpoints.scorer.model.version: {version}\n")
    text = text.replace("steps: [2, 5, 10, 25, 75, 100]", f"steps: {steps}")
    loaded = parse_system(text, "case.yaml", "dev")
    assert loaded.system is not None
    view = None if served is None else RegistryView(serving={"scorer": served})
    return compile_system(loaded.system, "dev", registry=view)


def parts(graph) -> tuple[Any, dict[str, Any], RolloutSpec]:
    (resource,) = [r for r in graph.resources if r.type == ISVC_TYPE]
    status_map = next(r for r in graph.resources if r.type == "kubernetes:core/v1:ConfigMap" and r.name == "rollout-scorer")
    return resource, copy.deepcopy(status_map.inputs), RolloutSpec.from_graph("endpoints.scorer",
                                                                               graph.rollouts["endpoints.scorer"])


def pulumi_up_ignoring(api: KubeApiStandIn, resource, old_inputs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``pulumi up`` of ``resource`` with its ``ignoreChanges`` (see the module docstring)."""
    obj = copy.deepcopy(resource.inputs)
    for path in resource.options.ignore_changes:
        keys = path.split(".")
        old = old_inputs
        for key in keys:
            old = old.get(key) if isinstance(old, dict) else None
        owners = api.managers("serving.kserve.io/v1beta1", "InferenceService", "scorer", "fraud-dev")
        spelled = "." + path
        theirs = any(spelled in fields for who, fields in owners.items() if not who.startswith(PULUMI_MANAGER))
        ours = any(spelled in fields for who, fields in owners.items() if who.startswith(PULUMI_MANAGER))
        holder = obj
        for key in keys[:-1]:
            holder = holder.setdefault(key, {})
        if theirs and not ours:
            holder.pop(keys[-1], None)  # another manager owns it: dropped from the apply
        else:
            value = live(api)
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                holder[keys[-1]] = value  # the last live value
            elif old is not None:
                holder[keys[-1]] = old
    return pulumi_up(api, obj)


@pytest.fixture
def world():
    """The stand-in with KServe's revisions and traffic split (tests/support/kserve.py ``traffic_world``)."""
    with traffic_world(Clock()) as world:
        yield world


def routed(api) -> list[tuple[str, int]]:
    return [(t["revisionName"], t["percent"]) for t in live(api)["status"]["components"]["predictor"]["traffic"]]


def test_an_apply_of_the_finished_version_with_a_new_first_step_keeps_the_controllers_100(world):
    api, kserve, clock = world
    first, status_map, rollout = parts(dev_graph(12, served=None))
    assert pulumi_up(api, first.inputs)[0] == 201 and pulumi_up(api, status_map)[0] == 201
    controller(api, rollout, clock)  # a first deployment: 100 %
    v13, _, rollout = parts(dev_graph(13, served=12))
    assert v13.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 2  # a new version starts at the first step
    assert not v13.options.ignore_changes
    assert pulumi_up(api, v13.inputs)[0] == 200
    controller(api, rollout, clock)
    assert (stored(api)["phase"], stored(api)["stable-version"]) == ("finished", "13 of fraud-model")
    (rev12,), (rev13,) = kserve.of_version("scorer", "12", "fraud-dev"), kserve.of_version("scorer", "13", "fraud-dev")
    assert routed(api) == [(rev13, 100)]

    same, _, _ = parts(dev_graph(13, served=13, steps="[10, 25, 50, 100]"))
    assert "canaryTrafficPercent" not in same.inputs["spec"]["predictor"]
    assert same.options.ignore_changes == (TRAFFIC_FIELD,)
    code, applied = pulumi_up_ignoring(api, same, v13.inputs)
    assert code == 200 and applied["spec"]["predictor"]["canaryTrafficPercent"] == 100
    assert routed(api) == [(rev13, 100)]  # before: [(rev13, 10), (rev12, 90)], KServe's rollback gesture
    assert rev12 not in {name for name, _ in routed(api)}
    assert kserve.of_version("scorer", "13", "fraud-dev") == [rev13]  # the share makes no revision


def test_an_apply_of_the_same_version_at_its_first_step_keeps_that_step(world):
    """Mid-rollout, before the controller has moved the traffic, Pulumi still owns the field: the last live
    value is applied, so the step is neither changed nor removed (a removal would be KServe's 100 %)."""
    api, kserve, clock = world
    first, status_map, rollout = parts(dev_graph(12, served=None))
    pulumi_up(api, first.inputs)
    pulumi_up(api, status_map)
    controller(api, rollout, clock)
    v13, _, _ = parts(dev_graph(13, served=12))
    pulumi_up(api, v13.inputs)
    (rev12,), (rev13,) = kserve.of_version("scorer", "12", "fraud-dev"), kserve.of_version("scorer", "13", "fraud-dev")
    assert routed(api) == [(rev13, 2), (rev12, 98)]
    same, _, _ = parts(dev_graph(13, served=13, steps="[10, 25, 50, 100]"))
    code, applied = pulumi_up_ignoring(api, same, v13.inputs)
    assert code == 200 and applied["spec"]["predictor"]["canaryTrafficPercent"] == 2
    assert routed(api) == [(rev13, 2), (rev12, 98)]


def test_the_plan_of_the_same_version_shows_no_traffic_change_even_after_a_refresh():
    applied = dev_graph(13, served=12)  # what the version's apply wrote: the first step, 2
    same = dev_graph(13, served=13, steps="[10, 25, 50, 100]")

    def refreshed(record: dict[str, Any]) -> None:  # `pulumi refresh` after the finish: the live 100
        for side in ("inputs", "outputs"):
            record[side]["spec"]["predictor"]["canaryTrafficPercent"] = 100

    for checkpoint in (applied_state(applied), edit_resource(applied_state(applied), lambda r: r["type"] == ISVC_TYPE,
                                                             refreshed)):
        plan = make_plan(same, parse_state(dumps(checkpoint).encode(), "prior.json"))
        changes = [c for c in plan.changes if c.type == ISVC_TYPE]
        assert [c.action for c in changes] == [Action.NOOP], [(a.path, a.before, a.after) for c in changes
                                                               for a in c.changes]
        assert not [w for w in plan.warnings if re.search(r"first step|new Knative revision", w)]
