"""KServe's revision rule on top of the Kubernetes API stand-in (``tests/support/kube_api.py``).

What KServe 0.15 does with an InferenceService in Serverless mode, reduced to what a rollout sees:
the predictor becomes a Knative Service whose revision template holds the predictor spec and the
InferenceService's annotations minus an exact-key deny list (kserve v0.15.0
``pkg/controller/v1beta1/inferenceservice/components/predictor.go`` ``buildPredictorResources``:
``annotations := utils.Filter(isvc.Annotations, func(key string) bool { return
!utils.Includes(ServiceAnnotationDisallowedList, key) })`` -> ``buildObjectMeta``;
``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService`` puts them in
``Template.ObjectMeta.Annotations``; the list is ``pkg/constants/constants.go``
``ServiceAnnotationDisallowedList``). ``canaryTrafficPercent`` is not in the template: it becomes the
Knative route's traffic split (same ``createKnativeService``). Knative makes a new Revision for every
change of the template (Knative "Configuration": "Each modification to the configuration creates a new
revision"; kserve issue #3359: annotation changes roll out new revisions).

:class:`KServeRevisions` registers an :meth:`~KubeApiStandIn.on_write` hook: after each write of an
InferenceService whose template (annotations minus the deny list, predictor spec minus
``canaryTrafficPercent``) differs from its last revision's, it records a new revision
``<name>-predictor-<n:05d>`` with the ``mlops-infra/model-version`` it was made for, and sets
``status.components.predictor.latestCreatedRevision`` (and ``latestReadyRevision``, the revision
being ready at once). :meth:`sync` does the same for objects stored with ``seed`` (no hook runs).
Not modelled: pods, readiness delays, the route's traffic targets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tests.support.kube_api import KubeApiStandIn

DISALLOWED_ANNOTATIONS = frozenset({
    "autoscaling.knative.dev/min-scale",
    "autoscaling.knative.dev/max-scale",
    "internal.serving.kserve.io/storage-initializer-sourceuri",
    "kubectl.kubernetes.io/last-applied-configuration",
})
"""kserve v0.15.0 ``pkg/constants/constants.go`` ``ServiceAnnotationDisallowedList`` (exact keys)."""
VERSION = "mlops-infra/model-version"


def template(isvc: dict[str, Any]) -> dict[str, Any]:
    """The part of an InferenceService that becomes the Knative revision template (see the module)."""
    meta = isvc.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in DISALLOWED_ANNOTATIONS}
    predictor = {k: v for k, v in ((isvc.get("spec") or {}).get("predictor") or {}).items()
                 if k != "canaryTrafficPercent"}
    return {"annotations": annotations, "predictor": copy.deepcopy(predictor)}


@dataclass
class Revision:
    name: str
    version: str
    template: dict[str, Any]


@dataclass
class KServeRevisions:
    """The revisions KServe (through Knative) makes for each InferenceService of a stand-in."""

    api: KubeApiStandIn
    revisions: dict[tuple[str, str], list[Revision]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.api.on_write(self._on_write)

    def _on_write(self, verb: str, obj: dict[str, Any]) -> None:
        if obj.get("kind") == "InferenceService" and verb != "delete":
            self._reconcile(obj)

    def _reconcile(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta["name"])
        made = self.revisions.setdefault(key, [])
        wanted = template(obj)
        if not made or made[-1].template != wanted:
            made.append(Revision(f"{meta['name']}-predictor-{len(made) + 1:05d}",
                                 str(wanted["annotations"].get(VERSION, "")), wanted))
        status = obj.setdefault("status", {}).setdefault("components", {}).setdefault("predictor", {})
        status["latestCreatedRevision"] = status["latestReadyRevision"] = made[-1].name

    def sync(self) -> None:
        """Reconcile every stored InferenceService (after ``seed``, which runs no hook)."""
        with self.api._lock:  # the hook's lock: the store is mutated in place, as the hooks do
            for obj in self.api._store.objects.values():
                if obj.get("kind") == "InferenceService":
                    self._reconcile(obj)

    def of_version(self, name: str, version: str, namespace: str = "") -> list[str]:
        """The revisions made for ``version`` of InferenceService ``name``."""
        return [r.name for (ns, n), made in self.revisions.items() if n == name and ns in (namespace, ns)
                for r in made if r.version == version]
