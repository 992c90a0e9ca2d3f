"""The KServe driver: a canary on an InferenceService, status kept in its annotations.

Traffic (KServe "Canary Rollout Strategy", https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/):
with ``spec.predictor.canaryTrafficPercent`` set, KServe sends that share to the latest ready
revision and the rest to the last revision that had 100% rolled out; 100 promotes the latest
revision; 0 sends everything back to the previous rolled-out revision, which is KServe's rollback:
the new revision (its Knative Revision and pods' template) is kept for inspection.

Contract of :class:`KServeDriver`:
- ``observe``: ``revision`` = the ``mlops-infra/model-version`` annotation the compiler sets;
  ``stable`` = the ``rollout.mlops-infra.io/stable-version`` annotation this driver writes when a
  rollout finishes (absent: nothing rolled out before, a first deployment); ``percent`` =
  ``canaryTrafficPercent`` (absent: 100); ``ready`` = the latest created revision is the latest ready
  one (``status.components.predictor``; no status yet: ready); the status from the
  ``rollout.mlops-infra.io/<field>`` annotations; ``token`` = ``metadata.resourceVersion``.
- ``act``: ONE merge patch per decision, carrying the traffic and the new status together, guarded by
  the observed ``resourceVersion``: a 409 Conflict (another reconciler, or ``pulumi up``, wrote first)
  raises :class:`~mlops_infra.rollout.runner.Lost`, so a step is taken exactly once and a killed
  driver leaves either the old or the new state, never half. ``finish`` sets 100% and records the
  stable version; ``rollback`` sets 0% and records why. The patch names its writer
  :data:`FIELD_MANAGER`, so ``managedFields``, and the conflict ``pulumi up`` would meet without
  the compiler's ``pulumi.com/patchForce`` (``compile/kubernetes/serving.py`` ``annotations``), say
  who moved the traffic.
- Requires RBAC ``get`` and ``patch`` on ``inferenceservices`` of its namespace, nothing else (the
  compiled CronJob's Role grants exactly that).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.kube import KubeClient, KubeConflict
from mlops_infra.kube.resources import INFERENCE_SERVICE
from mlops_infra.rollout.model import Decision, Observed, RolloutStatus
from mlops_infra.rollout.runner import Lost

PREFIX = "rollout.mlops-infra.io/"
STABLE = PREFIX + "stable-version"
VERSION = "mlops-infra/model-version"
FIELD_MANAGER = "mlops-infra-rollout"
"""The ``fieldManager`` of the driver's patches (Kubernetes "Server-Side Apply", field management)."""


class KServeDriver:
    def __init__(self, kube: KubeClient, namespace: str, name: str) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name

    def read(self) -> dict[str, Any]:
        return self.kube.get(INFERENCE_SERVICE, self.name, self.namespace)

    def observe(self) -> Observed:
        isvc = self.read()
        return observe_isvc(isvc)

    def act(self, decision: Decision, observed: Observed, now: float) -> None:
        patch = patch_for(decision, observed)
        if patch is None:
            return
        try:
            self.kube.patch(INFERENCE_SERVICE, self.name, self.namespace, patch, resource_version=observed.token,
                            field_manager=FIELD_MANAGER)
        except KubeConflict as exc:
            raise Lost(str(exc)) from exc


def observe_isvc(isvc: dict[str, Any]) -> Observed:
    """:class:`Observed` of an InferenceService object (see the module contract)."""
    meta = isvc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    predictor = ((isvc.get("spec") or {}).get("predictor")) or {}
    percent = predictor.get("canaryTrafficPercent")
    status = RolloutStatus.from_fields({k[len(PREFIX):]: v for k, v in annotations.items() if k.startswith(PREFIX)})
    component = (((isvc.get("status") or {}).get("components")) or {}).get("predictor") or {}
    created, ready_rev = component.get("latestCreatedRevision"), component.get("latestReadyRevision")
    ready = created is None or created == ready_rev
    return Observed(revision=str(annotations.get(VERSION, "")), stable=annotations.get(STABLE),
                    percent=100 if percent is None else int(percent), ready=ready, status=status,
                    token=str(meta.get("resourceVersion", "")),
                    detail="" if ready else f"revision {created} is not ready yet")


def patch_for(decision: Decision, observed: Observed) -> dict[str, Any] | None:
    """The one merge patch that carries out ``decision`` (None: nothing to write)."""
    annotations: dict[str, Any] = {}
    predictor: dict[str, Any] = {}
    if decision.status is not None:
        annotations.update({PREFIX + k: v for k, v in decision.status.to_fields().items()})
        if "blind-since" not in decision.status.to_fields():
            annotations[PREFIX + "blind-since"] = None  # merge patch: null deletes
    if decision.action in ("set_traffic", "finish", "rollback") and decision.percent is not None \
            and decision.percent != observed.percent:
        predictor["canaryTrafficPercent"] = decision.percent
    if decision.action == "finish":
        annotations[STABLE] = observed.revision
    if not annotations and not predictor:
        return None
    patch: dict[str, Any] = {}
    if annotations:
        patch["metadata"] = {"annotations": annotations}
    if predictor:
        patch["spec"] = {"predictor": predictor}
    return patch
