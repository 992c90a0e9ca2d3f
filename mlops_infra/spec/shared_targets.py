"""Environments of one system that share a place their resources' names cannot tell apart.

Kubernetes: every object an environment compiles is named without the system or the environment
(the shared ``mlops-*`` objects: ``compile/kubernetes/names.py``; the items' ``<prefix>-<item>``;
the InferenceService ``<endpoint>``): one namespace holds one environment of one system. Two
environments with the same kubeconfig context and namespace compile 54 of their 56 objects
(the reference system) with the same kind and name (finding collisions-2). pulumi-kubernetes 4.29
and later refuse to create an object that already exists ("When a resource already exists in the
cluster, the API server now returns an AlreadyExists error instead of silently updating", its
CHANGELOG 4.29.0; mlops-infra pins 4.34.2 and never sets ``upsertExistingObjects``), so the second
environment's first ``pulumi up`` fails part-way; and both stacks' NamespacePatches would keep
writing their own ``mlops-infra/environment`` label on the namespace. :func:`check_shared_targets`
refuses it (``shared-namespace``, an error on the second environment).

AWS: physical names are ``<system>-<env>-<parts>`` (``compile/naming.py``), so in one account an
environment whose name is another's plus ``-<x>`` shares that environment's name prefix: a role
``fraud-prod-us-...`` of environment ``prod-us`` matches environment ``prod``'s widened IAM grant
``fraud-prod-*`` (``compile/aws/iam.py`` ``widened``; IAM's ``*`` matches any characters within an
ARN segment: "IAM JSON policy elements: Resource",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), and an
item ``us-scorer`` of ``prod`` is named like item ``scorer`` of ``prod-us`` (finding collisions-4).
:func:`check_shared_targets` warns (``nested-environment-names``): nothing fails until an item
name or a widened grant meets the other environment, but then the wrong environment's resource is
named or granted.

Kubernetes, one cluster (kubeconfig context): the Kueue ``ResourceFlavor`` and ``ClusterQueue`` are
cluster-scoped and named ``<system>-<env>-<cluster>`` (``compile/kubernetes/names.py``
``cluster_scoped``; ``queues.py``), so environments ``dev`` and ``dev-us`` in one context nest the same
way (finding closing-32c-1). With a cluster ``us-train`` and a cluster ``train``, ``dev``'s
``us-train`` and ``dev-us``'s ``train`` are both ``<system>-dev-us-train``: the second environment's
first ``pulumi up`` fails with AlreadyExists, as above. Clusters are the system's, the same in every
environment, so that collision is decided from the names alone: an error
(``cluster-scoped-name-collision``) when one cluster is named ``<suffix>-<other cluster>``; otherwise
nested names in one context are the same warning as in one AWS account.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error, warning
from mlops_infra.spec.context import CheckContext


def check_shared_targets(ctx: CheckContext) -> Iterator[Diagnostic]:
    """See the module docstring: one namespace per environment; nested names in one AWS account."""
    places: dict[tuple[str, str], str] = {}
    accounts: dict[str, list[str]] = {}
    contexts: dict[str, list[str]] = {}
    for name, environment in ctx.system.environments.items():
        target = environment.target
        if target.kind == "kubernetes":
            contexts.setdefault(target.context, []).append(name)
            first = places.setdefault((target.context, target.namespace), name)
            if first != name:
                yield error("shared-namespace",
                            f'Environments "{first}" and "{name}" use the same namespace {target.namespace} '
                            f"in context {target.context}",
                            "Each environment's objects are named without the environment (the shared mlops-* "
                            "objects, one per item), so the second one's first apply fails with AlreadyExists and "
                            "the two would overwrite each other's namespace labels. Give each environment a "
                            f'namespace of its own, for example "{target.namespace}-{name}".',
                            ("environments", name, "target", "namespace"), f"environments.{name}")
        else:
            accounts.setdefault(target.account, []).append(name)
    clusters = [c.name for c in ctx.system.clusters]
    for context, names in contexts.items():
        for name in names:
            outer = next((other for other in names if other != name and name.startswith(f"{other}-")), None)
            if outer is None:
                continue
            suffix = name.removeprefix(f"{outer}-")
            meet = next(((a, b) for a in clusters for b in clusters if a == f"{suffix}-{b}"), None)
            if meet is not None:
                shared = f"{ctx.system.metadata.name}-{name}-{meet[1]}"
                yield error("cluster-scoped-name-collision",
                            f'Environments "{outer}" and "{name}" in context {context} both name a Kueue ClusterQueue '
                            f"and ResourceFlavor {shared}",
                            f"These are cluster-wide and named <system>-<environment>-<cluster>: cluster {meet[0]} of "
                            f"{outer} and cluster {meet[1]} of {name} give the same name, so the second environment's "
                            "first apply fails with AlreadyExists. Rename one of the environments or clusters, or use "
                            "another cluster.", ("environments", name), f"environments.{name}")
            else:
                yield warning("nested-environment-names",
                              f'Environment "{name}" starts with "{outer}-", and both are in Kubernetes context {context}',
                              f"The Kueue ClusterQueues and ResourceFlavors are cluster-wide and named "
                              f"<system>-<environment>-<cluster>, so a cluster named \"{suffix}-<x>\" in {outer} would "
                              f'be named like cluster "<x>" in {name}. Rename one of them (for example '
                              f'"{name.replace("-", "")}") or use another cluster.', ("environments", name),
                              f"environments.{name}")
    for account, names in accounts.items():
        for name in names:
            outer = next((other for other in names if other != name and name.startswith(f"{other}-")), None)
            if outer is not None:
                yield warning("nested-environment-names",
                              f'Environment "{name}" starts with "{outer}-", and both are in AWS account {account}',
                              f"Physical names are <system>-<environment>-..., so {outer}'s names and widened IAM "
                              f"grants (<system>-{outer}-*) also match {name}'s resources, and an item named "
                              f'"{name.removeprefix(outer + "-")}-<x>" in {outer} is named like item "<x>" in {name}. '
                              f'Rename one of them (for example "{name.replace("-", "")}") or use another account.',
                              ("environments", name), f"environments.{name}")
