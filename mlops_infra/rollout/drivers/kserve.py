"""The KServe driver: a canary on an InferenceService, status kept in a ConfigMap of its own.

Traffic (KServe "Canary Rollout Strategy", https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/):
with ``spec.predictor.canaryTrafficPercent`` set, KServe sends that share to the latest ready
revision and the rest to the last revision that had 100% rolled out; 100 promotes the latest
revision; 0 sends everything back to the previous rolled-out revision, which is KServe's rollback:
the new revision (its Knative Revision and pods' template) is kept for inspection.

Why the status is not on the InferenceService. KServe copies the InferenceService's annotations,
all but an exact-key deny list (min-scale, max-scale, the storage initializer's source URI and
kubectl's last-applied-configuration), into the predictor's Knative Service revision template
(kserve v0.15.0 ``pkg/controller/v1beta1/inferenceservice/components/predictor.go``
``buildPredictorResources``: ``utils.Filter(isvc.Annotations, !Includes(ServiceAnnotationDisallowedList))``
-> ``buildObjectMeta`` -> ``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService``
``Template.ObjectMeta.Annotations``; the list: ``pkg/constants/constants.go``), and Knative makes a new
Revision for every change of that template (Knative "Configuration": each change of the template is
a new Revision; kserve issue #3359). Status annotations made every step, finish and rollback a new
Revision of the version being rolled out: a new fleet of pods each time (three at a step change),
and with no spare capacity a revision that never became ready froze the canary (reconcile rule 2).
A ConfigMap is nobody's template, so writing it starts nothing.

Contract of :class:`KServeDriver`:
- The status lives in the ConfigMap :func:`status_config_map` (``rollout-<endpoint>``, same
  namespace), data keys = :meth:`RolloutStatus.to_fields` plus ``stable-version``. The compiler
  creates it empty, with ``ignoreChanges: [data]`` so ``pulumi up`` neither replaces it nor takes its
  keys back (``compile/kubernetes/serving.py`` ``status_config_map``).
- ``observe``: ``revision`` = :func:`revision_key` of the annotations the compiler sets,
  ``<version> of <model>`` (``mlops-infra/model-version`` and ``mlops-infra/model``: another registered
  model with an equal number is another version; the key changes only with a new version, which is a new
  revision anyway), and every version the status names is such a key (:func:`keyed_fields`: a bare
  number an earlier runner stored is read as the model of KServe's last rolled-out Revision, and while one
  is stored that Revision is read on each pass); ``stable`` = the ConfigMap's
  ``stable-version`` (absent: nothing rolled out before, a first deployment), except when a new version
  may start and KServe's last rolled-out revision is of another version: then that version, the one
  KServe sends the rest to (:func:`observe_isvc`, "Which version serves the rest"); ``percent`` =
  ``canaryTrafficPercent`` (absent: 100); ``in_effect`` = the status shows that share served by a
  ready route (:func:`traffic_in_effect`) on a revision of the observed version during its rollout
  (:func:`observe_isvc`); ``ready`` = the latest created revision is the latest ready
  one (``status.components.predictor``; no status yet: ready); when it is not, ``not_ready``
  (:func:`not_ready_of`) says what Knative says of that revision, but only when that revision is
  ``revision``'s (:func:`observe_isvc`, "Which revision is judged"); the status from the ConfigMap's
  data; ``token`` = both ``resourceVersion`` s, ``<isvc>/<configmap>``. A ConfigMap with no data yet
  (never written by this driver: a system whose earlier runner kept the status in
  ``rollout.mlops-infra.io/<field>`` annotations) is read from those annotations, so the first
  rollout after the upgrade is not taken for a first deployment; they are never written again (and
  left in place: removing them would be one more revision).
- ``act``: at most two writes, status FIRST (a merge patch of the ConfigMap's ``data``, guarded by
  its observed ``resourceVersion``; it always carries ``stable-version``, so the ConfigMap alone is
  the record from then on), THEN traffic (a merge patch of ``canaryTrafficPercent``, guarded by the
  InferenceService's observed ``resourceVersion``). A 409 Conflict on either (another reconciler, or
  ``pulumi up``, wrote first) raises :class:`~mlops_infra.rollout.runner.Lost`. A pass killed
  between the two leaves the status one decision ahead of the traffic, which the next pass
  completes: a rollback or abort is completed by reconcile rule 4 (rolled back, traffic not 0 ->
  roll back), a step by rule 5 (traffic not the current step's -> set it, bake from then), a finish
  by rule 4. The other order would be unsafe: a rollback killed after its 0% and before its status
  would meet rule 5 ("something moved it: set it back to the current step") and give the canary whose
  gate fired its traffic back. (The SageMaker driver writes in the same order, for the same reason.)
  ``finish`` sets 100% and records the stable version; ``rollback`` sets 0% and records why. The
  patches name their writer :data:`FIELD_MANAGER`, so ``managedFields``, and the conflict ``pulumi
  up`` would meet without the compiler's ``pulumi.com/patchForce`` (``compile/kubernetes/serving.py``
  ``annotations``), say who moved the traffic.
- Requires RBAC ``get`` and ``patch`` on ``inferenceservices`` and on that ConfigMap
  (``configmaps``, by ``resourceNames``) of its namespace, and ``get`` on ``revisions.serving.knative.dev``
  there (read while the newest revision is not ready, during a rollout the latest ready one, whose
  series the gates judge, and before a start, or while the status names a bare number, the last rolled-out
  one: :meth:`KServeDriver.read_revision`,
  :func:`canary_candidate`, :func:`rolled_out_candidate`; its
  names are Knative's, so not by ``resourceNames``), nothing else (the compiled CronJob's Role grants
  exactly that; a user running ``mlops-infra rollout`` needs the same). A Revision that cannot be read
  (403, 404) is never judged: the pass waits and says why. A missing ConfigMap (the graph that creates
  it not applied yet) is an error naming it, never a silent write elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlops_infra.kube import KubeClient, KubeConflict, KubeForbidden, KubeNotFound
from mlops_infra.kube.resources import CONFIG_MAP, INFERENCE_SERVICE, ResourceType
from mlops_infra.rollout.model import OPTIONAL_FIELDS, Decision, NotReady, Observed, RolloutStatus
from mlops_infra.rollout.runner import Lost

LEGACY_PREFIX = "rollout.mlops-infra.io/"
"""Where an earlier runner kept the status (InferenceService annotations): read, never written."""
STABLE = "stable-version"
VERSION = "mlops-infra/model-version"
MODEL = "mlops-infra/model"
"""The registered model the InferenceService serves, written by the compiler beside :data:`VERSION`
(``compile/kubernetes/serving.py`` ``annotations``) and, like it, copied by KServe onto every Revision."""
OF = " of "
"""Joins a version and its model in a revision key (:func:`revision_key`): ``14 of fraud-model``."""
FIELD_MANAGER = "mlops-infra-rollout"
"""The ``fieldManager`` of the driver's patches (Kubernetes "Server-Side Apply", field management)."""
STATUS_PREFIX = "rollout-"
REVISION = ResourceType("serving.knative.dev/v1", "Revision", "revisions")
"""Knative's Revision (knative/serving ``pkg/apis/serving/v1/revision_types.go``; REST path
``/apis/serving.knative.dev/v1/namespaces/<ns>/revisions/<name>``)."""
CONFIGURATION_READY = "PredictorConfigurationReady"
"""The InferenceService condition that carries the predictor's Knative ``ConfigurationsReady`` (kserve
v0.15.0 ``pkg/apis/serving/v1beta1/inference_service_status.go``: ``PropagateStatus`` sets
``configurationConditionsMap[PredictorComponent]`` from the Knative Service's ``ConfigurationsReady``)."""
ROUTE_READY = "PredictorRouteReady"
"""The InferenceService condition that carries the predictor's Knative ``RoutesReady`` (kserve
``inference_service_status.go``: ``routeConditionsMap[PredictorComponent]``, set by ``PropagateStatus``)."""
WHY_MAX = 120
"""The reason and message of a not-ready revision are cut to this many characters; the rollback reason
that quotes them cuts them further when the revision key's model name leaves less room, so its step
stays within the 256 characters of a status field (``rollout/reconcile.py`` ``_within_field``)."""


