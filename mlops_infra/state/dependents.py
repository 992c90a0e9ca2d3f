"""Which resources of a stack's state depend on given ones, as ``pulumi state delete`` sees it.

Contract: :func:`state_dependents` returns the URNs of the resources of a :class:`PriorState` that
depend, directly or transitively, on any of the given URNs, in state order, the given ones left out.

This is the check ``pulumi state delete`` runs before it drops a resource (pulumi/pulumi
``pkg/resource/edit/operations.go`` ``DeleteResource``: ``deps := dg.OnlyDependsOn(condemnedRes)``,
and with any, ``ResourceHasDependenciesError`` unless ``--target-dependents``;
``pkg/cmd/pulumi/state/state_delete.go`` prints "can't be safely deleted because the following
resources depend on it" and, the whole edit being one ``runTotalStateEdit``, drops nothing).
``OnlyDependsOn`` (``pkg/resource/graph/dependency_graph.go``) follows a resource's parent,
``dependencies``, ``propertyDependencies``, ``deletedWith``, ``replaceWith`` and provider, transitively.
The state model keeps ``parent``, ``dependencies`` and ``provider``, which is all of them for the
stacks this project writes: the Python SDK puts every property dependency into ``dependencies`` too
(``sdk/python/lib/pulumi/runtime/resource.py`` ``_prepare_resource``: ``dependencies |= urns`` for
each property's), and the program sets neither ``deleted_with`` nor ``replace_with``. Several
resources under one URN (a pending replace) are treated as one, where Pulumi tells them apart by ID:
this can only name more dependents, never fewer.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlops_infra.state.model import PriorState


def state_dependents(prior: PriorState, urns: Iterable[str]) -> list[str]:
    """The URNs in ``prior`` that depend on any of ``urns`` (see the module contract), in state order."""
    condemned = set(urns)
    found: list[str] = []
    resources = list(prior.resources.values())
    grew = True
    while grew:  # the state is written in dependency order, so one pass nearly always suffices
        grew = False
        for resource in resources:
            if resource.urn in condemned:
                continue
            if (resource.parent in condemned or resource.provider in condemned
                    or any(dep in condemned for dep in resource.dependencies)):
                condemned.add(resource.urn)
                found.append(resource.urn)
                grew = True
    order = {urn: index for index, urn in enumerate(prior.resources)}
    return sorted(found, key=order.__getitem__)
