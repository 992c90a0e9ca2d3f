"""Whether the Prometheus that loads a graph's monitors can reach them, and the rollout runner it (audit k8srbac-3).

``plan --refresh`` already says which Prometheus loads the graph's ServiceMonitors, PodMonitors and
PrometheusRules (:mod:`mlops_infra.plan.monitoring_selectors`); being selected is not being scraped or queried.

**Discovery rights.** prometheus-operator turns a ServiceMonitor (PodMonitor) into a ``kubernetes_sd_config`` of
role ``endpoints`` (``pod``) limited to the monitor's namespace; a Prometheus with ``spec.serviceDiscoveryRole:
EndpointSlice`` uses role ``endpointslice`` for ServiceMonitors (prometheus-operator
``pkg/apis/monitoring/v1/prometheus_types.go`` ``serviceDiscoveryRole``: "If unset, the operator assumes the
'Endpoints' role"). Prometheus then lists and watches, per namespace, with its pod's ServiceAccount: role
``endpoints`` Endpoints, Services and Pods; ``endpointslice`` EndpointSlices (``discovery.k8s.io``), Services and
Pods; ``pod`` Pods (prometheus ``discovery/kubernetes/kubernetes.go`` ``Discovery.Run``: one ``cache.ListWatch``
each). "The Prometheus server itself accesses the Kubernetes API to discover targets ... it simply requires the
``get``, ``list``, and ``watch`` actions" (prometheus-operator ``Documentation/platform/rbac.md``, "Prometheus
RBAC"), and none is given by the operator: kube-prometheus' Prometheus ``k8s`` (ServiceAccount
``prometheus-k8s``) selects every namespace's monitors but gets Roles in ``default``, ``kube-system`` and
``monitoring`` only (kube-prometheus ``manifests/prometheus-roleSpecificNamespaces.yaml``,
``prometheus-roleBindingSpecificNamespaces.yaml``; its ``docs/customizations/monitoring-additional-namespaces.md``:
"In order to monitor additional namespaces, the Prometheus server requires the appropriate Role and RoleBinding").
Without them the lists are refused and the targets never appear: the monitors read no data, the alerts never fire
and a canary's gates see nothing. The pod's ServiceAccount is ``spec.serviceAccountName``
(``pkg/prometheus/server/statefulset.go``: ``ServiceAccountName: cpf.ServiceAccountName``), unset: ``default``
(the ServiceAccount admission plugin's default). This module asks the API server, with one
LocalSubjectAccessReview per verb and resource (:mod:`mlops_infra.kube.access_review`), rather than reading Roles,
as the ServiceAccount with the groups its token carries (``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
``system:authenticated``: that module, "Groups"), so a right bound to one of those groups counts (audit closing-45b-3).

**The rollout runner's queries.** The runner (``compile/kubernetes/rollout_runner.py``) queries the Prometheus
that evaluates the rollout's rules on port 9090 (``PROMETHEUS_URL``: Service ``prometheus-operated``, whose
target is the ``prometheus`` container's port named ``spec.portName``, default ``web``, number 9090:
``pkg/prometheus/common.go`` ``MakeContainerPorts``). A NetworkPolicy drops it when one selects that Prometheus'
pods with ``Ingress`` in its ``policyTypes`` (absent: always ``Ingress``) and no ingress rule of any policy
selecting them admits the runner's pod on that port ("Network Policies", kubernetes.io; networking/v1
``NetworkPolicySpec.ingress``: "Traffic is allowed to a pod if there are no NetworkPolicies selecting the pod ...
OR if the traffic matches at least one ingress rule across all of the NetworkPolicy objects whose podSelector
matches the pod"). A rule with no ``from`` admits every source, no ``ports`` every port; a peer with only
``podSelector`` selects pods of the policy's own namespace, only ``namespaceSelector`` every pod of the matching
namespaces, both: pods matching both; a port is a number (or a range up to ``endPort``) or a named container
port, protocol TCP by default (``NetworkPolicyPeer``, ``NetworkPolicyPort``). kube-prometheus ships one that
admits only its own Prometheus, Grafana and adapter pods (``manifests/prometheus-networkPolicy.yaml``: ingress
``from: [podSelector: {app.kubernetes.io/name: prometheus}]`` on 9090 and 8080), so every gate reads
``unreadable`` and every gated rollout rolls back (docs/rollout.md). The Prometheus pods carry
``spec.podMetadata.labels`` and, over them, ``app.kubernetes.io/managed-by: prometheus-operator``,
``app.kubernetes.io/name: prometheus``, ``app.kubernetes.io/instance``, ``operator.prometheus.io/name`` and
``prometheus`` (the object's name) and ``operator.prometheus.io/shard`` (``pkg/prometheus/server/operator.go``
``makeSelectorLabels``, ``statefulset.go``; ``app.kubernetes.io/version`` is not modelled). An ``ipBlock`` peer is
not judged (pod addresses are not known before the apply): such a policy makes the check ``unknown``.

Contract of :func:`prometheus_access_checks`, given the cluster's Prometheus objects as ``plan --refresh``'s
monitoring selector check read them (``cli/commands/plan.py`` ``monitoring_selector_preflight``: one list for both;
not listed, or no Prometheus type: nothing here, that check or the CRD preflight says so): nothing when the graph
has no ServiceMonitor, PodMonitor or rollout runner; else one ``(Prerequisite, state, detail)`` per
Prometheus that loads some of the graph's ServiceMonitors/PodMonitors and lacks a discovery right in their
namespace (state ``refused``: the detail names what is refused; the Prerequisite's ``enable`` is the Role and
RoleBinding to apply), or ``unknown`` when the review was refused; and one per Prometheus that loads the graph's
PrometheusRules while the graph has a rollout runner whose queries its NetworkPolicies drop (``refused``; fix:
the ingress rule to add), or ``unknown`` when those policies cannot be listed or hold an ``ipBlock`` peer.
Requests: LocalSubjectAccessReviews (which store nothing), and a list of the NetworkPolicies of each such
Prometheus' namespace. A warning, not a compiled fix: the Prometheus and its ServiceAccount are the
monitoring team's (another namespace, a name the spec does not hold), and binding it needs the applier to hold
every right it grants (RBAC escalation prevention) — the warning hands over the exact YAML instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.compile.kubernetes.ingress import PROMETHEUS_PODS
from mlops_infra.compile.kubernetes.monitoring_selection import (
    BY_KIND,
    Monitored,
    matches,
    monitoring_objects,
    namespace_labels,
    verdict,
    where,
)
from mlops_infra.compile.kubernetes.prerequisites import Check, Prerequisite
from mlops_infra.kube.access_review import Access, service_account_groups, service_account_user, subject_may
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError, KubeUnreachable
from mlops_infra.kube.preflight import Result
from mlops_infra.kube.resources import resource_type

NETWORK_POLICY = resource_type("networking.k8s.io/v1", "NetworkPolicy")
RUNNER = "mlops-rollout-runner"
"""The rollout runner's CronJob (``compile/kubernetes/rollout_runner.py`` ``NAME``)."""
WEB_PORT = 9090
RBAC = "rbac.authorization.k8s.io/v1"
SOURCE = ("prometheus discovery/kubernetes/kubernetes.go; prometheus-operator Documentation/platform/rbac.md; "
          "kube-prometheus manifests/prometheus-roleSpecificNamespaces.yaml, prometheus-networkPolicy.yaml; "
          "kubernetes.io Network Policies")