def revision_key(annotations: dict[str, Any] | None) -> str:
    """What an InferenceService or a Knative Revision serves, from its annotations: ``<version> of <model>``
    (:data:`VERSION`, :data:`MODEL`); the version alone without a model annotation (objects made before or
    outside the compiler); ``""`` without a version.

    Why the model too. A version number names a version only within its registered model: MLflow numbers
    each registered model's versions from 1 ("Each new model registered to the same model name increments
    the version number": MLflow "MLflow Model Registry", "Concepts"), so an endpoint switched from
    ``fraud-model`` v14 to ``fraud-model-gbt`` v14 serves a new version, which the compiler gives its first
    step (``RegistryView.serves``, closing-41a-1). Keyed by the number alone, the controller took that
    switch for the finished version and put all traffic on the other model's revision at once (reconcile
    rule 4: a finished version's traffic back to 100), no step, no bake, no gate. KServe copies both
    annotations onto the Revision (module docstring), so a Revision's key is that of the InferenceService
    it was made from."""
    annotations = annotations or {}
    version, model = str(annotations.get(VERSION, "")), annotations.get(MODEL)
    return f"{version}{OF}{model}" if version and model else version


def qualified(value: str, model: str | None) -> str:
    """A stored version (``revision``, ``previous``, ``stable-version``) as a :func:`revision_key`: written
    by this driver, it is one already; a bare number (a status an earlier runner wrote, which keyed by the
    number alone) is taken to be of ``model``."""
    return f"{value}{OF}{model}" if value.isdigit() and model else value


