"""An InferenceService update that rolls a new revision of the same model version (closing audit closing-a-1).

KServe copies an InferenceService's predictor and its annotations (all but a few internal keys) into the
predictor's Knative revision template (kserve ``components/predictor.go`` ``buildPredictorResources``,
``ksvc_reconciler.go`` ``createKnativeService``), and Knative creates a new Revision for every change of
its Configuration ("Revisions": "point-in-time snapshots of the application code and configuration for each
change made to a Knative Service ... Revisions are always created in response to updates to a Configuration
spec", https://knative.dev/docs/serving/revisions/).
So an in-place update of an InferenceService starts new pods beside the old ones, which download and load
the model again, even when the model version is unchanged (an annotation mlops-infra adds, a resource
request, an autoscaling target). For a ``canary`` or ``blue_green`` endpoint compiled without the registry
view's knowledge that this version is served (``compile/kubernetes/serving.py`` ``keeps_controller_traffic``:
``plan`` and ``apply`` leave the share to the controller otherwise) the apply also writes the rollout's first
traffic step: the new revision serves that share until the rollout controller's next pass sets it back.

``canaryTrafficPercent`` itself is not in the revision template: KServe puts it in the Knative Service's
traffic block (kserve v0.15.0 ``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService`` l.128-160).
An update that changes nothing else makes no revision, and after a finished rollout KServe reads the
first step as its rollback: the latest ready revision is the latest rolled-out one, its ``latestRevision``
target below 100 % and its revision at 100 % in total, so ``latestRolledoutRevision`` goes back to
``previousRolledoutRevision`` (``pkg/apis/serving/v1beta1/inference_service_status.go`` ``PropagateStatus``
l.459-470), which then gets the rest of the traffic (audit k8sroll-1).

Contract of :func:`revision_warnings` (pure): one warning per InferenceService UPDATE whose
``mlops-infra/model-version`` annotation is the same before and after (a version change is a rollout, which
the plan's ML section tells), sorted by URN, naming the endpoint. When something besides
``spec.predictor.canaryTrafficPercent`` changes: a new revision loads the model again, and, when the desired
object sets that share, the new revision serves it until the controller restores the traffic. When only the
share changes: no new revision, and the previous rolled-out version gets the rest of the traffic (KServe's
rollback) until the controller's next pass.

A change of the label ``networking.knative.dev/visibility`` alone makes no revision (KServe keeps it out of
the revision template: kserve ``pkg/constants/constants.go`` ``RevisionTemplateLabelDisallowedList``); it
moves the endpoint on or off the cluster's external ingress gateway (``compile/kubernetes/ingress.py``
``visibility_labels``, audit secpost45-2), and one warning says so in those terms: added, the endpoint
stops being reachable from outside the cluster; removed (``exposure: public``), it is published there
with no authentication. That warning is given for every such UPDATE, a new model version or not (a version
change says nothing about exposure: audit closing-45c-2), and the other changes are judged without the label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.graph import DesiredResource
from mlops_infra.plan.model import Action, ResourceChange
from mlops_infra.plan.normalize import MISSING, get_dotted
from mlops_infra.state.model import PriorState

INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
VERSION_ANNOTATION = "mlops-infra/model-version"
TRAFFIC = "spec.predictor.canaryTrafficPercent"
VISIBILITY = 'metadata.labels["networking.knative.dev/visibility"]'


def _version(inputs: Any) -> Any:
    annotations = get_dotted(inputs, "metadata.annotations")
    return annotations.get(VERSION_ANNOTATION, MISSING) if isinstance(annotations, dict) else MISSING


def revision_warnings(changes: Sequence[ResourceChange], prior: PriorState,
                      desired: Mapping[str, DesiredResource]) -> list[str]:
    """The warnings of the module contract; ``desired`` is the desired graph's resources by URN."""
    updates = [c for c in changes if c.type == INFERENCE_SERVICE and c.action is Action.UPDATE]
    if not updates:
        return []
    out = []
    for change in sorted(updates, key=lambda c: c.urn):
        before, after = prior.resources.get(change.urn), desired.get(change.urn)
        if before is None or after is None:
            continue
        where = change.address or change.name
        if any(c.path == VISIBILITY for c in change.changes):  # whatever else changes (closing-45c-2)
            out.append(_exposure_warning(where, change.name, after.inputs))
        rest = [c for c in change.changes if c.path != VISIBILITY]  # the label is not in the revision template
        if not rest or _version(before.inputs) != _version(after.inputs):
            continue
        share = get_dotted(after.inputs, TRAFFIC)
        sets_share = isinstance(share, int) and not isinstance(share, bool)
        if sets_share and all(c.path == TRAFFIC for c in rest):
            out.append(f"{where}: this apply writes the rollout's first step ({share}%) into the InferenceService "
                       f"{change.name} without a new model version: no new revision (the share is not in the revision "
                       f"template), but after a finished rollout KServe reads it as its rollback: the previous "
                       f"rolled-out version gets {100 - share}% of the traffic until the rollout controller's next pass "
                       "sets the share back")
            continue
        text = (f"{where}: this apply changes the InferenceService {change.name} without a new model version, so "
                "KServe rolls a new Knative revision: new pods start beside the old ones and load the model again")
        if sets_share:
            text += (f"; the apply also sets the rollout's first step, so the new revision serves {share}% of the "
                     "traffic until the rollout controller's next pass sets the share back")
        out.append(text)
    return out


def _exposure_warning(where: str, name: str, inputs: Any) -> str:
    labels = get_dotted(inputs, "metadata.labels")
    namespace = get_dotted(inputs, "metadata.namespace")
    if isinstance(labels, dict) and labels.get("networking.knative.dev/visibility") == "cluster-local":
        return (f"{where}: the endpoint {name} stops being public: KServe takes it off the cluster's external "
                f"ingress gateway, so callers outside the cluster lose it; pods of the cluster call "
                f"http://{name}.{namespace}.svc.cluster.local (set exposure: public on the endpoint to keep it "
                "public, with no authentication). The label itself rolls no new revision")
    return (f"{where}: the endpoint {name} becomes public (exposure: public): KServe publishes it on the cluster's "
            "external ingress gateway with no authentication; anyone who reaches that load balancer can call it. "
            "The label itself rolls no new revision")