DISCOVERY = {"endpoints": (("", "endpoints"), ("", "services"), ("", "pods")),
             "endpointslice": (("discovery.k8s.io", "endpointslices"), ("", "services"), ("", "pods")),
             "pod": (("", "pods"),)}
"""What each ``kubernetes_sd_config`` role lists and watches, as (API group, resource)."""
VERBS = ("list", "watch")


def _role(kind: str, prometheus: Mapping[str, Any]) -> str:
    if kind == "PodMonitor":
        return "pod"
    return "endpointslice" if (prometheus.get("spec") or {}).get("serviceDiscoveryRole") == "EndpointSlice" else "endpoints"


def service_account(prometheus: Mapping[str, Any]) -> str:
    """The ServiceAccount a Prometheus' pods run as (module docstring)."""
    return str((prometheus.get("spec") or {}).get("serviceAccountName") or "default")


def pod_labels(prometheus: Mapping[str, Any]) -> dict[str, str]:
    """The labels of a Prometheus' (first shard's) pods (module docstring)."""
    _, name = where(prometheus)
    labels = {str(k): str(v) for k, v in (((prometheus.get("spec") or {}).get("podMetadata") or {})
                                          .get("labels") or {}).items()}
    return labels | PROMETHEUS_PODS | {"app.kubernetes.io/instance": name, "operator.prometheus.io/name": name,
                                       "prometheus": name, "operator.prometheus.io/shard": "0"}


