"""The platform component: what the system's items share in the cluster.

Contract: one ``mlops:core:Platform`` component named ``platform`` (address ``platform``) holds the
Namespace and every shared object; each part is compiled only when some item needs it
(:data:`PARTS`, a registry of predicate -> compiler, in order), so a system without endpoints
has no serving account and a system without drift monitors has no Pushgateway. Parts that
depend on items (the retrain trigger mounts the run templates) are in :data:`LATE_PARTS`, compiled
after the items. The component's inputs are facts the planner can summarise.

**The namespace is adopted or created, never deleted** (audit firstapply-1 b). The platform team creates
the Secrets the system uses in the namespace before it needs them (docs/compile-kubernetes.md
section 4), and a team namespace in a shared cluster exists before mlops-infra (its ResourceQuotas). So
the namespace is registered as ``kubernetes:core/v1:NamespacePatch``, not ``Namespace``
(pulumi-kubernetes 4.34.2, constraints.txt):

- *create*: a Patch resource is created with a server-side apply PATCH (provider/pkg/await/await.go
  ``Creation``: the ``kinds.IsPatchResource`` branch), which creates a missing namespace and applies
  our labels to an existing one. A plain Namespace is created with ``client.Create``, which since 4.29.0
  fails on a namespace that exists (CHANGELOG 4.29.0, "When a resource already exists in the cluster,
  the API server now returns an AlreadyExists error instead of silently updating the existing object";
  ``upsertExistingObjects`` defaults to false), so the first apply failed at the namespace and created
  nothing namespaced.
- *update*: the provider's ``Diff`` forces a replace of a Patch resource only when ``.metadata.name``
  or ``.metadata.namespace`` changes (provider/pkg/provider/provider.go ``Diff``); labels are applied
  in place.
- *delete* (``pulumi destroy``, or the system leaves the namespace): ``await.Deletion`` of a Patch
  resource only calls ``ssa.Relinquish`` (provider/pkg/ssa/actions.go: an apply of the bare identity
  under its field manager): the labels it set are dropped; the namespace, the platform team's Secrets
  and everything else in it stay. Deleting the namespace is the platform team's call.
- ``pulumi.com/patchForce: "true"``: "Conflicts will result in an error by default, but can be forced
  using the pulumi.com/patchForce annotation" (the NamespacePatch API docs; await.go ``patchForce``).
  The labels are mlops-infra's own, so a value another field manager set (the client-side create of a
  stack's old Namespace, manager ``pulumi-kubernetes``) must not fail the apply.
- *existing stacks* hold a ``kubernetes:core/v1:Namespace`` at :func:`legacy_namespace_urn`. The Patch
  carries that URN as an alias (:class:`mlops_infra.graph.ResourceOptions` ``aliases``): the engine
  diffs the old state with the Patch's provider rules (the annotation is added: an update in place) and
  never deletes the aliased URN (pulumi pkg/resource/deploy/step_generator.go ``getOldResource``,
  ``isOperatedOn``); ``plan`` shows the same (:mod:`mlops_infra.plan.planner`, aliases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_infra.compile.context import PLATFORM_TYPE
from mlops_infra.compile.facts import FACTS_VERSION
from mlops_infra.compile.kubernetes import images, names, rbac, registry, scripts, serving, storage, training
from mlops_infra.compile.kubernetes.alerting import compile_notify_failures
from mlops_infra.compile.kubernetes.monitoring import compile_pushgateway
from mlops_infra.compile.kubernetes.objects import KubeTarget, type_token
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec.monitoring import DRIFT_METRICS
from mlops_infra.spec.system import MLSystem

ADDRESS = "platform"
PATCH_FORCE = {"pulumi.com/patchForce": "true"}
"""The namespace's annotation: its labels win a server-side apply conflict (see the module docstring)."""


def has_training(system: MLSystem) -> bool:
    return bool(system.training_jobs)


def has_models(system: MLSystem) -> bool:
    return bool(system.models)


def has_endpoints(system: MLSystem) -> bool:
    return bool(system.endpoints)


