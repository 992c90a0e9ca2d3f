"""The resources this one ``pulumi up`` adopts (imports) instead of creating: SageMaker models and endpoint configs
that already exist under the very name the graph gives them (audit rolloutaws-7, ``apply/adoption.py``).

Why: setting a previous model version back in the spec compiles the names of the model and config the rollout
controller kept in SageMaker (``plan/adopted.py`` says why they are equal by construction), and
``CreateModel``/``CreateEndpointConfig`` refuse a name that exists. Pulumi's ``import`` resource option takes the
existing object instead: "When provided with a resource ID, import indicates that this resource's provider should
import its state from the cloud resource with the given ID" (pulumi Python SDK ``ResourceOptions.import_``, sent
as ``importId`` in ``RegisterResource``, pulumi/runtime/resource.py). The engine then reads the object
(``ImportStep.Apply``: ``prov.Read`` with that ID; "resource '<id>' does not exist" if it is gone) and, with a
state that holds another object under the URN (the version it replaces), makes an ``import-replacement`` and
the replace of the old one, which its ``retainOnDelete`` only forgets (pulumi/pulumi
``pkg/resource/deploy/step_generator.go``: ``isImport := goal.Custom && goal.ID != "" && (old == nil ||
old.External || oldImportID != goal.ID)``, then ``NewImportReplacementStep`` and ``NewReplaceStep``). Since
pulumi/pulumi#19339 (v3.174.0) the imported state is then diffed with the program's inputs like any old state,
so an input that differs (a provider default tag added since) is updated after the import instead of failing it.
terraform-provider-aws reads a model and an endpoint config by their name (``d.SetId(name)`` in
``resourceModelCreate``/``resourceEndpointConfigurationCreate``), so the id is the name.

Contract: :data:`ADOPT_ENV` holds a JSON object ``{URN: id}``, set by apply in the environment of one ``pulumi up``
(the Automation API's workspace environment, as ``$MLOPS_INFRA_DELETE_FIRST`` is, :mod:`.delete_first`: for that
run only; a file or stack config would outlive it, and a later ``up`` of another version would import the wrong
object under the URN). :func:`adopted_ids` reads it ({} when unset); ``program/register._options`` registers each
of those resources with ``import_=<id>`` (:func:`import_id`), every other one as the graph holds it. The id must
be the resource's ``name`` input: apply found it from this very graph (the program refuses any other graph,
:mod:`.expected_graph`), so another id is a bug, never imported. The graph and its digest are unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

ADOPT_ENV = "MLOPS_INFRA_ADOPT"


class AdoptionError(RuntimeError):
    """What apply passed cannot be adopted as given (a bug in mlops-infra)."""


def adopted_ids(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """URN -> id of the resources :data:`ADOPT_ENV` names (see the module contract); {} when unset."""
    text = environ.get(ADOPT_ENV, "").strip()
    if not text:
        return {}
    try:
        ids = json.loads(text)
    except ValueError as exc:
        raise AdoptionError(f"${ADOPT_ENV} is not JSON ({exc}) (this is a bug in mlops-infra)") from exc
    if not isinstance(ids, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in ids.items()):
        raise AdoptionError(f"${ADOPT_ENV} is not an object of URN -> id (this is a bug in mlops-infra)")
    return ids


def adopt_env(ids: Mapping[str, str]) -> dict[str, str]:
    """The environment that makes the program import ``ids`` (URN -> id) in one ``up`` ({} for none)."""
    return {ADOPT_ENV: json.dumps(dict(sorted(ids.items())), separators=(",", ":"))} if ids else {}


def import_id(resource: Any, ids: Mapping[str, str]) -> str | None:
    """The id ``resource`` (a :class:`~mlops_infra.graph.DesiredResource`) is imported with, None when it is not
    adopted; an id other than its ``name`` input raises :class:`AdoptionError`."""
    wanted = ids.get(resource.urn)
    if wanted is None:
        return None
    if not resource.custom or resource.inputs.get("name") != wanted:
        raise AdoptionError(f"{resource.urn}: asked to import {wanted!r}, but the graph names it "
                            f"{resource.inputs.get('name')!r} (this is a bug in mlops-infra)")
    return wanted
