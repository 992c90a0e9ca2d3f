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

Kubernetes, one cluster (kubeconfig context): the Kueue ``ClusterQueue`` and ``ResourceFlavor`` are
cluster-scoped. A ClusterQueue is named ``<system>-<env>-<cluster>`` (``compile/kubernetes/names.py``
``cluster_scoped``); so is the ResourceFlavor of a cluster without ``borrowing``, while clusters with
``borrowing`` name their cohort's shared flavor ``<system>-<env>-<cohort>-<7 hex digits>`` (the cohort
part cut so the whole fits 63 characters; ``compile/kubernetes/queues.py`` ``flavor_name``, audit
k8sapply-3). So environments ``dev`` and ``dev-us`` in one context nest the same way (finding
closing-32c-1). With a cluster ``us-train`` and a cluster ``train``, ``dev``'s ``us-train`` and
``dev-us``'s ``train`` are both ``<system>-dev-us-train``: the second environment's first ``pulumi
up`` fails with AlreadyExists, as above. Clusters are the system's, the same in every environment, so
that collision is decided from the names alone: an error (``cluster-scoped-name-collision``) when one
cluster is named ``<suffix>-<other cluster>`` (a ClusterQueue each, and a ResourceFlavor each when
neither cluster has ``borrowing``); otherwise nested names in one context are the same warning as in
one AWS account.