def status_config_map(endpoint: str) -> str:
    """The name of the ConfigMap that holds ``endpoint``'s rollout status (the compiler makes the same)."""
    return STATUS_PREFIX + endpoint


class KServeDriver:
    def __init__(self, kube: KubeClient, namespace: str, name: str) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.config_map = status_config_map(name)

    def read(self) -> dict[str, Any]:
        return self.kube.get(INFERENCE_SERVICE, self.name, self.namespace)

    def read_status(self) -> dict[str, Any]:
        try:
            return self.kube.get(CONFIG_MAP, self.config_map, self.namespace)
        except KubeNotFound as exc:
            if exc.type_missing:
                raise
            raise _missing(self.config_map, self.namespace, self.name) from exc

    def read_revision(self, name: str) -> dict[str, Any] | str:
        """The Knative Revision ``name``, or why it cannot be read (403, 404: then it is not judged)."""
        what = f"revisions.serving.knative.dev/{name} in {self.namespace}"
        try:
            return self.kube.get(REVISION, name, self.namespace)
        except KubeForbidden:
            return (f"cannot read {what} (403 Forbidden): grant `get` on revisions.serving.knative.dev in "
                    f"{self.namespace} (the compiled runner's Role has it)")
        except KubeNotFound:
            return f"{what} does not exist (yet)"

    def observe(self) -> Observed:
        isvc = self.read()
        status_map = self.read_status()
        judged = newest_not_ready(isvc) or canary_candidate(isvc, status_map)
        rolled = rolled_out_candidate(isvc, status_map)
        return observe_isvc(isvc, status_map, None if judged is None else self.read_revision(judged),
                            None if rolled is None else self.read_revision(rolled))

    def act(self, decision: Decision, observed: Observed, now: float) -> None:
        isvc_version, _, map_version = observed.token.partition("/")
        data = status_patch(decision, observed)
        if data is not None:
            self._patch(CONFIG_MAP, self.config_map, {"data": data}, map_version)
        traffic = traffic_patch(decision, observed)
        if traffic is not None:
            self._patch(INFERENCE_SERVICE, self.name, traffic, isvc_version)

    def _patch(self, rtype: Any, name: str, patch: dict[str, Any], version: str) -> None:
        try:
            self.kube.patch(rtype, name, self.namespace, patch, resource_version=version or None,
                            field_manager=FIELD_MANAGER)
        except KubeConflict as exc:
            raise Lost(str(exc)) from exc
        except KubeNotFound as exc:
            if rtype is CONFIG_MAP and not exc.type_missing:
                raise _missing(name, self.namespace, self.name) from exc
            raise


