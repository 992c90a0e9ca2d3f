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


def test_the_runner_document_waits_for_the_endpoints_it_names():
    """Audit k8srbac-4: the runner's ConfigMaps (so its CronJob) depended on the namespace only, so on a
    first apply its ticks GET an InferenceService not created yet (404: a failed Job and the critical
    rollout_runner_failed page). Every runner ConfigMap now depends on each rolled-out InferenceService,
    its status ConfigMap and the Role granting them; the CronJob on those ConfigMaps."""
    graph = compile_text(many_rollouts.text(["api", "ranker"], rollout="{strategy: canary, bake: 10m, steps: [5, 100]}"))
    by_name = {(r.inputs["kind"], r.name): r for r in graph.resources if "kind" in r.inputs}
    named = [by_name[("InferenceService", e)].urn for e in ("api", "ranker")]
    named += [by_name[("ConfigMap", f"rollout-{e}")].urn for e in ("api", "ranker")]
    role = by_name[("Role", rollout_runner.NAME)].urn
    code = by_name[("ConfigMap", rollout_runner.NAME)]
    assert set(named) | {role} <= set(code.dependencies)
    assert code.urn in by_name[("CronJob", rollout_runner.NAME)].dependencies


def test_every_part_of_a_split_document_waits_for_the_endpoints():
    """Split into parts (many_rollouts: the code's ConfigMap and two parts), each ConfigMap waits for every
    endpoint the runner drives."""
    graph = many_rollouts.graph()
    services = {r.urn for r in graph.resources if r.inputs.get("kind") == "InferenceService"}
    runner_maps = [r for r in graph.resources if r.inputs.get("kind") == "ConfigMap"
                   and r.name.startswith(rollout_runner.NAME)]
    assert len(services) == many_rollouts.ENDPOINTS and len(runner_maps) == 3
    assert all(services <= set(r.dependencies) for r in runner_maps)
