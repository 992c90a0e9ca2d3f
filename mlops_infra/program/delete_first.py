"""The resources this one ``pulumi up`` replaces deleting first, whatever their compiled option says.

Why: ``mlops-infra apply`` replaces a SageMaker endpoint it found ``Failed`` right before ``pulumi up``
(:mod:`mlops_infra.apply.failed_endpoints`) with ``up --replace <urn>``. A targeted replace asks no provider
(pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``diff``: ``if sg.isTargetedReplace(urn, old)`` returns
``DiffResult{Changes: DiffSome, ReplaceKeys: ["id"]}``, no ``DeleteBeforeReplace``), so the engine deletes first
only by the resource's own option (``continueStepsFromDiff``: ``deleteBeforeReplace := diff.DeleteBeforeReplace;
if goal.DeleteBeforeReplace != nil { deleteBeforeReplace = *goal.DeleteBeforeReplace }``). Created first, the new
endpoint would take the old one's name, which CreateEndpoint refuses ("The endpoint name must be unique within an
Amazon Web Services Region in your Amazon Web Services account", botocore sagemaker ``CreateEndpoint``). A fixed
``deleteBeforeReplace`` in the graph is no answer: a healthy endpoint replaced for another reason (a new provider,
another region) would then be deleted before its successor serves (an outage). So the option is set for this run
only, for the URNs apply names.

Contract: :data:`DELETE_FIRST_ENV` holds comma-separated URNs, set by apply in the environment of one ``pulumi
up`` (the Automation API's workspace environment, as ``$MLOPS_INFRA_REGISTRY_VIEW`` and
``$MLOPS_INFRA_PHASE_OMIT`` are: an environment variable, not stack config, because ``config set-all`` would
write it into the committed ``Pulumi.<env>.yaml`` and every later ``up`` would keep it).
:func:`delete_first_urns` reads it (empty when unset); ``program/register._options`` registers those resources
with ``delete_before_replace=True``, every other resource as the graph holds it. The graph and its digest are
unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DELETE_FIRST_ENV = "MLOPS_INFRA_DELETE_FIRST"


def delete_first_urns(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The URNs named by :data:`DELETE_FIRST_ENV` (see the module contract)."""
    return frozenset(u.strip() for u in environ.get(DELETE_FIRST_ENV, "").split(",") if u.strip())


def delete_first_env(urns: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The environment that makes the program register ``urns`` deleting first ({} for none)."""
    return {DELETE_FIRST_ENV: ",".join(urns)} if urns else {}
