"""The rollout runner compiled into Kubernetes graphs (compile/kubernetes/rollout_runner.py): who gets it,
what its CronJob runs and what it ships. Its Role, account and pods are checked with the others in
test_kubernetes_semantics.py, every object against the real schemas in test_kubernetes_validation.py,
and the CronJob's command is run against the API stand-in in tests/rollout/test_scheduled_kubernetes.py."""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile import rollout_code
from mlops_infra.compile.kubernetes import images, rollout_runner
from tests.compile.kubernetes import many_rollouts
from tests.support.kube_cases import by_kind, compile_text


def _doc(strategy: str) -> str:
    """One endpoint, ``api``, rolling out by ``strategy`` (a canary in three steps)."""
    steps = ", steps: [5, 50, 100]" if strategy == "canary" else ""
    return many_rollouts.text(["api"], rollout=f"{{strategy: {strategy}, bake: 10m{steps}}}")


def _runner(graph) -> dict[str, dict]:
    return {r.inputs["kind"]: r.inputs for r in graph.resources
            if r.address == "platform" and r.inputs.get("metadata", {}).get("name") == rollout_runner.NAME}


@pytest.mark.parametrize("strategy", ["all_at_once", "rolling"])
def test_a_namespace_without_a_staged_rollout_gets_no_runner(strategy):
    graph = compile_text(_doc(strategy))
    assert graph.rollouts == {} and _runner(graph) == {}


@pytest.mark.parametrize("strategy", ["canary", "blue_green"])
def test_a_staged_rollout_gets_the_runner_with_get_and_patch_on_its_endpoint_and_get_on_revisions(strategy):
    graph = compile_text(_doc(strategy))
    objects = _runner(graph)
    assert set(objects) == {"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "CronJob"}
    assert objects["Role"]["rules"] == [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                                         "resourceNames": ["api"], "verbs": ["get", "patch"]},
                                        {"apiGroups": [""], "resources": ["configmaps"],
                                         "resourceNames": ["rollout-api"], "verbs": ["get", "patch"]},
                                        {"apiGroups": ["serving.knative.dev"], "resources": ["revisions"],
                                         "verbs": ["get"]}]
    assert [i["metadata"]["name"] for i in by_kind(graph, "InferenceService")] == ["api"]
    (status,) = [r for r in graph.resources if r.type == "kubernetes:core/v1:ConfigMap" and r.name == "rollout-api"]
    assert "data" not in status.inputs and status.options.ignore_changes == ("data",)  # the runner's keys
    assert status.address == "endpoints.api"


def test_the_cronjob_runs_the_shipped_runner_every_minute_one_at_a_time():
    graph = compile_text(_doc("canary"))
    objects = _runner(graph)
    spec = objects["CronJob"]["spec"]
    assert (spec["schedule"], spec["concurrencyPolicy"], spec["timeZone"]) == ("* * * * *", "Forbid", "Etc/UTC")
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 300
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == rollout_runner.NAME and pod["automountServiceAccountToken"] is True
    (container,) = pod["containers"]
    assert container["image"] == images.PYTHON
    assert container["command"] == ["python", "-m", "mlops_infra.rollout.scheduled",
                                    f"{rollout_runner.MOUNT}/rollouts.json"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "code"]
    projected = {i["path"]: i["key"] for i in volume["configMap"]["items"]}
    assert set(projected) == {f"mlops_infra/{p}" for p in rollout_code.KUBERNETES} | {"rollouts.json"}
    data = objects["ConfigMap"]["data"]
    assert set(data) == set(projected.values()) and all("/" not in k for k in data)
    document = json.loads(data["rollouts.json"])
    assert document == {"target": "kubernetes", "namespace": "runs-dev", "prometheusUrl": rollout_runner.PROMETHEUS_URL,
                        "rollouts": [{"address": "endpoints.api", "plan": graph.rollouts["endpoints.api"]}]}