def _missing(config_map: str, namespace: str, endpoint: str) -> KubeNotFound:
    return KubeNotFound(f"the rollout status ConfigMap {namespace}/{config_map} of endpoint {endpoint!r} "
                        "does not exist",
                        "Apply the system (`pulumi up`) with this version of mlops-infra first: it creates the "
                        "ConfigMap.", status=404, reason="NotFound", message="not found",
                        request=f"get configmaps/{config_map} in {namespace}")


def newest_not_ready(isvc: dict[str, Any]) -> str | None:
    """The InferenceService's newest revision (``latestCreatedRevision``) when it is not its latest ready
    one; None when the endpoint is ready (or has no status yet)."""
    component = (((isvc.get("status") or {}).get("components")) or {}).get("predictor") or {}
    created, ready_rev = component.get("latestCreatedRevision"), component.get("latestReadyRevision")
    return None if created is None or created == ready_rev else str(created)


def canary_candidate(isvc: dict[str, Any], status_map: dict[str, Any] | None) -> str | None:
    """The revision that may serve the new version's share, to be read and checked (:func:`observe_isvc`,
    "Which revision serves the canary"): the InferenceService's latest ready revision, when it is ready
    and a rollout of its annotated version is in progress; None otherwise (no read needed)."""
    component = (((isvc.get("status") or {}).get("components")) or {}).get("predictor") or {}
    ready_rev = component.get("latestReadyRevision")
    if ready_rev is None or newest_not_ready(isvc) is not None:
        return None
    key = revision_key((isvc.get("metadata") or {}).get("annotations"))
    status = RolloutStatus.from_fields(keyed_fields(isvc, status_map))
    return str(ready_rev) if status is not None and status.phase == "progressing" and status.revision == key \
        else None


def rolled_out_candidate(isvc: dict[str, Any], status_map: dict[str, Any] | None) -> str | None:
    """The revision KServe sends the rest of a canary to (``status.components.predictor
    .latestRolledoutRevision``), to be read for its version (:func:`observe_isvc`, "Which version serves
    the rest") when a new version may start: the stored status is not a status of the annotated version;
    None otherwise (no read needed: from the start on, the ConfigMap's ``stable-version`` is the record)."""
    component = (((isvc.get("status") or {}).get("components")) or {}).get("predictor") or {}
    rolled = component.get("latestRolledoutRevision")
    if not rolled:
        return None
    key = revision_key((isvc.get("metadata") or {}).get("annotations"))
    stored = stored_fields(isvc, status_map)
    status = RolloutStatus.from_fields(stored)
    legacy = OF in key and any(stored.get(k, "").isdigit() for k in (*BARE_KEYS, STABLE))
    return None if status is not None and status.revision == key and not legacy else str(rolled)


