"""Who may call what mlops-infra runs in the cluster: NetworkPolicies of the helpers that act on
requests (finding C5, audit secpost45-1) and the endpoints' visibility (audit secpost45-2).

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
- :func:`pushgateway_policy`: ``mlops-pushgateway`` (no authentication: ``prom/pushgateway`` runs
  without ``--web.config.file``) admits, on its port only, (a) this namespace's pods of the system's
  pushers, the drift monitors' CronJob pods (address label ``monitors.<name>``) and the rollout
  runner's (address ``platform``, which mlops-infra's other helper pods share), selected by the
  labels every compiled pod template carries (:func:`pusher_selector`); not the pods that run user
  code: KServe copies an InferenceService's labels to its predictor pods (address
  ``endpoints.<name>``) and training pods carry ``training_jobs.<name>``. (b) Pods labelled as
  prometheus-operator labels a Prometheus (``app.kubernetes.io/name: prometheus``,
  ``app.kubernetes.io/managed-by: prometheus-operator``: prometheus-operator
  ``pkg/prometheus/server/operator.go`` ``makeSelectorLabels`` l.1696-1704 and
  ``applicationNameLabelValue = "prometheus"`` l.61, the labels of every Prometheus pod) in any
  namespace, which scrape it through the ServiceMonitor. Its values drive the drift alerts that
  Alertmanager sends to the retrain trigger, so without it any pod could start GPU training (or
  hide drift) one hop before the trigger's own policy. The same Prometheus selection as the
  monitoring preflight's (:data:`PROMETHEUS_PODS`). The ServiceMonitor scrapes with
  ``honorLabels: true``, so a series pushed to ANY other honorLabels target that Prometheus scrapes
  can carry this namespace's labels: every compiled Pushgateway admits only its own namespace's
  pushers, and docs/compile-kubernetes.md section 4 says so.
- :func:`visibility_labels`: every InferenceService is cluster-local unless its endpoint says
  ``exposure: public``. KServe publishes an InferenceService on the cluster's external ingress
  gateway unless it is labelled so. In Serverless (Knative) mode, the only mode compiled here
  (``serving.py``), kserve
  ``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go`` ``createIngress``
  l.519 (``isvc.Labels[constants.VisibilityLabel] == constants.ClusterLocalVisibility`` ->
  ``isInternal``: no external host, no ``IngressGateway`` in the VirtualService's gateways, and no
  ``HTTPMatchRequest`` for it in ``createHTTPMatchRequest``), with ``VisibilityLabel =
  "networking.knative.dev/visibility"`` (``pkg/constants/constants.go`` l.358); KServe copies the
  label to the predictor's Knative Service but not into its revision template
  (``RevisionTemplateLabelDisallowedList``, constants.go l.545), so adding or removing it is an
  update of the InferenceService and its Route (cluster-local domain: knative/serving
  ``pkg/reconciler/route/domains/domains.go`` l.125), never a new revision. Raw (Standard) mode
  reads another label, ``networking.kserve.io/visibility`` (``NetworkVisibility``, constants.go
  l.187; ``kube_ingress_reconciler.go`` l.67, ``httproute_reconciler.go`` l.1110), which is NOT set:
  it is not on that disallowed list (``pkg/apis/serving/v1beta1/configmap.go`` l.247: the default
  ``ServiceLabelDisallowedList`` is exactly it), so in Serverless mode KServe would copy it into the
  revision template and adding it would roll a new revision of every endpoint, for a mode these
  InferenceServices never run in. Callers inside the cluster use the address KServe reports in
  ``status.address.url`` (``http://<name>.<namespace>.svc.cluster.local``).
- The MLflow registry has no policy, on purpose (audit review45-a-1): ``plan --refresh``, ``apply`` and ``promote``
  read it by default through the API server's service proxy (``mlops_infra.state.mlflow_registry``), whose
  connection comes from the API server, not from a pod of the namespace nor from the pod's node, so a policy
  admitting the namespace's pods would drop those reads (projectcalico/canal#127); admitting the API server needs
  the control plane's addresses, which the spec does not hold. docs/compile-kubernetes.md section 4 says so.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import names
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.spec.serving import Endpoint

API = "networking.k8s.io/v1"
ALERTMANAGER_PODS = {"app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "alertmanager"}
PROMETHEUS_PODS = {"app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "prometheus"}
KNATIVE_VISIBILITY = "networking.knative.dev/visibility"
CLUSTER_LOCAL = "cluster-local"
PUBLIC = "public"
"""``endpoints[].exposure`` that publishes an endpoint on the external gateway."""
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"


def _policy(kube: KubeTarget, name: str, app: str, port: int, *sources: dict[str, Any]) -> dict[str, Any]:
    return kube.obj(API, "NetworkPolicy", name, "platform", {"spec": {
        "podSelector": {"matchLabels": lbl.selector(kube.ctx, app)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": list(sources), "ports": [{"port": port, "protocol": "TCP"}]}],
    }})


def trigger_policy(kube: KubeTarget) -> dict[str, Any]:
    """Only Alertmanager pods reach the retrain trigger (see the module contract)."""
    return _policy(kube, names.RETRAIN_TRIGGER, "retrain-trigger", names.TRIGGER_PORT,
                   {"namespaceSelector": {}, "podSelector": {"matchLabels": dict(ALERTMANAGER_PODS)}})


def capture_policy(kube: KubeTarget) -> dict[str, Any]:
    """Only this namespace's InferenceService pods reach the capture sink (see the module contract)."""
    return _policy(kube, names.CAPTURE, "capture", names.CAPTURE_PORT,
                   {"podSelector": {"matchExpressions": [{"key": ISVC_POD_LABEL, "operator": "Exists"}]}})


ROLLOUT_RUNNER_ADDRESS = "platform"
"""The address label of the rollout runner's pods (``rollout_runner.ADDRESS``, which imports
``serving``, which imports this module: named here, pinned equal by a test)."""


def pusher_selector(kube: KubeTarget) -> dict[str, Any]:
    """The pods of this namespace that push to the Pushgateway: the system's monitors (drift jobs)
    and the rollout runner, by the labels :func:`labels.labels <mlops_infra.compile.kubernetes.labels.labels>`
    gives their pod templates (the system, mlops-infra, the address)."""
    addresses = sorted({lbl.label_value(f"monitors.{m.name}") for m in kube.ctx.system.monitors}
                       | {lbl.label_value(ROLLOUT_RUNNER_ADDRESS)})
    return {"podSelector": {
        "matchExpressions": [{"key": lbl.ADDRESS, "operator": "In", "values": addresses}],
        "matchLabels": {lbl.MANAGED_BY: "mlops-infra", lbl.PART_OF: lbl.label_value(kube.ctx.system.metadata.name)}}}


def pushgateway_policy(kube: KubeTarget) -> dict[str, Any]:
    """Only this system's pushers and Prometheus pods reach the Pushgateway (see the module contract)."""
    return _policy(kube, names.PUSHGATEWAY, "pushgateway", names.PUSHGATEWAY_PORT, pusher_selector(kube),
                   {"namespaceSelector": {}, "podSelector": {"matchLabels": dict(PROMETHEUS_PODS)}})


def visibility_labels(endpoint: Endpoint) -> dict[str, str]:
    """The InferenceService labels that keep ``endpoint`` off the external gateway (none for
    ``exposure: public``; see the module contract)."""
    if endpoint.exposure == PUBLIC:
        return {}
    return {KNATIVE_VISIBILITY: CLUSTER_LOCAL}