A cluster's own flavor can also take a cohort flavor's name (audit k8sapply-3, left by stop 35): with a cluster
``team-<7 hex digits>`` and a cohort ``team``, ``<system>-dev-team-<digits>`` is both (in one
environment, or ``dev``'s cluster ``us-team-<digits>`` and ``dev-us``'s cohort ``team``). Within one
stack that is two ResourceFlavors of one Pulumi name, and compile stops on a duplicate URN ("this is a
bug in mlops-infra", ``graph.py`` ``GraphBuilder.add``); across stacks, AlreadyExists as above. The digits are a digest of the node type (GPU labels, tolerations,
resources), which compile decides (``queues.py`` ``lending_key``) and any change of GPU type or spot
moves; validate cannot compute it from the spec layer, and no cluster needs such a name, so a
cluster whose own flavor (``<system>-<env>-<cluster>``, in an environment where it has no
``borrowing``) is ``<the cohort part of a cohort flavor of that context>-<7 hex digits>`` is the same
error, at the cluster's name, whatever the digits (:func:`check_cohort_flavor_names`). Which clusters
borrow, and in which cohort, is read from the base document and each environment's overrides
(``clusters.<name>.borrowing`` and ``clusters.<name>.borrowing.cohort``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

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
                own = borrowing_cohorts(ctx, outer).get(meet[0]) is None and borrowing_cohorts(ctx, name).get(meet[1]) is None
                kinds = "ClusterQueue and ResourceFlavor" if own else "ClusterQueue"
                yield error("cluster-scoped-name-collision",
                            f'Environments "{outer}" and "{name}" in context {context} both name a Kueue {kinds} '
                            f"{shared}",
                            "A ClusterQueue is cluster-wide and named <system>-<environment>-<cluster> (so is the "
                            f"ResourceFlavor of a cluster without borrowing): cluster {meet[0]} of {outer} and cluster "
                            f"{meet[1]} of {name} give the same name, so the second environment's first apply fails "
                            "with AlreadyExists. Rename one of the environments or clusters, or use another cluster.",
                            ("environments", name), f"environments.{name}")
            else:
                yield warning("nested-environment-names",
                              f'Environment "{name}" starts with "{outer}-", and both are in Kubernetes context {context}',
                              f"The Kueue ClusterQueues (and the ResourceFlavors of clusters without borrowing) are "
                              f"cluster-wide and named <system>-<environment>-<cluster>, so a cluster named \"{suffix}-<x>\" in {outer} would "
                              f'be named like cluster "<x>" in {name}. Rename one of them (for example '
                              f'"{name.replace("-", "")}") or use another cluster.', ("environments", name),
                              f"environments.{name}")
    yield from check_cohort_flavor_names(ctx, contexts)
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


FLAVOR_DIGEST = 7
"""Hex digits ending a cohort's shared ResourceFlavor name (``compile/kubernetes/queues.py`` ``FLAVOR_DIGEST``)."""
NAME_MAX = 63
"""The longest ResourceFlavor name compile writes (``queues.py`` ``flavor_name`` cuts the cohort part to fit)."""


def borrowing_cohorts(ctx: CheckContext, env: str) -> dict[str, str | None]:
    """Cluster name -> the cohort it borrows in environment ``env`` (None: no ``borrowing``, its own flavor):
    the base document's ``borrowing``, replaced by the environment's overrides ``clusters.<name>.borrowing``
    (a mapping or null) or ``clusters.<name>.borrowing.cohort``."""
    cohorts = {c.name: c.borrowing.cohort if c.borrowing else None for c in ctx.system.clusters}
    environment = ctx.system.environments.get(env)
    for key, value in (environment.overrides if environment else {}).items():
        parts = str(key).split(".")
        if parts[0] != "clusters" or len(parts) < 3 or parts[1] not in cohorts or parts[2] != "borrowing":
            continue
        if len(parts) == 3:
            cohort = value.get("cohort") if isinstance(value, Mapping) else None
            cohorts[parts[1]] = cohort if isinstance(cohort, str) else None
        elif parts[3:] == ["cohort"] and isinstance(value, str):
            cohorts[parts[1]] = value
    return cohorts


def cohort_flavor_prefix(system: str, env: str, cohort: str) -> str:
    """What a cohort's shared ResourceFlavor name in ``env`` is before ``-<7 hex digits>``: ``<system>-<env>-<cohort>``
    (a cohort's dots become ``-``, as compile's physical names make them) cut to leave room for the digits, as
    ``compile/kubernetes/queues.py`` ``flavor_name`` cuts it."""
    return f"{system}-{env}-{cohort.replace('.', '-')}"[:NAME_MAX - FLAVOR_DIGEST - 1].rstrip("-")


def check_cohort_flavor_names(ctx: CheckContext, contexts: Mapping[str, list[str]]) -> Iterator[Diagnostic]:
    """A cluster whose own ResourceFlavor is named like a cohort's shared one in the same Kubernetes context (see
    the module docstring): ``cluster-scoped-name-collision`` at the cluster's name, once per cluster."""
    system = ctx.system.metadata.name
    for context, envs in contexts.items():
        shared = [(env, cohort, re.compile(re.escape(cohort_flavor_prefix(system, env, cohort))
                                           + f"-[0-9a-f]{{{FLAVOR_DIGEST}}}"))
                  for env in envs for cohort in sorted({c for c in borrowing_cohorts(ctx, env).values() if c})]
        if not shared:
            continue
        for i, cluster in enumerate(ctx.system.clusters):
            meet = next(((env, own, other, cohort) for env in envs
                         if borrowing_cohorts(ctx, env)[cluster.name] is None
                         for own in [f"{system}-{env}-{cluster.name}"] if len(own) <= NAME_MAX
                         for other, cohort, pattern in shared if pattern.fullmatch(own)), None)
            if meet is None:
                continue
            env, own, other, cohort = meet
            where = f"in environment {env}" if other == env else f"in environments {env} and {other} (context {context})"
            yield error("cluster-scoped-name-collision",
                        f'Cluster "{cluster.name}" is named like the shared Kueue ResourceFlavor of cohort "{cohort}" '
                        f"{where}: {own}",
                        f"A cluster without borrowing has its own ResourceFlavor, <system>-<environment>-<cluster> "
                        f"({own}), and the clusters that borrow in cohort {cohort} share one named "
                        f"{cohort_flavor_prefix(system, other, cohort)}-<{FLAVOR_DIGEST} hex digits of their node type>; "
                        "a ResourceFlavor is cluster-wide, so when the digits are the same both are one object and "
                        "the apply fails with AlreadyExists (the digits change with the GPU type or spot). Rename "
                        f'the cluster so it does not end in "-<{FLAVOR_DIGEST} hex digits>" after the cohort, for '
                        f'example "{cluster.name[:-FLAVOR_DIGEST - 1] or "train"}-gpu".',
                        ("clusters", i, "name"), f"clusters.{cluster.name}")
