"""Who may call the in-cluster helpers that act on requests (finding C5): NetworkPolicies.

The retrain trigger starts GPU training for any accepted POST, and the capture sink writes whatever
it is sent into the capture bucket that drift monitors read. Both are ClusterIP Services, reachable
from every pod of the cluster unless a NetworkPolicy selects them: "By default, a pod is
non-isolated for ingress; all inbound connections are allowed. A pod is isolated for ingress if
there is any NetworkPolicy that both selects the pod and has Ingress in its policyTypes"
(Kubernetes, "Network Policies", https://kubernetes.io/docs/concepts/services-networking/network-policies/).
The same page: traffic from the pod's own node (kubelet probes) is always allowed. Enforcing
policies needs a network plugin that implements them (docs/compile-kubernetes.md section 4).

Contract:
- :func:`trigger_policy`: ``mlops-retrain-trigger`` admits, on the trigger's port only, pods
  labelled as prometheus-operator labels an Alertmanager (``app.kubernetes.io/name: alertmanager``,
  ``app.kubernetes.io/managed-by: prometheus-operator``: prometheus-operator
  ``pkg/alertmanager/statefulset.go``, ``makeSelectorLabels``) in any namespace. The trigger also
  requires a bearer token from the Secret ``mlops-retrain-trigger-token`` (``scripts/launcher.py``),
  which the AlertmanagerConfig sends (``routing.retrain_route``), so a pod that copies those labels
  still cannot start a run.
- :func:`capture_policy`: ``mlops-capture`` admits, on the sink's port only, the pods of this
  namespace's InferenceServices (KServe labels every predictor pod
  ``serving.kserve.io/inferenceservice: <name>``: kserve ``pkg/constants/constants.go``,
  ``InferenceServicePodLabelKey``), whose KServe agent posts the logged requests. KServe's logger
  sends no credentials, so the policy is the sink's only gate.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import names
from mlops_infra.compile.kubernetes.objects import KubeTarget

API = "networking.k8s.io/v1"
ALERTMANAGER_PODS = {"app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "alertmanager"}
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"


def _policy(kube: KubeTarget, name: str, app: str, port: int, source: dict[str, Any]) -> dict[str, Any]:
    return kube.obj(API, "NetworkPolicy", name, "platform", {"spec": {
        "podSelector": {"matchLabels": lbl.selector(kube.ctx, app)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [source], "ports": [{"port": port, "protocol": "TCP"}]}],
    }})


def trigger_policy(kube: KubeTarget) -> dict[str, Any]:
    """Only Alertmanager pods reach the retrain trigger (see the module contract)."""
    return _policy(kube, names.RETRAIN_TRIGGER, "retrain-trigger", names.TRIGGER_PORT,
                   {"namespaceSelector": {}, "podSelector": {"matchLabels": dict(ALERTMANAGER_PODS)}})


def capture_policy(kube: KubeTarget) -> dict[str, Any]:
    """Only this namespace's InferenceService pods reach the capture sink (see the module contract)."""
    return _policy(kube, names.CAPTURE, "capture", names.CAPTURE_PORT,
                   {"podSelector": {"matchExpressions": [{"key": ISVC_POD_LABEL, "operator": "Exists"}]}})
