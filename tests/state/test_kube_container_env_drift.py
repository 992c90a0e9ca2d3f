"""Kubernetes drift never shows a container environment value it may not (audit closing-34d-1;
``mlops_infra.plan.drift`` contract): ``kubectl set env`` on a Deployment or CronJob is drift, named by
variable, without the live value, in the summary (text, markdown, promote evidence) and in JSON.

Prior = the compiled quickstart dev objects as applied; live = the same objects edited.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.drift import SENSITIVE, find_drift, left_alone
from mlops_infra.plan.model import drift_to_json
from mlops_infra.promote.gates import FAIL, GateInputs, evaluate_gates
from mlops_infra.state import kube_live
from mlops_infra.state.model import LiveState, PriorState, StateResource
from tests.scenarios.harness import compile_file

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HF = "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"
GRAPH = compile_file(QUICKSTART, "dev")


def _resource(suffix: str) -> Any:
    return next(r for r in GRAPH.resources if r.urn.endswith(suffix))


def _drift(suffix: str, edit) -> tuple[list[Any], str]:
    res = _resource(suffix)
    prior = StateResource(urn=res.urn, type=res.type, id=f"churn-dev/{res.name}", inputs=copy.deepcopy(res.inputs),
                          outputs={})
    live_inputs = copy.deepcopy(res.inputs)
    edit(live_inputs)
    live = StateResource(urn=res.urn, type=res.type, id=prior.id, inputs=live_inputs, outputs={})
    prior_state = PriorState("dev", 3, "x", "churn", "dev", {res.urn: prior})
    found = find_drift(prior_state, LiveState({res.urn: live}), tracking=kube_live.TRACKING,
                       left=left_alone(GRAPH), desired=GRAPH)
    gate = evaluate_gates(["no_drift"], GateInputs("dev", "prod", None, RegistryView(), (), src_prior=prior_state,
                                                   src_live=LiveState({res.urn: live}), src_drift=found,
                                                   src_alerts=()), {})[0]
    assert gate.status == FAIL
    shown = "\n".join([*(d.summary for d in found), *(json.dumps(drift_to_json(d)) for d in found),
                       gate.reason, *gate.evidence])
    return found, shown


def _env(inputs: dict[str, Any], *path: str | int) -> list[dict[str, Any]]:
    for key in path:
        inputs = inputs[key]
    return inputs  # type: ignore[return-value]


def test_a_deployment_env_value_typed_over_or_added_is_named_never_shown() -> None:
    capture = _env(_resource("Deployment::mlops-capture").inputs, "spec", "template", "spec", "containers", 0, "env")
    compiled = next(e["value"] for e in capture if e["name"] == "CAPTURE_BUCKET")

    def edit(inputs: dict[str, Any]) -> None:
        env = _env(inputs, "spec", "template", "spec", "containers", 0, "env")
        next(e for e in env if e["name"] == "CAPTURE_BUCKET")["value"] = KEY
        env.append({"name": "HF_HUB", "value": HF})

    (item,), shown = _drift("Deployment::mlops-capture", edit)
    assert KEY not in shown and HF not in shown
    assert "env HF_HUB added" in item.summary
    assert f"env CAPTURE_BUCKET {compiled} -> {SENSITIVE}" in item.summary  # the compiled value, ours
    changes = {path: (before, after) for path, before, after in item.changes}
    base = "spec.template.spec.containers[0].env"
    assert changes[f"{base}[CAPTURE_BUCKET].value"] == (compiled, SENSITIVE)
    assert changes[f"{base}[HF_HUB]"] == (None, {"name": "HF_HUB", "value": SENSITIVE})


def test_a_state_value_that_is_not_the_compiled_graphs_is_not_shown_either() -> None:
    def edit(inputs: dict[str, Any]) -> None:
        env = _env(inputs, "spec", "template", "spec", "containers", 0, "env")
        env[:] = [e for e in env if e["name"] != "CAPTURE_BUCKET"]

    res = _resource("Deployment::mlops-capture")
    stale = copy.deepcopy(res.inputs)
    next(e for e in _env(stale, "spec", "template", "spec", "containers", 0, "env")
         if e["name"] == "CAPTURE_BUCKET")["value"] = KEY  # what a refresh left in the state
    prior = StateResource(urn=res.urn, type=res.type, id="churn-dev/x", inputs=stale, outputs={})
    live_inputs = copy.deepcopy(res.inputs)
    edit(live_inputs)
    live = StateResource(urn=res.urn, type=res.type, id="churn-dev/x", inputs=live_inputs, outputs={})
    (item,) = find_drift(PriorState("dev", 3, "x", "churn", "dev", {res.urn: prior}), LiveState({res.urn: live}),
                         tracking=kube_live.TRACKING, desired=GRAPH)
    assert KEY not in item.summary + json.dumps(drift_to_json(item))
    assert "env CAPTURE_BUCKET removed" in item.summary


def test_a_cronjob_container_added_shows_its_env_entries_without_values() -> None:
    path = ("spec", "jobTemplate", "spec", "template", "spec", "containers")
    cronjob = next(r for r in GRAPH.resources if r.type == "kubernetes:batch/v1:CronJob"
                   and _env(r.inputs, *path)[0].get("env"))
    suffix = cronjob.urn.rsplit("::", 1)[-1]

    def edit(inputs: dict[str, Any]) -> None:
        containers = _env(inputs, *path)
        _env(containers[0], "env")[0]["value"] = KEY
        containers.append({"name": "sidecar", "image": "busybox", "env": [{"name": "HF_HUB", "value": HF}]})

    (item,), shown = _drift(f"CronJob::{suffix}", edit)
    assert KEY not in shown and HF not in shown
    assert "HF_HUB" in json.dumps(drift_to_json(item))
