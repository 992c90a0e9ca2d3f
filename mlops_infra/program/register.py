"""Register a desired graph with Pulumi: exactly its resources, nothing more.

Contract: :func:`register_graph` registers every resource of the graph once, in a deterministic
topological order over parents, providers and dependencies, and returns a :class:`Registration`
(URN -> resource object and the Python class used, for tests). For each resource:

- ``custom=False``: the named component class of its type (:mod:`mlops_infra.program.components`),
  with the ML facts as props; ``finish()`` (``register_outputs``) runs after every child exists;
- ``pulumi:providers:<pkg>``: the SDK's typed ``Provider`` (explicit provider), graph inputs plus
  stack-config overrides, a secret one as a secret (:mod:`mlops_infra.program.providers`);
- a token an installed SDK registers: that typed class (``pulumi_aws.s3.Bucket``,
  ``pulumi_kubernetes.core.v1.Namespace``), engine input names mapped to its keyword arguments;
- another ``kubernetes:<group>/<version>:<Kind>`` (a CRD kind):
  ``pulumi_kubernetes.apiextensions.CustomResource`` with ``api_version``, ``kind``, ``metadata``
  and ``spec``.

Options: ``parent``, ``provider``, ``depends_on`` for the explicit edges (dependencies that are not
refs in the inputs), ``protect``, ``replace_on_changes``, ``delete_before_replace``,
``ignore_changes``, ``additional_secret_outputs``, ``retain_on_delete``, ``aliases`` and ``deleted_with`` (engine names;
the SDK passes them through; aliases are full URNs, which the SDK sends as ``Alias{urn}``, pulumi/runtime/resource.py
``prepare_aliases``; ``deleted_with`` is given as the registered resource of that URN, whose URN the SDK sends as
``deletedWith``, pulumi/runtime/resource.py ``prepare_resource``, refused by a CLI without the DeletedWith
feature).
``delete_before_replace`` is passed as the graph holds it: ``None`` (unset, the provider decides the
order of a replace) or an explicit ``True``/``False``, which the SDK sends with
``deleteBeforeReplaceDefined`` (pulumi/runtime/resource.py) so the engine uses it instead of the
provider's answer; a URN that ``$MLOPS_INFRA_DELETE_FIRST`` names gets ``True`` for that run
(:mod:`mlops_infra.program.delete_first`: a Failed SageMaker endpoint apply replaces); a URN that
``$MLOPS_INFRA_ADOPT`` names gets ``import_=<its id>`` for that run (:mod:`mlops_infra.program.adopt`: a SageMaker
model or endpoint config that already exists under its content-hash name is adopted, not created; audit
rolloutaws-7).
A graph the SDK cannot express (unknown input name, unknown token) raises :class:`GraphRegistrationError`:
that is a bug in the compiler, never a user mistake.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlops_infra.graph import REF, DesiredGraph, DesiredResource, iter_refs
from mlops_infra.program.adopt import adopted_ids, import_id
from mlops_infra.program.components import MlComponent, component_class
from mlops_infra.program.delete_first import delete_first_urns
from mlops_infra.program.inputs import to_pulumi
from mlops_infra.program.providers import provider_inputs, provider_options
from mlops_infra.program.types import kwarg_names, package_of, resource_class


class GraphRegistrationError(RuntimeError):
    """The desired graph cannot be expressed with the Pulumi SDKs (a bug in mlops-infra)."""


@dataclass
class Registration:
    """What the program registered: URN -> resource object, and URN -> Python class used."""

    resources: dict[str, pulumi.Resource] = field(default_factory=dict)

    @property
    def classes(self) -> dict[str, type]:
        return {urn: type(res) for urn, res in self.resources.items()}


def registration_order(resources: Iterable[DesiredResource]) -> list[str]:
    """URNs ordered so parents, providers and dependencies come first (smallest URN first on ties)."""
    by_urn = {r.urn: r for r in resources}
    needs = {urn: {u for u in (r.parent, r.provider, *r.dependencies) if u in by_urn and u != urn}
             for urn, r in by_urn.items()}
    dependents: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, required in needs.items():
        for other in required:
            dependents[other].append(urn)
    ready = [urn for urn, required in needs.items() if not required]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        urn = heapq.heappop(ready)
        order.append(urn)
        for dependent in dependents[urn]:
            needs[dependent].discard(urn)
            if not needs[dependent]:
                heapq.heappush(ready, dependent)
    if len(order) != len(by_urn):
        stuck = sorted(set(by_urn) - set(order))[:3]
        raise GraphRegistrationError(f"dependency cycle through {stuck} (this is a bug in mlops-infra)")
    return order


def register_graph(graph: DesiredGraph) -> Registration:
    """Register every resource of ``graph`` (see the module contract)."""
    registration = Registration()
    adopted = adopted_ids()  # rolloutaws-7: this run imports these (apply/adoption.py), read once
    for resource in _ordered(graph):
        registration.resources[resource.urn] = _register(resource, registration.resources, adopted)
    for res in registration.resources.values():
        if isinstance(res, MlComponent):
            res.finish()
    return registration


def _ordered(graph: DesiredGraph) -> list[DesiredResource]:
    missing = {u for r in graph.resources for u in (r.parent, r.provider, *r.dependencies)
               if u is not None} - {r.urn for r in graph.resources}
    if missing:
        raise GraphRegistrationError(f"references to unknown resources {sorted(missing)[:3]} "
                                     "(this is a bug in mlops-infra)")
    by_urn = graph.by_urn()
    return [by_urn[urn] for urn in registration_order(graph.resources)]


def _options(resource: DesiredResource, registered: dict[str, pulumi.Resource],
             adopted: dict[str, str] | None = None) -> pulumi.ResourceOptions:
    refs = {r[REF] for r in iter_refs(resource.inputs)}
    explicit = [registered[u] for u in resource.dependencies if u not in refs]
    options = resource.options
    return pulumi.ResourceOptions(
        parent=registered[resource.parent] if resource.parent else None,
        provider=registered[resource.provider] if resource.provider else None,
        depends_on=explicit or None,
        protect=options.protect or None,
        replace_on_changes=list(options.replace_on_changes) or None,
        # tri-state: None lets the provider decide; True for this run only when apply names it (program/delete_first.py)
        delete_before_replace=True if resource.urn in delete_first_urns() else options.delete_before_replace,
        ignore_changes=list(options.ignore_changes) or None,
        additional_secret_outputs=list(options.additional_secret_outputs) or None,
        retain_on_delete=options.retain_on_delete or None,
        aliases=list(options.aliases) or None,
        deleted_with=registered[options.deleted_with] if options.deleted_with else None,
        import_=import_id(resource, adopted) if adopted else None,  # rolloutaws-7: adopted for this run only
    )


def _register(resource: DesiredResource, registered: dict[str, pulumi.Resource],
              adopted: dict[str, str] | None = None) -> pulumi.Resource:
    opts = _options(resource, registered, adopted)

    def lookup(urn: str) -> pulumi.Resource:
        if urn not in registered:
            raise GraphRegistrationError(f"{resource.urn} refers to {urn}, not registered before it "
                                         "(this is a bug in mlops-infra)")
        return registered[urn]

    if not resource.custom:
        return component_class(resource.type)(resource.name, to_pulumi(resource.inputs, lookup), opts,
                                              type_=resource.type)
    inputs = resource.inputs
    if resource.type.startswith("pulumi:providers:"):
        inputs = provider_inputs(resource.type, inputs)
        opts = provider_options(resource.type, opts)  # secret stack-config overrides (audit secrets-1)
    cls = resource_class(resource.type)
    if cls is None:
        return _custom_resource(resource, opts, lookup)
    return cls(resource.name, opts=opts, **_kwargs(resource, cls, inputs, lookup))


def _kwargs(resource: DesiredResource, cls: type, inputs: dict[str, Any], lookup) -> dict[str, Any]:
    names = kwarg_names(cls)
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise GraphRegistrationError(
            f"{resource.urn}: {cls.__module__}.{cls.__name__} has no input {', '.join(unknown)} "
            "(this is a bug in mlops-infra)")
    return {names[key]: to_pulumi(value, lookup) for key, value in inputs.items()}


CRD_FIELDS = ("apiVersion", "kind", "metadata", "spec")
"""Top-level fields a Kubernetes custom resource may carry in the graph."""


def _custom_resource(resource: DesiredResource, opts: pulumi.ResourceOptions, lookup) -> pulumi.Resource:
    if package_of(resource.type) != "kubernetes":
        raise GraphRegistrationError(f"{resource.urn}: no installed Pulumi SDK registers type "
                                     f"{resource.type} (this is a bug in mlops-infra)")
    from pulumi_kubernetes.apiextensions import CustomResource

    _, api_version, kind = resource.type.split(":")
    inputs = resource.inputs
    extra = sorted(set(inputs) - set(CRD_FIELDS))
    if extra or inputs.get("apiVersion", api_version) != api_version or inputs.get("kind", kind) != kind:
        raise GraphRegistrationError(
            f"{resource.urn}: a custom resource carries only {', '.join(CRD_FIELDS)} matching its type "
            f"(extra: {extra}) (this is a bug in mlops-infra)")
    return CustomResource(resource.name, api_version=api_version, kind=kind,
                          metadata=to_pulumi(inputs.get("metadata"), lookup),
                          spec=to_pulumi(inputs.get("spec"), lookup), opts=opts)