def _loaders(objects: Sequence[Monitored], prometheuses: Sequence[Mapping[str, Any]],
             labels: Mapping[str, Mapping[str, str]]) -> list[tuple[Mapping[str, Any], list[Monitored]]]:
    """Each Prometheus with the objects of ``objects`` it loads (sorted by namespace/name)."""
    out = []
    for prometheus in sorted(prometheuses, key=where):
        loaded = [o for o in objects
                  if verdict(BY_KIND[o.kind], prometheus, o, labels.get(o.namespace) or {}).selects]
        if loaded:
            out.append((prometheus, loaded))
    return out


# -- discovery rights ------------------------------------------------------------------------------------------


def role_yaml(prometheus: Mapping[str, Any], namespace: str, needed: Sequence[tuple[str, str]]) -> str:
    """A ``List`` of the Role and RoleBinding that let ``prometheus`` discover targets in ``namespace``, as one line
    of flow-style YAML that ``kubectl apply -f`` takes."""
    ns, name = where(prometheus)
    role = f"prometheus-{name}-discovery"
    meta = f"metadata: {{name: {role}, namespace: {namespace}}}"
    rules = ", ".join(f"{{apiGroups: [\"{g}\"], resources: [{', '.join(sorted(r for gg, r in needed if gg == g))}], "
                      "verbs: [get, list, watch]}" for g in sorted({g for g, _ in needed}))
    return (f"{{apiVersion: v1, kind: List, items: [{{apiVersion: {RBAC}, kind: Role, {meta}, rules: [{rules}]}}, "
            f"{{apiVersion: {RBAC}, kind: RoleBinding, {meta}, roleRef: {{apiGroup: rbac.authorization.k8s.io, "
            f"kind: Role, name: {role}}}, subjects: [{{kind: ServiceAccount, name: {service_account(prometheus)}, "
            f"namespace: {ns}}}]}}]}}")


def _discovery_check(kube: KubeClient, prometheus: Mapping[str, Any], loaded: Sequence[Monitored]
                     ) -> list[tuple[Prerequisite, str, str]]:
    ns, name = where(prometheus)
    account = service_account(prometheus)
    out = []
    for namespace in sorted({o.namespace for o in loaded}):
        here = [o for o in loaded if o.namespace == namespace]
        needed = sorted({gr for o in here for gr in DISCOVERY[_role(o.kind, prometheus)]})
        monitors = ", ".join(f"{o.kind} {o.name}" for o in sorted(here, key=lambda o: (o.kind, o.name)))
        p = Prerequisite(f"target discovery of Prometheus {ns}/{name} in namespace {namespace}",
                         tuple(sorted({o.address for o in here})), Check(),
                         f"apply this Role and RoleBinding (kubectl apply -f): {role_yaml(prometheus, namespace, needed)}",
                         SOURCE)
        try:
            refused = [a for a in (Access(verb, group, resource, namespace) for group, resource in needed for verb in VERBS)
                       if not subject_may(kube, service_account_user(ns, account), a, service_account_groups(ns))]
        except KubeUnreachable:
            raise
        except KubeError as exc:
            out.append((p, "unknown", f"asking whether ServiceAccount {ns}/{account} may list and watch "
                                      f"{', '.join(r for _, r in needed)} in {namespace} was refused or failed "
                                      f"({exc.summary}); a LocalSubjectAccessReview needs create on "
                                      "localsubjectaccessreviews (apiGroups [\"authorization.k8s.io\"]), which the "
                                      "admin role has"))
            continue
        if refused:
            out.append((p, "refused", (
                f"Prometheus {ns}/{name} loads {monitors} of namespace {namespace}, but its ServiceAccount {ns}/{account} "
                f"may not {', '.join(a.verb + ' ' + a.resource for a in refused)} there (LocalSubjectAccessReview), so "
                "Prometheus cannot discover these targets: they are never scraped, the monitors and alerts over "
                "their metrics see no data and a canary's gates never fire.")))
    return out


