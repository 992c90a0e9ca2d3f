"""Who may call what mlops-infra runs in the cluster (audit secpost45; rules and sources in
mlops_infra/compile/kubernetes/ingress.py): the Pushgateway's NetworkPolicy (secpost45-1) and the
InferenceServices' cluster-local visibility (secpost45-2)."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.compile.kubernetes import ingress, rollout_runner
from tests.support.kube_cases import CASE_IDS, VARIETY, by_kind, compile_text, graph_of

WRITABLE = ("mlops-capture", "mlops-retrain-trigger", "mlops-pushgateway")
"""Services whose pods act on what they are sent: capture writes the bucket drift reads, the trigger
starts training, the Pushgateway's values fire the drift alerts that reach the trigger."""


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels AND matchExpressions In/NotIn/Exists/DoesNotExist)."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def admitted(policy: dict[str, Any], labels: dict[str, str], same_namespace: bool = True) -> bool:
    """Whether a pod with ``labels`` may reach the policy's pods (one ingress rule, as compiled)."""
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            if "namespaceSelector" not in peer and not same_namespace:
                continue
            if matches(peer["podSelector"], labels):
                return True
    return False


def named(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (obj,) = [o for o in objs if o["metadata"]["name"] == name]
    return obj


@pytest.mark.parametrize("case", CASE_IDS)
def test_every_service_that_acts_on_requests_is_selected_by_a_network_policy(case):
    """Kubernetes "Network Policies": a pod is non-isolated for ingress unless a NetworkPolicy with
    Ingress in its policyTypes selects it. Fails before secpost45-1: the Pushgateway had none."""
    graph = graph_of(case)
    services = [s for s in by_kind(graph, "Service") if s["metadata"]["name"] in WRITABLE]
    policies = by_kind(graph, "NetworkPolicy")
    assert services or case == "variety-dev"
    for service in services:
        selecting = [p for p in policies if "Ingress" in p["spec"]["policyTypes"]
                     and matches(p["spec"]["podSelector"], service["spec"]["selector"])]
        assert selecting, f"{case}: no NetworkPolicy selects the pods of Service {service['metadata']['name']}"
        port = service["spec"]["ports"][0]["port"]
        assert all(r["ports"] == [{"port": port, "protocol": "TCP"}] for p in selecting for r in p["spec"]["ingress"])


@pytest.mark.parametrize("case", [c for c in CASE_IDS if by_kind(graph_of(c), "Service")
                                  and any(s["metadata"]["name"] == "mlops-pushgateway"
                                          for s in by_kind(graph_of(c), "Service"))])
def test_the_pushgateway_admits_the_systems_pushers_and_prometheus_only(case):
    """secpost45-1: the drift jobs' and the rollout runner's pods of this namespace, and
    prometheus-operator's Prometheus pods (makeSelectorLabels) from any namespace; not the pods that
    run user code (predictors, training), not another namespace's pods, not Alertmanager."""
    graph = graph_of(case)
    policy = named(by_kind(graph, "NetworkPolicy"), "mlops-pushgateway")
    pushers = [c["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] for c in by_kind(graph, "CronJob")
               if c["metadata"]["name"].startswith("monitor-") or c["metadata"]["name"] == rollout_runner.NAME]
    assert pushers
    for labels in pushers:
        assert admitted(policy, labels)
        assert not admitted(policy, labels, same_namespace=False)
    for isvc in by_kind(graph, "InferenceService"):  # KServe copies these labels onto the predictor pods
        assert not admitted(policy, {**isvc["metadata"]["labels"], "serving.kserve.io/inferenceservice": "x"})
    prometheus = {"app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "prometheus",
                  "app.kubernetes.io/instance": "k8s", "prometheus": "k8s", "operator.prometheus.io/name": "k8s"}
    assert admitted(policy, prometheus, same_namespace=False)
    assert not admitted(policy, {**prometheus, "app.kubernetes.io/name": "alertmanager"}, same_namespace=False)
    assert not admitted(policy, {"app": "curl"})


def test_the_pusher_address_is_the_rollout_runners():
    """ingress.py names the rollout runner's address label (it cannot import rollout_runner)."""
    assert ingress.ROLLOUT_RUNNER_ADDRESS == rollout_runner.ADDRESS


@pytest.mark.parametrize("case", CASE_IDS)
def test_inference_service_is_cluster_local_by_default(case):
    """secpost45-2: in Serverless mode KServe keeps an InferenceService off the external gateway only when
    it is labelled networking.knative.dev/visibility: cluster-local. Not networking.kserve.io/visibility
    (Raw mode's): KServe would copy it into the Knative revision template (a new revision of every
    endpoint). Fails before: no compiled InferenceService had the label."""
    isvcs = by_kind(graph_of(case), "InferenceService")
    assert isvcs
    for isvc in isvcs:
        labels = isvc["metadata"]["labels"]
        assert labels["networking.knative.dev/visibility"] == "cluster-local", isvc["metadata"]["name"]
        assert "networking.kserve.io/visibility" not in labels


def test_public_exposure_is_explicit_and_drops_only_that_endpoints_labels():
    text = VARIETY.replace("    rollout: {strategy: rolling}", "    rollout: {strategy: rolling}\n    exposure: public", 1)
    assert text != VARIETY
    isvcs = by_kind(compile_text(text), "InferenceService")
    public = [i for i in isvcs if "networking.knative.dev/visibility" not in i["metadata"]["labels"]]
    assert [i["metadata"]["name"] for i in public] == ["churn"] and len(isvcs) > 1


@pytest.mark.parametrize("case", CASE_IDS)
def test_no_network_policy_selects_the_registry_which_is_read_through_the_api_servers_service_proxy(case):
    """``plan --refresh``, ``apply`` and ``promote`` read MLflow by default through the API server's service proxy
    (``state/mlflow_registry.py``): that connection comes from the API server, neither a pod of the namespace nor
    the pod's node, so a NetworkPolicy admitting only the namespace's pods drops it (projectcalico/canal#127,
    "kubectl-proxy doesn't work with netpols"). audit review45-a-1: b65048cc compiled such a policy (reverted)."""
    graph = graph_of(case)
    registries = [s for s in by_kind(graph, "Service") if s["metadata"]["name"] == "mlops-mlflow"]
    for service in registries:
        selecting = [p["metadata"]["name"] for p in by_kind(graph, "NetworkPolicy")
                     if matches(p["spec"]["podSelector"], service["spec"]["selector"])]
        assert selecting == [], f"{case}: {selecting} would drop the API server's proxied registry reads"