def observe_isvc(isvc: dict[str, Any], status_map: dict[str, Any] | None = None,
                 knative_revision: dict[str, Any] | str | None = None,
                 rolled_out: dict[str, Any] | str | None = None) -> Observed:
    """:class:`Observed` of an InferenceService, its status ConfigMap and, while the newest revision is
    not ready, that Knative Revision as read (a dict), or why it could not be (a str) (module contract);
    ``rolled_out``: the Knative Revision KServe counts as the last rolled out, read when a new version
    may start (:func:`rolled_out_candidate`).

    Which revision is judged. KServe and Knative write the InferenceService's status in their own
    reconcile loops, after the spec write (kserve v0.15.0 ``inference_service_status.go``
    ``PropagateStatus`` even copies the Knative Service's ``observedGeneration``), and pulumi-kubernetes
    does not wait on a custom resource (``provider/pkg/metadata/overrides.go`` ``ReadyCondition``:
    ``condition.NewImmediate`` without ``pulumi.com/waitFor``): right after ``pulumi up`` the
    annotation already names the new version while the status still describes the previous version's
    revision. So the revision named by ``latestCreatedRevision`` is judged (``not_ready``) only if it
    was made for the observed version: its :func:`revision_key` (the ``mlops-infra/model-version`` and
    ``mlops-infra/model`` annotations), which reach the
    Revision unchanged (KServe copies the InferenceService's annotations minus
    ``ServiceAnnotationDisallowedList`` into the Knative Service's template, see the module docstring;
    Knative copies the template's metadata into the Configuration and each Revision: knative/serving
    ``pkg/reconciler/service/resources/configuration.go`` ``MakeConfigurationFromExisting``,
    ``pkg/reconciler/configuration/resources/revision.go`` ``MakeRevision``: ``ObjectMeta:
    configuration.Spec.GetTemplate().ObjectMeta``). Another version's revision ("KServe has not made
    version <v>'s revision yet"), an unreadable Revision or none given: ``not_ready`` is None, so the
    pass only waits (reconcile rule 2), never rolls back blind; ``detail`` says why.

    Which revision serves the canary (``Observed.canary``). While the endpoint is ready and a rollout
    of the observed version is in progress, ``knative_revision`` is its latest ready revision
    (:func:`canary_candidate`): the one KServe's ``canaryTrafficPercent`` goes to (the traffic target
    ``latestRevision: true``, which Knative resolves to the latest ready revision: knative/serving
    ``pkg/apis/serving/v1/route_types.go`` ``TrafficTarget.LatestRevision``; kserve v0.15.0
    ``ksvc_reconciler.go`` ``createKnativeService``). It is ``canary`` only when that Knative
    Revision was made for the observed version (its :func:`revision_key`, as above): a status
    KServe has not updated since ``pulumi up`` still names the stable version's revision, whose series
    must not be taken for the new version's. Otherwise ``canary`` is None and the gates count any
    revision (``gates/prometheus.py``). And then the share is not in effect (``in_effect`` False,
    ``detail`` "KServe has not made version <v>'s revision yet"): the status describes the previous
    version's revision, whose traffic (a blue/green 0 % after a rolled-back version) may equal the new
    step's share, and a bake timed from it ran before the version had a revision at all (audit
    k8sroll-5). A revision that cannot be read (403, 404) does not hold the step: the gates count any
    revision, as said, and ``detail`` says why.

    Which version serves the rest (``Observed.stable``). KServe sends a canary's remainder to its
    ``latestRolledoutRevision`` (kserve v0.15.0 ``reconcilers/knative/ksvc_reconciler.go``
    ``createKnativeService`` l.128-149, tag ``prev``), and it counts a revision as rolled out as soon as
    its ``latestRevision`` target is at 100 % (``inference_service_status.go`` ``PropagateStatus``
    l.451-457: "track the last revision that's fully rolled out"), which a canary's last step of 100
    already is, before the controller's finish. So a version applied during that bake is canaried
    against, and rolled back onto, the unfinished version, not the ConfigMap's ``stable-version``
    (audit k8sroll-3). When a new version may start, ``stable`` is therefore the version of the
    ``rolled_out`` Revision (its :func:`revision_key`, as above) when that is another version
    than the observed one and the ConfigMap's; the start records it as ``previous`` (the rollback
    notice's ``serving_version``) and as ``stable-version``, and ``detail`` says why. Unreadable, or
    without the annotation (a revision made before mlops-infra annotated them): the ConfigMap's.
    """
    meta = isvc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    predictor = ((isvc.get("spec") or {}).get("predictor")) or {}
    percent = predictor.get("canaryTrafficPercent")
    version = revision_key(annotations)
    stored = keyed_fields(isvc, status_map, rolled_out)
    status = RolloutStatus.from_fields(stored)
    created = newest_not_ready(isvc)
    map_version = str(((status_map or {}).get("metadata") or {}).get("resourceVersion", ""))
    not_ready, detail, canary, stale = None, "", None, False
    if created is not None:
        not_ready, detail = _judged(isvc, created, version, knative_revision)
    elif isinstance(knative_revision, dict):
        rev_meta = knative_revision.get("metadata") or {}
        made_for = _version_of(knative_revision)
        if made_for == version and rev_meta.get("name"):
            canary = str(rev_meta["name"])
        else:
            stale = True
            detail = (f"KServe has not made version {version}'s revision yet (its latest ready revision, "
                      f"{rev_meta.get('name')}, is of version {made_for if made_for is not None else 'unknown'})")
    elif isinstance(knative_revision, str):
        detail = f"{knative_revision}, so which version the latest ready revision serves cannot be told"
    share = 100 if percent is None else int(percent)
    in_effect = traffic_in_effect(isvc, share) and not stale
    if created is None and not in_effect and not stale:
        detail = f"Knative's route does not serve {share}% on the latest revision yet{_route_why(isvc)}"
    stable, served = stored.get(STABLE), _version_of(rolled_out)
    if served is not None and served not in (version, stable):
        stable = served
        detail = _joined(detail, f"KServe sends the rest of the traffic to version {served} (its last rolled-out "
                         "revision: KServe counts a 100% step as rolled out, finished or not)")
    return Observed(revision=version, stable=stable, percent=share, ready=created is None, status=status,
                    token=f"{meta.get('resourceVersion', '')}/{map_version}", detail=detail, not_ready=not_ready,
                    in_effect=in_effect, canary=canary)