def has_capture(system: MLSystem) -> bool:
    return any(e.capture for e in system.endpoints)


def has_drift(system: MLSystem) -> bool:
    return any(m.metric in DRIFT_METRICS for m in system.monitors)


def has_alert_triggers(system: MLSystem) -> bool:
    return any(j.triggers.on_alerts for j in system.training_jobs)


def has_channels(system: MLSystem) -> bool:
    return bool(system.channels)


def needed_scripts(system: MLSystem) -> list[str]:
    """The helper programs the system's workloads run."""
    wanted = {"launcher.py": has_training(system), "capture_sink.py": has_capture(system),
              "drift_job.py": has_drift(system), "register_model.py": has_models(system)}
    return [name for name in scripts.SCRIPTS if wanted[name]]


def compile_scripts(kube: KubeTarget) -> None:
    data = {name: scripts.source(name) for name in needed_scripts(kube.ctx.system)}
    obj = kube.obj("v1", "ConfigMap", names.SCRIPTS_CONFIG, ADDRESS, {"data": dict(sorted(data.items()))})
    kube.shared["scripts"] = kube.add(obj, parent=kube.platform, address=ADDRESS, role="helper-scripts")


PARTS: list[tuple[Callable[[MLSystem], bool], Callable[[KubeTarget], Any]]] = [
    (lambda s: True, storage.compile_object_store_config),
    (lambda s: bool(needed_scripts(s)), compile_scripts),
    (has_training, training.compile_training_accounts),
    (has_endpoints, lambda kube: rbac.compile_service_account(kube, "serving")),
    (has_models, registry.compile_registry),
    (has_capture, serving.compile_capture_sink),
    (has_drift, compile_pushgateway),
]
"""Shared parts compiled before the items: (is it needed?, compiler)."""

LATE_PARTS: list[tuple[Callable[[MLSystem], bool], Callable[[KubeTarget], Any]]] = [
    (has_alert_triggers, training.compile_retrain_trigger),
    (has_channels, compile_notify_failures),
]
"""Shared parts that depend on items, compiled after them."""


def platform_facts(kube: KubeTarget) -> dict[str, Any]:
    system = kube.ctx.system
    return {"factsVersion": FACTS_VERSION, "kind": "platform", "cloud": "kubernetes",
            "context": kube.ctx.target.context, "namespace": kube.namespace,
            "registry": {"kind": "mlflow", "image": images.MLFLOW} if has_models(system) else None,
            "modelsBucket": names.models_bucket(kube.ctx), "captureSink": has_capture(system),
            "pushgateway": has_drift(system), "retrainTrigger": has_alert_triggers(system)}


def compile_platform(kube: KubeTarget) -> None:
    """The platform component, the Namespace and the shared parts the system needs."""
    kube.platform = kube.ctx.builder.add(PLATFORM_TYPE, "platform", platform_facts(kube), custom=False,
                                         address=ADDRESS, role="component")
    namespace = kube.obj("v1", "Namespace", kube.namespace, ADDRESS, {}, annotations=PATCH_FORCE)
    kube.namespace_urn = kube.add(namespace, parent=kube.platform, address=ADDRESS, role="namespace", patch=True,
                                  options=ResourceOptions(aliases=(legacy_namespace_urn(kube),)))
    _run(kube, PARTS)


def legacy_namespace_urn(kube: KubeTarget) -> str:
    """The URN the namespace had as a ``kubernetes:core/v1:Namespace`` (stacks applied before it became a
    Patch resource): the same parent and name, the old type."""
    return kube.ctx.builder.urn_for(type_token("v1", "Namespace"), kube.namespace, kube.platform)


def finish_platform(kube: KubeTarget) -> None:
    _run(kube, LATE_PARTS)


def _run(kube: KubeTarget, parts: list[tuple[Callable[[MLSystem], bool], Callable[[KubeTarget], Any]]]) -> None:
    for needed, compile_part in parts:
        if needed(kube.ctx.system):
            compile_part(kube)
