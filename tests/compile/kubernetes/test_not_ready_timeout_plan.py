"""The Kubernetes rollout plan carries ``rollout.not_ready_timeout`` (``notReadyTimeoutSeconds``,
compile/kubernetes/serving.py rollout_plan) to the controller, and through the plan to the scheduled
runner's document; AWS plans do not have it (on AWS the controller only waits while an endpoint is
Updating)."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.rollout.model import RolloutSpec
from tests.support.kube_cases import compile_text

FRAUD = Path(__file__).resolve().parents[3] / "examples" / "fraud-detection" / "mlsystem.yaml"
ROLLOUT = "      rollback_on: [scorer-latency, scorer-errors]  # alerts that roll the rollout back\n"


def runner_document(graph) -> dict:
    [code] = [r for r in graph.resources if r.type.endswith(":ConfigMap")
              and r.inputs["metadata"]["name"] == "mlops-rollout-runner"]
    return json.loads(code.inputs["data"]["rollouts.json"])


def test_the_default_and_a_set_timeout_reach_the_plan_the_runner_and_the_controller():
    text = FRAUD.read_text()
    default = compile_text(text, "dev").rollouts["endpoints.scorer"]
    assert default["notReadyTimeoutSeconds"] == 1800
    graph = compile_text(text.replace(ROLLOUT, ROLLOUT + "      not_ready_timeout: 45m\n"), "dev")
    plan = graph.rollouts["endpoints.scorer"]
    assert plan["notReadyTimeoutSeconds"] == 2700
    [entry] = [r for r in runner_document(graph)["rollouts"] if r["address"] == "endpoints.scorer"]
    assert entry["plan"]["notReadyTimeoutSeconds"] == 2700
    spec = RolloutSpec.from_graph("endpoints.scorer", entry["plan"])
    assert spec.target == "kubernetes" and spec.not_ready_timeout_seconds == 2700


def test_aws_plans_do_not_carry_it():
    text = FRAUD.read_text().replace(ROLLOUT, ROLLOUT + "      not_ready_timeout: 45m\n")
    plan = compile_text(text, "staging").rollouts["endpoints.scorer"]
    assert "rollbackAlarms" in plan and "notReadyTimeoutSeconds" not in plan
