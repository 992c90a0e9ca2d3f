"""Whether the environment's Kubernetes namespace already belongs to another system or environment.

One namespace holds one environment of one system: every object an environment compiles is named
without the system or the environment (the shared ``mlops-*`` objects of
``compile/kubernetes/names.py``, the items' ``<prefix>-<item>``, the InferenceService ``<endpoint>``),
so two of them in one namespace compile the same (kind, namespace, name) for most of their objects
(finding collisions-2: 24 for two systems, 54 of 56 for two environments of the reference system).
``validate`` refuses two environments of one spec in one namespace
(:mod:`mlops_infra.spec.shared_targets`), but it sees one system at a time; only the cluster knows
what another spec applied there. It says so on the namespace: the ``NamespacePatch`` every
Kubernetes environment compiles (``compile/kubernetes/platform.py`` ``compile_platform``) writes the
labels ``mlops-infra/system`` and ``mlops-infra/environment`` (:meth:`CompileContext.tags`, made
label-safe by ``compile/kubernetes/labels.py``) with ``pulumi.com/patchForce: "true"``.

What an apply into a namespace labelled for another system or environment does (why it is refused):
- the NamespacePatch forces this environment's labels over the other's (pulumi-kubernetes
  ``provider/pkg/await/await.go`` ``patchForce``: the annotation overwrites conflicting fields);
- then each object of the same name fails to create: "When a resource already exists in the cluster,
  the API server now returns an AlreadyExists error instead of silently updating the existing object"
  (pulumi-kubernetes CHANGELOG 4.29.0; mlops-infra pins 4.34.2 and never sets
  ``upsertExistingObjects``), so ``pulumi up`` stops part-way, after creating what had names of its
  own; were ``upsertExistingObjects`` set, it would take the other system's MLflow, scripts and
  rollout runner over instead.

So :func:`foreign_owner` compares the live namespace's ``mlops-infra/system`` and
``mlops-infra/environment`` labels with the values this graph's NamespacePatch writes: a namespace not
created yet, one without those labels, or one whose labels are this environment's is fine; a label
naming another system or environment is a :class:`ForeignOwner`, which :func:`refusal` turns into the
error that ``plan --refresh`` and ``apply`` raise before anything is changed
(``cli/commands/plan.namespace_owner_preflight``). The labels go away with the stack that wrote them:
``pulumi destroy`` deletes a Patch resource by ``ssa.Relinquish`` alone
(pulumi-kubernetes ``provider/pkg/await/await.go`` ``Deletion``), which drops the fields it set.

Pure: the caller reads the namespace (``GET /api/v1/namespaces/<name>``,
:func:`mlops_infra.kube.monitoring_stack.read_namespace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.diagnostics import error
from mlops_infra.errors import UserError

SYSTEM = "mlops-infra/system"
ENVIRONMENT = "mlops-infra/environment"
OWNER_KEYS = (SYSTEM, ENVIRONMENT)
"""The namespace labels that say which system and environment applied there."""
CODE = "namespace-owned-elsewhere"
NAMESPACE_TYPES = ("kubernetes:core/v1:NamespacePatch", "kubernetes:core/v1:Namespace")
"""The resource types a stack holds its namespace as (the Patch; before it, a plain Namespace)."""


@dataclass(frozen=True)
class ForeignOwner:
    """A namespace whose owner labels name another system or environment than this graph's."""

    namespace: str
    context: str
    env: str
    theirs: dict[str, str]
    """The owner labels the namespace carries (those of :data:`OWNER_KEYS` it has)."""
    ours: dict[str, str]
    """The owner labels this environment's NamespacePatch writes."""
    applied_here: bool
    """The prior state holds this namespace: this stack applied there before."""


def owner_labels(graph: Any) -> dict[str, str] | None:
    """The :data:`OWNER_KEYS` labels this graph's NamespacePatch writes; None without a namespace resource."""
    namespace = graph.metadata.get("namespace")
    for resource in graph.resources:
        if resource.type in NAMESPACE_TYPES and resource.name == namespace:
            labels = resource.inputs.get("metadata", {}).get("labels", {})
            return {key: labels[key] for key in OWNER_KEYS if key in labels}
    return None


def foreign_owner(graph: Any, live: Mapping[str, Any] | None, prior_resources: Any = ()) -> ForeignOwner | None:
    """The namespace's owner when its labels name another system or environment than ``graph``'s
    (see the module docstring); None when ``live`` is None (not created yet), carries no owner label,
    or carries this environment's. ``prior_resources`` (the prior state's resources) tell whether this
    stack applied there before, which only changes the advice."""
    ours = owner_labels(graph)
    if live is None or ours is None:
        return None
    labels = (live.get("metadata") or {}).get("labels") or {}
    theirs = {key: str(labels[key]) for key in OWNER_KEYS if key in labels}
    if all(ours.get(key) == value for key, value in theirs.items()):
        return None
    namespace = graph.metadata["namespace"]
    applied_here = any(r.type in NAMESPACE_TYPES and r.urn.rsplit("::", 1)[-1] == namespace
                       for r in prior_resources)
    return ForeignOwner(namespace, graph.metadata.get("context", ""), graph.stack, theirs, ours, applied_here)


def describe(labels: Mapping[str, str]) -> str:
    """``system X, environment Y`` from owner labels (a missing one is left out)."""
    parts = [f"{word} {labels[key]}" for word, key in (("system", SYSTEM), ("environment", ENVIRONMENT))
             if key in labels]
    return ", ".join(parts) or "no system"


def refusal(found: ForeignOwner, document: Any = None, *, what: str = "Nothing was planned") -> UserError:
    """The error for ``found``, at ``environments.<env>.target.namespace`` of ``document`` (a
    :class:`mlops_infra.spec.loader.LoadedDocument`) when given: what owns the namespace, what an
    apply would do, and the fixes."""
    ns, ctx = found.namespace, found.context
    summary = (f"namespace {ns} (context {ctx}) belongs to {describe(found.theirs)}, not to "
               f"{describe(found.ours)}")
    labels = " ".join(f"{k}={v}" for k, v in found.theirs.items())
    lines = [
        f"Its labels {labels} say another mlops-infra stack applied there. Objects are named without the "
        "system or environment (mlops-mlflow, mlops-scripts, one per item), so an apply would force this "
        "environment's labels on the namespace and then fail with AlreadyExists on the first object both "
        f"have, part-way. {what}.",
        f"Fix: give environments.{found.env}.target.namespace a namespace of its own (for example "
        f'"{ns}-{found.env}"); one namespace holds one environment of one system.',
    ]
    if found.applied_here:
        lines.append(
            "This stack's state already holds the namespace, so the other stack applied there after it and "
            "took the labels. Move that system or environment to a namespace of its own and `pulumi destroy` "
            "its stack here (that drops its labels), or, once it is gone, give the labels back: "
            f"kubectl --context {ctx} label namespace {ns} --overwrite "
            + " ".join(f"{k}={v}" for k, v in found.ours.items()))
    else:
        lines.append(
            f"If {describe(found.theirs)} no longer uses the namespace, `pulumi destroy` its stack (that drops "
            f"its labels) or remove them: kubectl --context {ctx} label namespace {ns} "
            + " ".join(f"{k}-" for k in found.theirs))
    detail = "\n".join(lines)
    diagnostics = ([] if document is None else
                   document.attach([error(CODE, summary, detail, ("environments", found.env, "target", "namespace"),
                                          f"environments.{found.env}")]))
    return UserError(summary, detail, diagnostics=diagnostics)
