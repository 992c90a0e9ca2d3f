"""What a compiled Kubernetes graph needs the cluster to provide (finding A5), derived from the graph.

The objects the compiler emits are accepted only when the cluster has the controllers and CRDs
behind them; one of them is accepted but never works without a feature flag. This module lists, for
one graph, each prerequisite it needs, which ML items need it, how to check it on a live cluster and
how to enable it. ``docs/compile-kubernetes.md`` section 4 is the human list of the same things;
:mod:`mlops_infra.kube.preflight` runs the checks (``plan --refresh`` on a Kubernetes target).

Rules (each with its source):

- **An InferenceService needs KServe** (CRD ``inferenceservices.serving.kserve.io``), and in
  Serverless mode (``Knative`` from KServe 0.16), the mode in which KServe splits canary traffic,
  **Knative Serving** (CRD ``services.serving.knative.dev``): KServe "Serverless installation"
  (https://kserve.github.io/website/docs/admin-guide/serverless). The compiler writes no
  ``serving.kserve.io/deploymentMode`` annotation (``serving.py``'s contract, audit kubevers-3), so
  an InferenceService gets KServe's default mode: **KServe's default deployment mode must be
  Serverless or Knative**: key ``deploy`` of ConfigMap ``kserve/inferenceservice-config``, a JSON
  object whose ``defaultDeploymentMode`` KServe reads at each create (kserve v0.16.0
  ``pkg/apis/serving/v1beta1/configmap.go`` ``NewDeployConfig``, compared exactly:
  ``Serverless`` is converted to ``Knative``, then anything but ``Knative``, ``Standard`` and
  ``ModelMesh`` is "invalid deployment mode"; ``utils.go`` ``GetDeploymentMode``). A ``Standard``
  (``RawDeployment``) default would make every endpoint a plain Deployment, which splits no traffic.
  An InferenceService annotated with a mode itself counts as Serverless when the annotation is
  ``Serverless`` or ``Knative``.
- **KServe 0.16.x refuses every update and delete of an InferenceService still annotated with a
  legacy mode** (``Serverless``, written by mlops-infra releases before audit kubevers-3, or
  ``RawDeployment``): v0.16.0 ``pkg/apis/serving/v1beta1/inference_service_validation.go``
  ``validateDeploymentMode`` compares the annotation with the status' normalized mode (``Knative``):
  "update rejected: deploymentMode cannot be changed from 'Knative' to 'Serverless'"; the
  controller's finalizer removal is an update too, so a delete stays Terminating (kserve#4798,
  #5885). An update that removes the annotation passes (``if ok && ...``), which the next apply
  does, except for an endpoint that apply deletes. 0.17 normalizes the annotation in its defaulting
  webhook before validation (v0.17.0 ``inference_service_defaults.go``), and 0.15 knows no other
  spelling. The check (:attr:`Check.kserve_release`) reads the release from the image tag of the
  container named ``manager`` of Deployment ``kserve/kserve-controller-manager`` (``config/manager/manager.yaml``
  and the Helm chart both name it so; the chart's ``charts/kserve-resources/templates/deployment.yaml`` lists
  ``kube-rbac-proxy``, ``quay.io/brancz/kube-rbac-proxy:v0.18.0``, first, then ``manager`` with
  ``kserve.controller.image``/``tag``: ``kserve/kserve-controller:v0.16.0``; audit closing-43a-4), else of the
  container whose image repository is ``kserve-controller``, and, on 0.16.x, lists the InferenceServices of the
  graph's namespaces for a legacy annotation.
- **nodeSelector, tolerations and affinity in an InferenceService's pod spec need Knative's feature
  flags** ``kubernetes.podspec-nodeselector``, ``kubernetes.podspec-tolerations`` and
  ``kubernetes.podspec-affinity`` in ConfigMap ``knative-serving/config-features``. KServe,
  "InferenceService Node Scheduling" (https://kserve.github.io/website/docs/model-serving/node-scheduling/isvc-node-scheduling):
  "For serverless deployment mode, you must enable the Knative flags to support node scheduling
  features". knative/serving ``pkg/apis/config/features.go``: all three default to ``Disabled``; a
  value is one of ``Enabled``, ``Allowed``, ``Disabled``, compared case-insensitively (``asFlag``),
  and an unknown value leaves the default. The field is dropped or refused unless the flag is not
  ``Disabled`` (``pkg/apis/serving/fieldmask.go``), so the Knative Service is refused and the
  InferenceService never becomes Ready.
- **Kueue objects need Kueue** (CRDs ``clusterqueues``, ``localqueues``, ``resourceflavors`` in
  ``kueue.x-k8s.io``); **a training job needs the Kubeflow training operator** (CRD
  ``pytorchjobs.kubeflow.org``: the launcher creates PyTorchJobs from the ConfigMap template).
- **A training job needs Kueue's ``kubeflow.org/pytorchjob`` integration**, which Kueue 0.19 ships
  *disabled*: kubernetes-sigs/kueue v0.19.2 ``config/components/manager/controller_manager_config.yaml``
  line 54 and ``charts/kueue/values.yaml`` line 174 comment ``"kubeflow.org/pytorchjob"`` out of
  ``integrations.frameworks`` (commit 6cdcd3828d, PR #12606, first in v0.19.0), and for a framework not
  enabled ``pkg/controller/jobframework/setup.go`` (lines 108-110) installs a noop webhook. Then no run is
  suspended at create (``jobframework/defaults.go`` ``ApplyDefaultForSuspend``, which with the
  integration on suspends every job naming a queue: ``utils.go`` ``WorkloadShouldBeSuspended``), no
  Workload is made, and every run starts at once outside every quota (audit k8strain-2). The CRDs
  cannot tell: the check is a server-side dry run of a create of one compiled run template in its
  namespace (``POST .../pytorchjobs?dryRun=All``: the mutating admission chain runs, nothing is stored;
  Kubernetes API concepts, "Dry-run"), whose answer must carry ``spec.runPolicy.suspend: true``
  (:attr:`Check.dry_run_create`).
- **PrometheusRule, ServiceMonitor, PodMonitor and AlertmanagerConfig need the Prometheus operator**
  (CRDs in ``monitoring.coreos.com``).
- **A field the graph sets must be in the served version's schema** (:attr:`Check.fields`): a
  PrometheusRule whose rules set ``keep_firing_for`` needs the CRD of prometheus-operator 0.66 or later
  (its CHANGELOG, 0.66.0: "Support ``keep_firing_for`` fields for ``PrometheusRule`` CRD. #5651"; the
  v0.65.0 ``example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml`` has no such
  property), although every release serves ``v1``. On an older CRD the API server prunes the unknown
  field at create (a custom resource's structural schema: "Field pruning", Kubernetes "Extend the Kubernetes
  API with CustomResourceDefinitions"), and pulumi-kubernetes' later server-side apply updates are
  refused: the applied object is converted with the schema first (kubernetes/apimachinery
  ``pkg/util/managedfields/internal/structuredmerge.go``: "failed to create typed patch object ...
  field not declared in schema"). A path segment ending in ``[]`` is an array's ``items``; a schema node
  with ``x-kubernetes-preserve-unknown-fields: true`` keeps any field below it.
- **A CRD must serve the version the graph's objects are written in**: an object is accepted only in a
  version its CRD lists with ``served: true`` (apiextensions ``CustomResourceDefinitionVersion.served``:
  "a flag enabling/disabling this version from being served via REST APIs"); in any other version
  pulumi-kubernetes' create fails with a "no match" error (provider ``pkg/provider/provider.go``
  ``Create``: ``meta.IsNoMatchError``), although the CRD exists. The compiled Kueue objects are
  ``kueue.x-k8s.io/v1beta2`` (:mod:`queues`), which Kueue serves from v0.15.0 (its
  ``config/components/crd/bases/kueue.x-k8s.io_clusterqueues.yaml``: v0.14.0 lists ``v1beta1`` only),
  so a cluster running Kueue 0.14 or older has the CRDs and still refuses them. Each CRD check
  therefore carries the versions the graph uses (:attr:`Check.versions`: from the objects' types, and
  ``kubeflow.org/v1`` for the PyTorchJobs the launcher creates, :data:`training.PYTORCHJOB_API`).
- **A PersistentVolumeClaim without ``storageClassName`` needs a default StorageClass** (the
  registry's and the Pushgateway's claims name none). Kubernetes "Persistent Volumes", "Class": with
  the ``DefaultStorageClass`` admission plugin on, "All PVCs that have no ``storageClassName`` can be
  bound only to PVs of that default", set by "the annotation
  ``storageclass.kubernetes.io/is-default-class`` equal to ``true``"; without a default the claim
  stays unbound (Pending) until one exists, so the pod mounting it never starts. kubernetes
  ``pkg/apis/storage/util/helpers.go`` ``IsDefaultAnnotation`` also takes the beta annotation
  ``storageclass.beta.kubernetes.io/is-default-class``; both must be exactly ``"true"``.

Contract of :func:`cluster_prerequisites`: pure and deterministic; one :class:`Prerequisite` per
distinct check, in a fixed order (KServe, KServe's default mode, KServe's release, Knative, flags, Kueue, training operator, Kueue's PyTorchJob
integration, Prometheus operator, default StorageClass), each naming the ML items (addresses) that need it, sorted. A graph that needs none
returns ``()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mlops_infra.compile.kubernetes.training import PYTORCHJOB_API, TEMPLATE_KEY
from mlops_infra.graph import DesiredGraph, canonical_json

FEATURES_NAMESPACE, FEATURES_CONFIGMAP = "knative-serving", "config-features"
FLAG_ACCEPTED = ("enabled", "allowed")
"""Values of a Knative feature flag that let the field through (knative/serving features.go: not Disabled)."""
NODE_SCHEDULING_DOC = "https://kserve.github.io/website/docs/model-serving/node-scheduling/isvc-node-scheduling"
KNATIVE_FEATURES_SOURCE = "knative/serving pkg/apis/config/features.go"


@dataclass(frozen=True, slots=True)
class Check:
    """How to verify one prerequisite: a CRD exists (``crd`` set) and serves each of ``versions``, a ConfigMap key holds one of
    ``accepted`` (case-insensitive; a missing key means the default, which is not accepted),
    (``default_storage_class``) some StorageClass is annotated the cluster's default, or
    (``dry_run_create``: an object's canonical JSON) a dry-run create of that object comes back with
    ``spec.runPolicy.suspend: true`` (Kueue suspended it: the module's rules). With ``json_field`` the
    ConfigMap key holds a JSON object and that field of it is compared with ``accepted`` exactly.
    ``fields``: ``(path, since)`` pairs, each a dotted path (``[]``: an array's items) that the CRD's
    schema must declare in each of ``versions``, ``since`` naming the release that added it.
    ``kserve_release``: ``(namespace, deployment)`` of KServe's controller, whose image tag is read, and
    on 0.16.x the InferenceServices of ``namespaces`` are listed (the module's rules)."""

    crd: str | None = None
    versions: tuple[str, ...] = ()
    configmap: tuple[str, str] | None = None
    key: str | None = None
    accepted: tuple[str, ...] = ()
    json_field: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    kserve_release: tuple[str, str] | None = None
    namespaces: tuple[str, ...] = ()
    default_storage_class: bool = False
    dry_run_create: str | None = None


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """One thing the cluster must provide: what, for which ML items, how to check, how to enable, and the source."""

    name: str
    needed_by: tuple[str, ...]
    check: Check
    enable: str
    source: str


def _crd(name: str, versions: Iterable[str] = ()) -> Check:
    return Check(crd=name, versions=tuple(sorted(set(versions))))


def _version(res: Any) -> str:
    """The API version of a custom resource's type (``kubernetes:<group>/<version>:<Kind>``)."""
    return res.type.rpartition(":")[0].rpartition("/")[2]


def _flag(key: str) -> Check:
    return Check(configmap=(FEATURES_NAMESPACE, FEATURES_CONFIGMAP), key=key, accepted=FLAG_ACCEPTED)


def _enable_flag(key: str) -> str:
    return (f"kubectl -n {FEATURES_NAMESPACE} patch configmap {FEATURES_CONFIGMAP} --type merge "
            f"-p '{{\"data\":{{\"{key}\":\"enabled\"}}}}' (with the Knative operator: KnativeServing "
            f"spec.config.features.{key}: enabled)")


KSERVE = ("KServe (InferenceService CRD)", _crd("inferenceservices.serving.kserve.io"),
          "install KServe (0.15 to 0.20) in Serverless mode: https://kserve.github.io/website/docs/admin-guide/serverless",
          "https://kserve.github.io/website/docs/admin-guide/serverless")
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
SERVERLESS_MODES = ("Serverless", "Knative")
"""The spellings of KServe's Serverless mode (``Knative`` from 0.16, ``Serverless`` its deprecated alias: kserve
v0.16.0 ``pkg/constants/constants.go``)."""


def serverless(obj: Mapping[str, Any]) -> bool:
    """Whether an InferenceService object runs in Serverless mode: no :data:`DEPLOYMENT_MODE` annotation (the compiled
    default, no annotation since 5b2de31b) or either spelling of :data:`SERVERLESS_MODES` (the one reading of it for
    the prerequisites, plan/namespace_quotas and kube/pod_security)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEPLOYMENT_MODE, "Serverless") in SERVERLESS_MODES
LEGACY_MODES = ("Serverless", "RawDeployment")
"""Annotation values KServe 0.16.x refuses on every update (``validateDeploymentMode``; the module's rules)."""
KSERVE_CONFIG = ("kserve", "inferenceservice-config")
KSERVE_CONTROLLER = ("kserve", "kserve-controller-manager")
KSERVE_DEFAULT_MODE = ("KServe's default deployment mode Serverless (Knative)",
                       Check(configmap=KSERVE_CONFIG, key="deploy", json_field="defaultDeploymentMode",
                             accepted=SERVERLESS_MODES),
                       "set it in ConfigMap kserve/inferenceservice-config, key deploy: "
                       "{\"defaultDeploymentMode\": \"Knative\"} (KServe 0.15: \"Serverless\"), then restart "
                       "the KServe controller: kubectl -n kserve rollout restart deployment kserve-controller-manager; "
                       "with Helm: kserve.controller.deploymentMode (docs/compile-kubernetes.md section 4)",
                       "kserve pkg/apis/serving/v1beta1/configmap.go NewDeployConfig; "
                       "pkg/controller/v1beta1/inferenceservice/utils/utils.go GetDeploymentMode")
KSERVE_RELEASE = ("a KServe release that accepts updates of these InferenceServices",
                  "remove the legacy annotation from each: kubectl -n <namespace> annotate inferenceservice <name> "
                  "serving.kserve.io/deploymentMode- (an update without it passes KServe 0.16's validation; the next "
                  "apply removes it too, but an endpoint that apply deletes stays Terminating), or upgrade KServe "
                  "to 0.17 or later (docs/compile-kubernetes.md section 4)",
                  "kserve v0.16.0 pkg/apis/serving/v1beta1/inference_service_validation.go validateDeploymentMode; "
                  "kserve/kserve#4798, #5885")
KNATIVE = ("Knative Serving (KServe Serverless mode)", _crd("services.serving.knative.dev"),
           "install Knative Serving and a networking layer before KServe: "
           "https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/",
           "https://kserve.github.io/website/docs/admin-guide/serverless")
FLAGS = {
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
    "affinity": "kubernetes.podspec-affinity",
}
KUEUE = ("Kueue", ("clusterqueues.kueue.x-k8s.io", "localqueues.kueue.x-k8s.io", "resourceflavors.kueue.x-k8s.io"),
         "install Kueue 0.19 with the kubeflow.org/pytorchjob integration: https://kueue.sigs.k8s.io/docs/installation/",
         "https://kueue.sigs.k8s.io/docs/installation/")
TRAINING = ("Kubeflow training operator (PyTorchJob CRD)", _crd("pytorchjobs.kubeflow.org", [PYTORCHJOB_API.rpartition("/")[2]]),
            "install the training operator v1.9: https://www.kubeflow.org/docs/components/trainer/legacy-v1/installation/",
            "https://www.kubeflow.org/docs/components/trainer/legacy-v1/installation/")
KUEUE_PYTORCHJOB = ("PyTorchJob admission by Kueue (its kubeflow.org/pytorchjob integration)",
                    "enable it in Kueue's manager configuration (ConfigMap kueue-system/kueue-manager-config, key "
                    "controller_manager_config.yaml: integrations.frameworks gets \"kubeflow.org/pytorchjob\" beside the "
                    "enabled ones; with Helm, the same line in managerConfig.controllerManagerConfigYaml), then restart "
                    "it: kubectl -n kueue-system rollout restart deployment kueue-controller-manager "
                    "(docs/compile-kubernetes.md section 4)",
                    "kubernetes-sigs/kueue v0.19.2 config/components/manager/controller_manager_config.yaml line 54; "
                    "pkg/controller/jobframework/setup.go lines 108-110; pkg/controller/jobframework/defaults.go "
                    "ApplyDefaultForSuspend")
PROMETHEUS_KINDS = {"PrometheusRule": "prometheusrules", "ServiceMonitor": "servicemonitors",
                    "PodMonitor": "podmonitors", "AlertmanagerConfig": "alertmanagerconfigs"}
PROMETHEUS_ENABLE = ("install the Prometheus operator, e.g. kube-prometheus-stack "
                     "(https://github.com/prometheus-community/helm-charts/tree/main/charts/kube-prometheus-stack), "
                     "selecting these objects (docs/compile-kubernetes.md section 4)")
PROMETHEUS_SOURCE = "https://prometheus-operator.dev/docs/getting-started/installation/"
KEEP_FIRING_FOR = ("spec.groups[].rules[].keep_firing_for", "prometheus-operator 0.66")
"""The PrometheusRule field that needs prometheus-operator 0.66's CRD (the module's rules)."""
UPGRADE_CRDS = ("; an older operator's CRDs lack fields these objects set: upgrade prometheus-operator and its CRDs to "
                "0.66 or later (Helm does not upgrade a chart's CRDs: kubectl apply --server-side -f the release's "
                "example/prometheus-operator-crd/ files, or kube-prometheus-stack's charts/crds/crds/)")
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
"""Annotations marking the default StorageClass (value ``"true"``; kubernetes ``IsDefaultAnnotation``)."""
STORAGE_CLASS = ("a default StorageClass (PersistentVolumeClaims without storageClassName)",
                 Check(default_storage_class=True),
                 "mark one StorageClass the default: kubectl patch storageclass <name> -p "
                 "'{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}' "
                 "(https://kubernetes.io/docs/tasks/administer-cluster/change-default-storage-class/)",
                 "https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1")


def _kind(res: Any) -> str:
    return res.type.rpartition(":")[2]


def _pod_spec(isvc: dict[str, Any]) -> dict[str, Any]:
    return (isvc.get("spec") or {}).get("predictor") or {}


def _keeps_firing(rule_object: dict[str, Any]) -> bool:
    """Whether a PrometheusRule's rules set ``keep_firing_for``."""
    return any(isinstance(rule, dict) and "keep_firing_for" in rule
               for group in ((rule_object.get("spec") or {}).get("groups") or []) for rule in (group.get("rules") or []))


def _sorted(addresses: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(a for a in addresses if a)))


def cluster_prerequisites(graph: DesiredGraph) -> tuple[Prerequisite, ...]:
    """The prerequisites ``graph`` needs (see the module contract)."""
    if graph.metadata.get("cloud") != "kubernetes":
        return ()
    isvcs = [r for r in graph.resources if r.custom and _kind(r) == "InferenceService"]
    in_serverless = [r for r in isvcs if serverless(r.inputs)]
    defaulted = _sorted(r.address for r in isvcs if DEPLOYMENT_MODE not in ((r.inputs.get("metadata") or {})
                                                                             .get("annotations") or {}))
    out: list[Prerequisite] = []
    if isvcs:
        out.append(Prerequisite(KSERVE[0], _sorted(r.address for r in isvcs),
                                _crd(KSERVE[1].crd or "", map(_version, isvcs)), KSERVE[2], KSERVE[3]))
    if defaulted:
        out.append(Prerequisite(KSERVE_DEFAULT_MODE[0], defaulted, *KSERVE_DEFAULT_MODE[1:]))
    if isvcs:
        namespaces = _sorted((r.inputs.get("metadata") or {}).get("namespace") for r in isvcs)
        out.append(Prerequisite(KSERVE_RELEASE[0], _sorted(r.address for r in isvcs),
                                Check(kserve_release=KSERVE_CONTROLLER, namespaces=namespaces), *KSERVE_RELEASE[1:]))
    if in_serverless:
        out.append(Prerequisite(KNATIVE[0], _sorted(r.address for r in in_serverless), KNATIVE[1], KNATIVE[2], KNATIVE[3]))
        for field, key in FLAGS.items():
            users = _sorted(r.address for r in in_serverless if _pod_spec(r.inputs).get(field))
            if users:
                out.append(Prerequisite(f"Knative feature flag {key} (InferenceService {field})", users, _flag(key),
                                        _enable_flag(key), f"{NODE_SCHEDULING_DOC}; {KNATIVE_FEATURES_SOURCE}"))
    kueue_objects = [r for r in graph.resources if r.custom and r.type.startswith("kubernetes:kueue.x-k8s.io/")]
    kueue = _sorted(r.address for r in kueue_objects)
    if kueue:
        out.extend(Prerequisite(f"{KUEUE[0]} ({crd.split('.')[0]} CRD)", kueue, _crd(crd, map(_version, kueue_objects)),
                                KUEUE[2], KUEUE[3])
                   for crd in KUEUE[1])
    training = _sorted(r.address for r in graph.resources if r.type == "mlops:training:Job")
    if training:
        out.append(Prerequisite(TRAINING[0], training, TRAINING[1], TRAINING[2], TRAINING[3]))
    templates = sorted((r.address, r.inputs["data"][TEMPLATE_KEY]) for r in graph.resources
                       if r.custom and _kind(r) == "ConfigMap" and TEMPLATE_KEY in (r.inputs.get("data") or {}))
    if kueue and templates:  # one run template: the integration is per framework, not per job
        out.append(Prerequisite(KUEUE_PYTORCHJOB[0], _sorted(a for a, _ in templates),
                                Check(dry_run_create=canonical_json(json.loads(templates[0][1]))),
                                KUEUE_PYTORCHJOB[1], KUEUE_PYTORCHJOB[2]))
    for kind, plural in PROMETHEUS_KINDS.items():
        objects = [r for r in graph.resources if r.custom and _kind(r) == kind
                   and r.type.startswith("kubernetes:monitoring.coreos.com/")]
        users = _sorted(r.address for r in objects)
        fields = (KEEP_FIRING_FOR,) if any(_keeps_firing(r.inputs) for r in objects) else ()
        if users:
            check = _crd(f"{plural}.monitoring.coreos.com", map(_version, objects))
            out.append(Prerequisite(f"Prometheus operator ({kind} CRD)", users, replace(check, fields=fields),
                                    PROMETHEUS_ENABLE + (UPGRADE_CRDS if fields else ""), PROMETHEUS_SOURCE))
    claims = _sorted(r.address for r in graph.resources if r.custom and _kind(r) == "PersistentVolumeClaim"
                     and not (r.inputs.get("spec") or {}).get("storageClassName"))
    if claims:
        out.append(Prerequisite(STORAGE_CLASS[0], claims, STORAGE_CLASS[1], STORAGE_CLASS[2], STORAGE_CLASS[3]))
    return tuple(out)
