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
``status.components.predictor.latestCreatedRevision`` and ``latestReadyRevision`` (the newest
revision that is ready; omitted while none is, as KServe's ``omitempty`` field). :meth:`sync` does
the same for objects stored with ``seed`` (no hook runs).

Readiness. A revision is ready at once, unless its version was told otherwise first:
:meth:`KServeRevisions.hold` (it stays deploying: Knative's Ready Unknown) or
:meth:`KServeRevisions.fail` (Knative marks it failed: Ready False with a message, e.g. a missing image's
``Unable to fetch image ...``, a crash's ``Container failed with: ...``, or the timed-out
Deployment's); :meth:`KServeRevisions.settle`
changes the newest revision later (it becomes ready, or Knative gives up on it), as KServe's next
status update does (a new ``resourceVersion``). What the InferenceService then shows is what KServe
0.15 copies from the Knative Service: ``status.conditions`` ``PredictorConfigurationReady`` = the
Configuration's Ready (True when the newest revision is the latest ready one; Unknown with no reason
while it deploys; False, reason ``RevisionFailed``, message ``Revision "<name>" failed with message:
<message>.`` once it failed: knative/serving ``configuration_lifecycle.go``
``SetLatestCreatedRevisionName`` / ``MarkLatestCreatedFailed``; kserve v0.15.0
``inference_service_status.go`` ``PropagateStatus``) and ``LatestDeploymentReady``, its aggregate
(reason ``PredictorConfigurationReady not ready`` unless True: ``PropagateCrossComponentStatus``).
A condition's ``lastTransitionTime`` is the stand-in's ``clock`` when the condition changes, kept
otherwise (knative/pkg ``apis/condition_set.go`` ``SetCondition``).

Revisions as objects. Each revision is also served as a Knative ``Revision``
(``serving.knative.dev/v1``, ``GET /apis/serving.knative.dev/v1/namespaces/<ns>/revisions/<name>``; the
stand-in is given a minimal CRD for it, :data:`REVISION_CRD`) whose ``metadata.annotations`` are the
template's (knative/serving ``pkg/reconciler/configuration/resources/revision.go`` ``MakeRevision``:
``ObjectMeta: configuration.Spec.GetTemplate().ObjectMeta``; the Service's template becomes the
Configuration's, ``pkg/reconciler/service/resources/configuration.go`` ``MakeConfigurationFromExisting``),
so it carries the ``mlops-infra/model-version`` it was made for, with ``creationTimestamp`` = the
``clock`` when it was made and its own ``Ready`` condition (True / Unknown / False with the message).

Deferred reconcile. The real controllers update the status in their own loops, after the write
(pulumi-kubernetes does not wait on a custom resource): with ``deferred=True`` a write of an
InferenceService only stores its spec, and :meth:`KServeRevisions.catch_up` reconciles later (new
revisions, the status, a new ``resourceVersion``), so a test can run a pass in between.
Ready conditions (``ready_conditions=True``; off by default, so other tests see the status as before):
the status also carries ``PredictorReady``, ``IngressReady`` and ``Ready``, as KServe 0.15 sets them in
Serverless mode (kserve v0.15.0 ``inference_service_status.go``: ``PropagateStatus`` copies the Knative
Service's ``Ready`` into ``PredictorReady`` through ``SetCondition``; ``Ready`` is the happy condition of
``conditionSet = apis.NewLivingConditionSet(PredictorReady, IngressReady)``). The Knative Service's
``Ready`` follows its Configuration here (knative/serving ``service_lifecycle.go``
``PropagateConfigurationStatus``: ``MarkFalse(ServiceConditionConfigurationsReady, cc.Reason,
cc.Message)`` on a living set of ``ConfigurationsReady`` and ``RoutesReady``), and knative/pkg
``apis/condition_set.go`` ``MarkFalse`` "sets the status of t and the happy condition to False" with t's
reason and message, ``MarkUnknown`` likewise: so a failed revision gives ``PredictorReady`` and
``Ready`` ``False``, reason ``RevisionFailed``, message ``Revision "<name>" failed with message:
<message>.``; a deploying one ``Unknown``; a ready one ``True``. Routes and ingress are always ready in
the stand-in (``IngressReady`` ``True``).
Traffic (``traffic=True``; off by default, so other tests see the status as before): a stand-in of
KServe's traffic targets and rolled-out revisions, transcribed from kserve v0.15.0 (:meth:`KServeRevisions._route`).
``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService`` l.119-160: with ``canaryTrafficPercent``
set and a ``LatestRolledoutRevision``, a ``latestRevision: true`` target at that percent and, below 100,
the rest on ``RevisionName: LatestRolledoutRevision`` (tag ``prev``); otherwise ("blue-green rollout")
``latestRevision: true`` at 100. Knative's Route resolves ``latestRevision: true`` to the
Configuration's latest READY revision (knative/serving ``pkg/apis/serving/v1/route_types.go``
``TrafficTarget.LatestRevision``). ``pkg/apis/serving/v1beta1/inference_service_status.go``
``PropagateStatus`` l.435-499: for the ``latestRevision`` target on the latest ready revision, when
that revision is not the ``latestRolledoutRevision`` and the target is at 100 %, "track the last
revision that's fully rolled out" (previous := latest rolled out, latest rolled out := it); when it
is, it is also the latest created one, its target is below 100 % and its revision holds 100 % in
total, and there is a previous rolled-out revision, the latest rolled-out one goes back to the
previous ("the latest ready revision is rolled out with 100% and then rolled back"); the Route's
traffic is copied into ``status.components.predictor.traffic``. KServe reconciles again when the
Knative Service's status changes, so the stand-in repeats the two until nothing moves. The route
is always ready (no ``PredictorRouteReady`` condition) unless :meth:`KServeRevisions.block_route`
says why it is not (Knative's ``RoutesReady`` False, copied by ``PropagateStatus`` l.492-494).
Not modelled: pods.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tests.support.kube_api import KubeApiStandIn, Resource, load_crds

DISALLOWED_ANNOTATIONS = frozenset({
    "autoscaling.knative.dev/min-scale",
    "autoscaling.knative.dev/max-scale",
    "internal.serving.kserve.io/storage-initializer-sourceuri",
    "kubectl.kubernetes.io/last-applied-configuration",
})
"""kserve v0.15.0 ``pkg/constants/constants.go`` ``ServiceAnnotationDisallowedList`` (exact keys)."""
VERSION = "mlops-infra/model-version"
CONFIGURATION_READY = "PredictorConfigurationReady"
ROUTE_READY = "PredictorRouteReady"
LATEST_DEPLOYMENT_READY = "LatestDeploymentReady"
State = Literal["ready", "deploying", "failed"]
REVISION = Resource("serving.knative.dev", "v1", "revisions", "Revision", builtin=False)
REVISION_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "revisions.serving.knative.dev"},
    "spec": {"group": "serving.knative.dev", "scope": "Namespaced",
             "names": {"plural": "revisions", "singular": "revision", "kind": "Revision", "listKind": "RevisionList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}
"""A minimal ``revisions.serving.knative.dev`` CRD (Knative Serving's ``config/core/300-resources/revision.yaml``
names), so the stand-in serves the revisions' REST paths."""


def template(isvc: dict[str, Any]) -> dict[str, Any]:
    """The part of an InferenceService that becomes the Knative revision template (see the module)."""
    meta = isvc.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in DISALLOWED_ANNOTATIONS}
    predictor = {k: v for k, v in ((isvc.get("spec") or {}).get("predictor") or {}).items()
                 if k != "canaryTrafficPercent"}
    return {"annotations": annotations, "predictor": copy.deepcopy(predictor)}


@dataclass
class Readiness:
    """How a revision stands: ``ready``, ``deploying`` (Ready Unknown) or ``failed`` (Ready False, with
    the revision's message; its reason is not shown on the InferenceService: the Configuration's
    reason is ``RevisionFailed`` whatever it was)."""

    state: State = "ready"
    message: str = ""


@dataclass
class Revision:
    name: str
    version: str
    template: dict[str, Any]
    readiness: Readiness = field(default_factory=Readiness)
    created: float = 0.0


@dataclass
class KServeRevisions:
    """The revisions KServe (through Knative) makes for each InferenceService of a stand-in."""

    api: KubeApiStandIn
    revisions: dict[tuple[str, str], list[Revision]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    by_version: dict[str, Readiness] = field(default_factory=dict)
    deferred: bool = False
    ready_conditions: bool = False
    """Also set ``PredictorReady``, ``IngressReady`` and ``Ready`` (module docstring, "Ready conditions")."""
    traffic: bool = False
    """Also route: ``status.components.predictor.traffic`` and the rolled-out revisions (module docstring, "Traffic")."""
    route_blocked: dict[str, str] | None = None
    """With ``traffic``: the ``PredictorRouteReady`` condition of a route that cannot be programmed (None: ready)."""

    def __post_init__(self) -> None:
        self.api.seed(REVISION_CRD)
        self.api.on_write(self._on_write)

    def _on_write(self, verb: str, obj: dict[str, Any]) -> None:
        if obj.get("kind") == "InferenceService" and verb != "delete" and not self.deferred:
            self._reconcile(obj)

    def catch_up(self) -> None:
        """KServe's (deferred) reconcile of every stored InferenceService now: new revisions, the status and
        a new ``resourceVersion`` (see "Deferred reconcile")."""
        with self.api._lock:
            for obj in list(self.api._store.objects.values()):
                if obj.get("kind") == "InferenceService":
                    self._reconcile(obj)
                    obj["metadata"]["resourceVersion"] = self.api._store.next_version()

    def _reconcile(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta["name"])
        made = self.revisions.setdefault(key, [])
        wanted = template(obj)
        if not made or made[-1].template != wanted:
            version = str(wanted["annotations"].get(VERSION, ""))
            made.append(Revision(f"{meta['name']}-predictor-{len(made) + 1:05d}", version, wanted,
                                 copy.copy(self.by_version.get(version, Readiness())), self.clock()))
            self._store_revision(key[0], made[-1])
        self._show(obj, made)

    def _stamp(self, moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _store_revision(self, namespace: str, revision: Revision) -> None:
        """The Knative Revision object of ``revision`` (see "Revisions as objects"), created or updated."""
        state = revision.readiness
        ready = {"type": "Ready", "status": {"ready": "True", "deploying": "Unknown", "failed": "False"}[state.state]}
        if state.state == "failed":
            ready["message"] = state.message
        self.api.seed({"apiVersion": REVISION.api_version, "kind": REVISION.kind,
                       "metadata": {"name": revision.name, "namespace": namespace,
                                    "annotations": dict(revision.template["annotations"])},
                       "status": {"conditions": [ready]}})
        stored = self.api._store.objects[(REVISION.group, REVISION.plural, namespace, revision.name)]
        stored["metadata"]["creationTimestamp"] = self._stamp(revision.created)

    def _show(self, obj: dict[str, Any], made: list[Revision]) -> None:
        """The InferenceService's status for its revisions (see the module docstring)."""
        status = obj.setdefault("status", {})
        component = status.setdefault("components", {}).setdefault("predictor", {})
        newest = made[-1]
        component["latestCreatedRevision"] = newest.name
        ready = [r.name for r in made if r.readiness.state == "ready"]
        if ready:
            component["latestReadyRevision"] = ready[-1]
        else:
            component.pop("latestReadyRevision", None)
        state = newest.readiness
        if state.state == "ready":
            configuration = {"type": CONFIGURATION_READY, "status": "True"}
        elif state.state == "deploying":
            configuration = {"type": CONFIGURATION_READY, "status": "Unknown"}
        else:
            configuration = {"type": CONFIGURATION_READY, "status": "False", "reason": "RevisionFailed",
                             "message": f'Revision "{newest.name}" failed with message: {state.message}.'}
        aggregate = {"type": LATEST_DEPLOYMENT_READY, "status": configuration["status"]}
        if aggregate["status"] != "True":
            aggregate["reason"] = f"{CONFIGURATION_READY} not ready"
        shown = [configuration, aggregate]
        if self.ready_conditions:
            said = {k: v for k, v in configuration.items() if k in ("status", "reason", "message")}
            shown += [{"type": "PredictorReady", **said}, {"type": "IngressReady", "status": "True"},
                      {"type": "Ready", **said}]
        if self.traffic:
            if self.route_blocked is not None:
                shown.append({"type": ROUTE_READY, "status": "False", **self.route_blocked})
            else:
                shown.append({"type": ROUTE_READY, "status": "True"})
            if self.route_blocked is None:  # a route that cannot be programmed keeps serving the old split
                self._route(component, made, ((obj.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent"))
        conditions = status.setdefault("conditions", [])
        for condition in shown:
            self._set_condition(conditions, condition)
        conditions.sort(key=lambda c: c["type"])

    def _route(self, component: dict[str, Any], made: list[Revision], canary: Any) -> None:
        """KServe's traffic targets and rolled-out revisions, to a fixed point (module docstring, "Traffic")."""
        ready = [r.name for r in made if r.readiness.state == "ready"]
        if not ready:
            return
        latest_ready, created = ready[-1], made[-1].name
        for _ in range(5):
            before = copy.deepcopy(component)
            rolled = component.get("latestRolledoutRevision", "")
            # ksvc_reconciler.go createKnativeService l.128-160
            if canary is not None and rolled != "":
                targets = [{"latestRevision": True, "percent": int(canary)}]
                if int(canary) < 100:
                    targets.append({"latestRevision": False, "percent": 100 - int(canary), "revisionName": rolled,
                                    "tag": "prev"})
            else:
                targets = [{"latestRevision": True, "percent": 100}]
            # Knative's Route: latestRevision resolves to the latest ready revision
            traffic = [{**t, "revisionName": latest_ready} if t["latestRevision"] else t for t in targets]
            # inference_service_status.go PropagateStatus l.443-466
            total: dict[str, int] = {}
            for t in traffic:
                total[t["revisionName"]] = total.get(t["revisionName"], 0) + t["percent"]
            for t in traffic:
                if t["revisionName"] != latest_ready or not t["latestRevision"]:
                    continue
                if component.get("latestRolledoutRevision", "") != latest_ready:
                    if t["percent"] == 100:
                        component["previousRolledoutRevision"] = component.get("latestRolledoutRevision", "")
                        component["latestRolledoutRevision"] = latest_ready
                elif latest_ready == created and t["percent"] < 100 and total.get(t["revisionName"]) == 100 \
                        and component.get("previousRolledoutRevision", ""):
                    component["latestRolledoutRevision"] = component["previousRolledoutRevision"]
            component["traffic"] = traffic  # PropagateStatus l.499
            if component == before:
                return

    def block_route(self, reason: str, message: str) -> None:
        """Knative's route cannot be programmed from now on (``RoutesReady`` False with ``reason`` and
        ``message``, e.g. ``RevisionMissing``: knative/serving ``route_lifecycle.go``
        ``MarkMissingTrafficTarget``); the old split keeps serving."""
        self.route_blocked = {"reason": reason, "message": message}

    def _set_condition(self, conditions: list[dict[str, Any]], condition: dict[str, Any]) -> None:
        """knative/pkg ``SetCondition``: the time moves only when something else of the condition does."""
        old = next((c for c in conditions if c["type"] == condition["type"]), None)
        if old is not None:
            if {k: v for k, v in old.items() if k != "lastTransitionTime"} == condition:
                return
            conditions.remove(old)
        stamp = self._stamp(self.clock())
        conditions.append({**condition, "lastTransitionTime": stamp})

    def hold(self, version: str) -> None:
        """Revisions made from now on for ``version`` stay deploying (Ready Unknown)."""
        self.by_version[version] = Readiness("deploying")

    def fail(self, version: str, message: str) -> None:
        """Revisions made from now on for ``version`` are failed by Knative (Ready False, ``message``)."""
        self.by_version[version] = Readiness("failed", message)

    def settle(self, name: str, state: State, message: str = "", namespace: str = "") -> str:
        """The newest revision of InferenceService ``name`` becomes ``state`` now (KServe's next status
        update: a new resourceVersion); returns that revision's name."""
        with self.api._lock:
            key = next(k for k in self.revisions if k[1] == name and k[0] in (namespace, k[0]))
            made = self.revisions[key]
            made[-1].readiness = Readiness(state, message)
            self._store_revision(key[0], made[-1])
            obj = next(o for o in self.api._store.objects.values() if o.get("kind") == "InferenceService"
                       and o["metadata"]["name"] == name and o["metadata"].get("namespace", "") == key[0])
            self._show(obj, made)
            obj["metadata"]["resourceVersion"] = self.api._store.next_version()
            return made[-1].name

    def sync(self) -> None:
        """Reconcile every stored InferenceService (after ``seed``, which runs no hook)."""
        with self.api._lock:  # the hook's lock: the store is mutated in place, as the hooks do
            for obj in list(self.api._store.objects.values()):
                if obj.get("kind") == "InferenceService":
                    self._reconcile(obj)

    def of_version(self, name: str, version: str, namespace: str = "") -> list[str]:
        """The revisions made for ``version`` of InferenceService ``name``."""
        return [r.name for (ns, n), made in self.revisions.items() if n == name and ns in (namespace, ns)
                for r in made if r.version == version]


def seed_endpoint(api: Any, namespace: str, name: str, version: int, stable: int) -> None:
    """Store an endpoint as the compiled graph leaves it for a rollout (no hook runs: ``seed``): its
    InferenceService serving model ``version`` at ``canaryTrafficPercent: 0``, and its ``rollout-<name>``
    status ConfigMap recording ``stable`` as the stable version."""
    api.seed({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": name, "namespace": namespace,
                           "annotations": {"mlops-infra/model-version": str(version)}},
              "spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": f"s3://m/{version}/"}}}})
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"rollout-{name}", "namespace": namespace},
              "data": {"stable-version": str(stable)}})


@contextmanager
def traffic_world(clock: Callable[[], float]) -> Iterator[tuple[KubeApiStandIn, KServeRevisions, Any]]:
    """``(api, kserve, clock)``: a stand-in serving the InferenceService CRD, with the tokens ``pulumi`` and
    ``rollout`` (the writers a rollout test tells apart), and KServe's revisions and traffic split
    (:class:`KServeRevisions` with ``traffic=True``) timed by ``clock``; the stand-in stops on exit."""
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml"),
                        tokens={"pulumi": None, "rollout": None}) as api:
        yield api, KServeRevisions(api, clock=clock, traffic=True), clock