def _version_of(revision: dict[str, Any] | str | None) -> str | None:
    """The :func:`revision_key` of a Knative Revision as read; None: not read, or no ``mlops-infra/model-version``."""
    if not isinstance(revision, dict):
        return None
    annotations = (revision.get("metadata") or {}).get("annotations") or {}
    return None if annotations.get(VERSION) is None else revision_key(annotations)


def _joined(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def _route_why(isvc: dict[str, Any]) -> str:
    """``: <reason>: <message>`` of a :data:`ROUTE_READY` condition that is False (Knative says why its
    route cannot serve the split, e.g. ``RevisionMissing``: knative/serving ``pkg/apis/serving/v1/
    route_lifecycle.go`` ``MarkMissingTrafficTarget``), cut to :data:`WHY_MAX`; "" otherwise."""
    route = next((c for c in ((isvc.get("status") or {}).get("conditions")) or [] if isinstance(c, dict)
                  and c.get("type") == ROUTE_READY), None)
    if route is None or route.get("status") != "False":
        return ""
    why = ": ".join(str(route[k]) for k in ("reason", "message") if route.get(k))
    return f": {why if len(why) <= WHY_MAX else why[:WHY_MAX - 3] + '...'}" if why else ""


def traffic_in_effect(isvc: dict[str, Any], percent: int) -> bool:
    """Whether the InferenceService's status shows ``percent`` (its ``canaryTrafficPercent``) served on
    the latest revision by a ready route (``Observed.in_effect``; reconcile rule 8 times the bake from it).

    KServe turns ``canaryTrafficPercent`` into the Knative Service's traffic block, the latest revision
    (``latestRevision: true``) at that percent and the last rolled-out one (tag ``prev``) at the rest
    (kserve ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``
    ``createKnativeService``). Knative's Route writes that split to its ``status.traffic`` before its
    ingress is programmed and is ``Ready`` only once the ingress is (knative/serving
    ``pkg/reconciler/route/route.go`` ``configureTraffic``, ``ReconcileKind``:
    ``MarkIngressNotConfigured`` until the Ingress observed its generation); the Service copies the
    Route's status only once the Route observed the Service's change, and marks ``RoutesReady`` not
    ready meanwhile (``pkg/reconciler/service/service.go`` ``ReconcileKind``, ``checkRoutesNotReady``).
    KServe copies both: ``status.components.predictor.traffic`` and the ``PredictorRouteReady``
    condition (kserve ``pkg/apis/serving/v1beta1/inference_service_status.go`` ``PropagateStatus``). So
    the share is in effect when the latest revision's entries there sum to ``percent`` and that
    condition is True: a status KServe has not updated since the patch still shows the old share. A
    status with no traffic at all (not reconciled yet by KServe, or a stand-in) shows nothing to wait
    on: in effect, as before this was read; a missing condition is not waited on either.
    """
    status = isvc.get("status") or {}
    component = ((status.get("components") or {}).get("predictor")) or {}
    traffic = component.get("traffic")
    if not isinstance(traffic, list) or not traffic:
        return True
    latest = sum(int(t.get("percent") or 0) for t in traffic if isinstance(t, dict) and t.get("latestRevision"))
    route = next((c for c in status.get("conditions") or [] if isinstance(c, dict)
                  and c.get("type") == ROUTE_READY), None)
    return latest == percent and (route is None or route.get("status") == "True")


def _judged(isvc: dict[str, Any], created: str, version: str,
            knative_revision: dict[str, Any] | str | None) -> tuple[NotReady | None, str]:
    """(``not_ready``, ``detail``) for the not-ready newest revision ``created`` (see :func:`observe_isvc`)."""
    if knative_revision is None:
        return None, f"revision {created} is not ready yet"
    if isinstance(knative_revision, str):
        return None, (f"revision {created} is not ready yet; {knative_revision}, so which version it is of "
                      "cannot be told: not judging it")
    rev_meta = knative_revision.get("metadata") or {}
    made_for = _version_of(knative_revision)
    if made_for is None or made_for != version:
        return None, (f"KServe has not made version {version}'s revision yet (its newest revision, {created}, "
                      f"is of version {made_for if made_for is not None else 'unknown'})")
    return (not_ready_of(isvc, created, _epoch(rev_meta.get("creationTimestamp"))),
            f"revision {created} is not ready yet")


def not_ready_of(isvc: dict[str, Any], revision: str, created_at: float | None = None) -> NotReady:
    """What Knative says of the InferenceService's newest revision ``revision``, not ready.

    The chain, all in the InferenceService's status: Knative's Configuration reconciler marks its
    Ready condition Unknown (no reason) when it creates a revision that is not the latest ready one,
    and False, reason ``RevisionFailed``, message ``Revision "<name>" failed with message: <the
    revision's message>.``, when that revision's Ready condition is False (knative/serving
    ``pkg/apis/serving/v1/configuration_lifecycle.go`` ``SetLatestCreatedRevisionName``,
    ``MarkLatestCreatedFailed``; ``pkg/reconciler/configuration/configuration.go`` ``reconcile``);
    the Service copies it as ``ConfigurationsReady`` (``service_lifecycle.go``
    ``PropagateConfigurationStatus``), and KServe as :data:`CONFIGURATION_READY`. A revision's Ready
    is False when its image cannot be resolved (``ContainerMissing``), a container exited
    (``ExitCode<n>``), its pod cannot be scheduled (the ``PodScheduled`` condition's reason, e.g.
    ``Unschedulable``, unless config-deployment ``pod-is-always-schedulable`` is true, which Knative
    advises for clusters whose autoscaler adds nodes: then the revision stays Unknown until the
    progress deadline), or its Deployment exceeded the progress deadline (``ProgressDeadlineExceeded``,
    and waiting reasons such as ``ImagePullBackOff`` once it has) (``pkg/reconciler/revision/
    reconcile_resources.go`` ``reconcileDeployment``, ``revision_lifecycle.go``). ``since`` is the
    later of the condition's ``lastTransitionTime`` and ``created_at`` (the Revision's
    ``creationTimestamp``): the condition's time alone is not this revision's, because Knative moves
    it only when the condition changes (knative/pkg ``apis/condition_set.go`` ``SetCondition`` keeps
    the old ``LastTransitionTime`` when nothing else differs), and a revision created while the
    previous one was still Unknown marks it Unknown again, empty reason and message
    (``SetLatestCreatedRevisionName``: ``MarkUnknown(ConfigurationConditionReady, "", "")``), so the
    time stays the first not-ready revision's. No condition yet: not failed, no time. While the revision is not ready KServe's canary share goes nowhere new: its traffic target
    is ``latestRevision: true`` (kserve v0.15.0 ``reconcilers/knative/ksvc_reconciler.go``
    ``createKnativeService``), which Knative resolves to the latest READY revision (knative/serving
    ``pkg/apis/serving/v1/route_types.go`` ``TrafficTarget.LatestRevision``), the old one.
    """
    conditions = ((isvc.get("status") or {}).get("conditions")) or []
    found = next((c for c in conditions if isinstance(c, dict) and c.get("type") == CONFIGURATION_READY), None)
    if found is None:
        return NotReady(revision, failed=False)
    why = ": ".join(str(found[k]) for k in ("reason", "message") if found.get(k))
    changed = _epoch(found.get("lastTransitionTime"))
    times = [t for t in (changed, created_at) if t is not None]
    return NotReady(revision, failed=found.get("status") == "False", since=max(times) if times else None,
                    why=why if len(why) <= WHY_MAX else why[:WHY_MAX - 3] + "...")


def _epoch(stamp: Any) -> float | None:
    """An RFC 3339 time (``2026-12-05T14:00:00Z``, Kubernetes ``metav1.Time``) as epoch seconds; None if not one."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


BARE_KEYS = ("revision", "previous")
"""The status fields that name a version (with :data:`STABLE`): :func:`revision_key` s since the model is in the key."""


def keyed_fields(isvc: dict[str, Any], status_map: dict[str, Any] | None,
                 rolled_out: dict[str, Any] | str | None = None) -> dict[str, str]:
    """:func:`stored_fields` with every version they name as a :func:`revision_key` (:func:`qualified`). A bare
    number (written by an earlier runner) is taken to be of the model of KServe's last rolled-out Revision
    (``rolled_out``, read by :func:`rolled_out_candidate` while any stored version is bare) when that Revision
    is of that number, else of the InferenceService's model (:data:`MODEL`): so an upgrade applied with a
    switch to another model of the served number (the stored ``14`` is the old model's, which the rolled-out
    Revision names) is still a new version, and an unchanged endpoint's status reads as before."""
    fields = stored_fields(isvc, status_map)
    model = (((isvc.get("metadata") or {}).get("annotations")) or {}).get(MODEL)
    rolled = ((rolled_out.get("metadata") or {}).get("annotations") or {}) if isinstance(rolled_out, dict) else {}
    for key in (*BARE_KEYS, STABLE):
        value = fields.get(key)
        if value:
            same = rolled.get(MODEL) and str(rolled.get(VERSION)) == value
            fields[key] = qualified(value, str(rolled[MODEL]) if same else model)
    return fields


def stored_fields(isvc: dict[str, Any], status_map: dict[str, Any] | None) -> dict[str, str]:
    """The stored status fields: the ConfigMap's data, or (never written yet) the legacy annotations."""
    data = (status_map or {}).get("data") or {}
    if data:
        return {str(k): str(v) for k, v in data.items()}
    annotations = ((isvc.get("metadata") or {}).get("annotations")) or {}
    return {k[len(LEGACY_PREFIX):]: str(v) for k, v in annotations.items() if k.startswith(LEGACY_PREFIX)}


def status_patch(decision: Decision, observed: Observed) -> dict[str, Any] | None:
    """The ConfigMap ``data`` merge patch that records ``decision`` (None: nothing to write)."""
    data: dict[str, Any] = {}
    if decision.status is not None:
        data.update(decision.status.to_fields())
        for key in OPTIONAL_FIELDS:
            data.setdefault(key, None)  # merge patch: null deletes (a key this status does not write)
    stable = observed.revision if decision.action == "finish" else observed.stable
    if (data or stable != observed.stable) and stable is not None:
        data[STABLE] = stable
    return data or None


def traffic_patch(decision: Decision, observed: Observed) -> dict[str, Any] | None:
    """The InferenceService merge patch that moves the traffic for ``decision`` (None: unchanged)."""
    if decision.action in ("set_traffic", "finish", "rollback") and decision.percent is not None \
            and decision.percent != observed.percent:
        return {"spec": {"predictor": {"canaryTrafficPercent": decision.percent}}}
    return None
