"""SageMaker models and endpoint configs the plan creates that already exist: adopted, not created (audit rolloutaws-7).

Why: a canary endpoint's model and config are ``retainOnDelete`` (``compile/aws/serving._kept``), so when
version 14 replaces 13 Pulumi forgets 13's and leaves them in SageMaker, where the rollout controller keeps them
(they serve ``primary`` during 14's rollout, and stay a day after its finish or until a later rollout after a
rollback: ``rollout/drivers/sagemaker.py``, "What is kept, and when it goes"). Their names are
``<endpoint>-v<N>-<hash>`` and ``<endpoint>-cfg-<hash>``, the hash taken over what the object is
(``compile/aws/serving._add_model``: the execution role's reference and the model package ARN, which names the
version; ``_add_config``: every input of the config, its model's name included). So setting version 13 back in
the spec (what docs/rollout.md and the driver's ``RollbackImpossible`` advise, or ``promote`` of an older
version) compiles the very names of the kept objects, and SageMaker refuses to create them again:
``CreateModel``/``CreateEndpointConfig`` answer "Cannot create already existing model" / "... endpoint
configuration" (ValidationException; ``apply/forgotten.py`` quotes it, ``tests/support/moto_server.py``
``existing_names_refused`` plays it). Equal names mean equal content by construction, so the existing object
is the one the spec asks for: ``mlops-infra apply`` adopts it with Pulumi's ``import`` resource option
(``apply/adoption.py``).

Contract (pure: the live read is the caller's):
- :func:`adoptable` lists the changes a live read must check: each ``create`` or ``replace`` of an
  ``aws:sagemaker/model:Model`` or ``aws:sagemaker/endpointConfiguration:EndpointConfiguration`` with the name the
  desired graph gives it (its ``name`` input), and the ML item it belongs to, in plan order.
- :func:`mark_adopted` returns the plan with each change whose name the read found (``existing``: URN -> the
  name found) marked: ``import_id`` set to that name and reason ``adopted``, whose message says in ML terms what
  exists and why ("version 13's model already exists in SageMaker (kept by the last rollout): adopted, not
  created"), plus one ``endpoint`` ML change per item saying the same of its model and config. ``kept`` holds the
  names the rollout controller records as kept on the item's endpoint (its ``mlops-infra:kept:*`` tags): those
  say "kept by the last rollout", any other "left in SageMaker earlier, not in the state". The action stays the
  create or replace (:class:`~mlops_infra.plan.model.ResourceChange`, ``import_id``). No read, no mark: the
  offline plan shows the create or replace it always did.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from mlops_infra.plan.model import Action, MLChange, Plan, Reason, ResourceChange, amended

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
KINDS = {CONFIG: "config", MODEL: "model"}
"""The types adopted, as the rollout controller names their kind in its kept entries."""
WORDS = {"config": "endpoint config", "model": "model"}
CODE = "adopted"
_VERSION = re.compile(r"-v(\d+)-[0-9a-z]+$")
"""The ``-v<N>-<hash>`` end of a model name (``compile/aws/serving._add_model``; the driver reads it too)."""


class Adoptable(NamedTuple):
    """A model or config the plan creates (or replaces) under ``name``, which may already exist."""

    urn: str
    kind: str
    """``model`` or ``config``."""
    name: str
    """The SageMaker name the graph gives it (its ``name`` input)."""
    address: str
    """The ML item (``endpoints.scorer``)."""


def adoptable(changes: Iterable[ResourceChange], graph: Any) -> tuple[Adoptable, ...]:
    """The creates and replaces a live read checks (see the module contract), in plan order."""
    by_urn = graph.by_urn()
    found = []
    for change in changes:
        kind = KINDS.get(change.type)
        resource = by_urn.get(change.urn) if kind else None
        if resource is None or change.action not in (Action.CREATE, Action.REPLACE):
            continue
        name = resource.inputs.get("name")
        if isinstance(name, str) and name:
            found.append(Adoptable(change.urn, kind, name, change.address or resource.address))
    return tuple(found)


def model_version(name: str) -> str | None:
    """The version a compiled model name ends with (``...-v13-959ecde2`` -> ``13``), None for another name."""
    match = _VERSION.search(name)
    return match.group(1) if match else None


def mark_adopted(plan: Plan, graph: Any, existing: Mapping[str, str], kept: Collection[str] = ()) -> Plan:
    """``plan`` with the changes ``existing`` names marked adopted (see the module contract)."""
    if not existing:
        return plan
    items = {a.urn: a for a in adoptable(plan.changes, graph) if existing.get(a.urn) == a.name}
    if not items:
        return plan
    versions = item_versions(graph, {a.address for a in items.values()})
    changes = tuple(_marked(c, items[c.urn], versions.get(items[c.urn].address), kept) if c.urn in items else c
                    for c in plan.changes)
    ml = [*plan.ml, *(_ml_line(address, [a for a in items.values() if a.address == address], versions.get(address),
                               kept) for address in sorted({a.address for a in items.values()}))]
    return amended(plan, changes=changes, ml=tuple(ml))


def item_versions(graph: Any, addresses: Collection[str]) -> dict[str, str]:
    """ML item -> the model version its desired model serves (from the model's name), for ``addresses``."""
    out = {}
    for resource in graph.resources:
        if resource.type == MODEL and resource.address in addresses:
            version = model_version(str(resource.inputs.get("name", "")))
            if version:
                out[resource.address] = version
    return out


def item_endpoints(graph: Any) -> dict[str, str]:
    """ML item -> the SageMaker name of its endpoint in the desired graph (where the rollout controller keeps its
    entries)."""
    return {r.address: str(r.inputs["name"]) for r in graph.resources
            if r.type == ENDPOINT and r.address and r.inputs.get("name")}


def _whose(version: str | None) -> str:
    return f"version {version}'s" if version else "the"


def _why(names: Iterable[str], kept: Collection[str]) -> str:
    return ("kept by the last rollout" if all(n in kept for n in names)
            else "left in SageMaker earlier, not in the state")


def _marked(change: ResourceChange, item: Adoptable, version: str | None, kept: Collection[str]) -> ResourceChange:
    forgotten = ("; the one the state holds now is only forgotten (retainOnDelete)"
                 if change.action is Action.REPLACE else "")
    message = (f"{_whose(version)} {WORDS[item.kind]} already exists in SageMaker ({_why([item.name], kept)}): "
               f"adopted, not created (Pulumi import of {item.name}, the same object by its content-hash name)"
               f"{forgotten}")
    return replace(change, import_id=item.name, reason=Reason(CODE, message))


def _ml_line(address: str, items: list[Adoptable], version: str | None, kept: Collection[str]) -> MLChange:
    kinds = sorted({a.kind for a in items}, key=lambda k: k != "model")
    what = " and ".join(WORDS[k] for k in kinds)
    verb = "exist" if len(items) > 1 else "exists"
    summary = (f"{_whose(version)} {what} already {verb} in SageMaker ({_why([a.name for a in items], kept)}): "
               "adopted, not created")
    return MLChange(address, "endpoint", summary, {"adopted": {a.kind: a.name for a in items},
                                                   **({"version": version} if version else {})})