# -- the runner's queries --------------------------------------------------------------------------------------


def _runner_labels(graph: Any) -> tuple[str, dict[str, str]] | None:
    """(namespace, pod labels) of the graph's rollout runner, None without one."""
    for r in graph.resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "CronJob" and meta.get("name") == RUNNER:
            template = (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
            return (str(meta.get("namespace") or graph.metadata.get("namespace")),
                    dict((template.get("metadata") or {}).get("labels") or {}))
    return None


def _selects_ingress(policy: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    spec = policy.get("spec") or {}
    return "Ingress" in (spec.get("policyTypes") or ["Ingress"]) and matches(spec.get("podSelector") or {}, labels)


def _port_admits(ports: Any, port_name: str) -> bool:
    if not ports:
        return True
    for port in ports:
        if str(port.get("protocol") or "TCP") != "TCP":
            continue
        number, end = port.get("port"), port.get("endPort")
        if number is None or number in (port_name, WEB_PORT) or (
                isinstance(number, int) and isinstance(end, int) and number <= WEB_PORT <= end):
            return True
    return False


def _peer_admits(peer: Mapping[str, Any], policy_ns: str, runner_ns: str, runner: Mapping[str, str],
                 ns_labels: Mapping[str, str]) -> bool | None:
    """Whether one ``from`` peer admits the runner's pod; None for an ``ipBlock`` (not judged)."""
    if "ipBlock" in peer:
        return None
    ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    in_namespace = matches(ns_selector, ns_labels) if ns_selector is not None else runner_ns == policy_ns
    return in_namespace and (pod_selector is None or matches(pod_selector, runner))


def _admits(policies: Sequence[Mapping[str, Any]], port_name: str, runner_ns: str, runner: Mapping[str, str],
            ns_labels: Mapping[str, str]) -> bool | None:
    """Whether some ingress rule of ``policies`` admits the runner; None when only an ``ipBlock`` might."""
    unsure = False
    for policy in policies:
        policy_ns, _ = where(policy)
        for rule in (policy.get("spec") or {}).get("ingress") or []:
            if not _port_admits(rule.get("ports"), port_name):
                continue
            peers = rule.get("from")
            if not peers:
                return True
            verdicts = [_peer_admits(peer, policy_ns, runner_ns, runner, ns_labels) for peer in peers]
            if any(v is True for v in verdicts):
                return True
            unsure = unsure or any(v is None for v in verdicts)
    return None if unsure else False


def ingress_rule(runner_ns: str, port_name: str) -> str:
    """The ingress rule (flow-style YAML) that admits the rollout runner's pods."""
    return (f"{{from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {runner_ns}}}}}, "
            f"podSelector: {{matchLabels: {{mlops-infra/address: platform}}}}}}], ports: [{{port: {port_name}, "
            "protocol: TCP}]}")


def _network_check(kube: KubeClient, prometheus: Mapping[str, Any], runner_ns: str, runner: Mapping[str, str],
                   ns_labels: Mapping[str, str]) -> tuple[Prerequisite, str, str] | None:
    ns, name = where(prometheus)
    port_name = str((prometheus.get("spec") or {}).get("portName") or "web")
    p = Prerequisite(f"network access from the rollout runner to Prometheus {ns}/{name}", ("rollouts",), Check(),
                     f"add this ingress rule to each NetworkPolicy named above (or a NetworkPolicy in {ns} with that "
                     f"podSelector and only this rule): {ingress_rule(runner_ns, port_name)}", SOURCE)
    try:
        policies = kube.list(NETWORK_POLICY, ns)
    except KubeUnreachable:
        raise
    except KubeError as exc:
        return p, "unknown", (f"listing the NetworkPolicies of namespace {ns} ({exc.summary}; needs list networkpolicies "
                              f"(apiGroups [\"networking.k8s.io\"]) in {ns}): whether one drops the rollout runner's "
                              f"queries to Prometheus {ns}/{name} was not checked")
    selecting = [q for q in policies if _selects_ingress(q, pod_labels(prometheus))]
    if not selecting:
        return None
    admitted = _admits(selecting, port_name, runner_ns, runner, ns_labels)
    names = ", ".join(f"{ns}/{where(q)[1]}" for q in selecting)
    if admitted is True:
        return None
    if admitted is None:
        return p, "unknown", (f"NetworkPolicy {names} selects the pods of Prometheus {ns}/{name} and admits some "
                              "sources by ipBlock only, which is not judged: the rollout runner's queries may be dropped")
    return p, "refused", (
        f"NetworkPolicy {names} selects the pods of Prometheus {ns}/{name}, which evaluates this system's rollout "
        f"rules, and admits no pod of namespace {runner_ns} on port {WEB_PORT} ({port_name}): on a cluster that "
        "enforces NetworkPolicies the rollout runner's queries are dropped, every gate reads unreadable and every "
        "gated rollout holds and then rolls back.")


def prometheus_access_checks(kube: KubeClient, graph: Any, prometheuses: Sequence[Mapping[str, Any]],
                             labels: Mapping[str, Mapping[str, str]]) -> list[tuple[Prerequisite, str, str]]:
    """The discovery rights and network access of the Prometheus that loads the graph's monitors (module contract).
    ``prometheuses``: the cluster's Prometheus objects as read (:func:`mlops_infra.kube.monitoring_stack.read_owners`,
    the list the monitoring selector check judges); ``labels``: per namespace, the labels it carries after the apply
    (:func:`~mlops_infra.compile.kubernetes.monitoring_selection.namespace_labels`; a namespace not given: the
    graph's labels only)."""
    objects = monitoring_objects(graph)
    scraped = [o for o in objects if o.kind in ("ServiceMonitor", "PodMonitor")]
    runner = _runner_labels(graph)
    rules = [o for o in objects if o.kind == "PrometheusRule"] if runner else []
    if not scraped and not rules:
        return []
    wanted = {o.namespace for o in objects} | ({runner[0]} if runner else set())
    labels = {n: labels.get(n) or namespace_labels(graph, n, None) for n in sorted(wanted)}
    out: list[tuple[Prerequisite, str, str]] = []
    for prometheus, loaded in _loaders(scraped, prometheuses, labels):
        out += _discovery_check(kube, prometheus, loaded)
    if runner:
        for prometheus, _ in _loaders(rules, prometheuses, labels):
            found = _network_check(kube, prometheus, runner[0], runner[1], labels[runner[0]])
            if found is not None:
                out.append(found)
    return out


def access_warnings(kube: KubeClient, graph: Any, prometheuses: Sequence[Mapping[str, Any]],
                    labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The plan warnings of :func:`prometheus_access_checks`, worded as the cluster preflight's
    (:meth:`mlops_infra.kube.preflight.Result.warning`)."""
    return [w for w in (Result(*check).warning() for check in prometheus_access_checks(kube, graph, prometheuses, labels))
            if w]
