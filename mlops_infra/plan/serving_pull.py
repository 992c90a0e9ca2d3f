"""A SageMaker serving role that loses the pull of an image its endpoint may still run (audit removal-2,
the image side).

A compiled SageMaker ``Model`` names only its model package (``compile/aws/serving._add_model``:
``primaryContainer.modelPackageName``), so it runs the image that package was registered with
(botocore ``ModelPackageContainerDefinition.Image``), and SageMaker pulls that image with the model's
execution role, the endpoint's serving role, whenever it starts an instance: botocore
``CreateModelInput.ExecutionRoleArn`` ("the IAM role that SageMaker can assume to access model artifacts
and docker image for deployment"); SageMaker Developer Guide, "CreateModel API: Execution Role
Permissions" (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms:
``ecr:BatchCheckLayerAvailability``, ``ecr:GetDownloadUrlForLayer``, ``ecr:BatchGetImage`` on the
repository of ``PrimaryContainer.Image``). Running instances keep serving; the next scale-out, instance
replacement or rollback fleet cannot pull its image.

The compiler grants the image the spec names (``serving_image``, the framework image, the registering
job's image) and the image the registry names for the served version
(``compile/aws/serving._served_images``), which only a registry read knows (``plan --refresh``, ``apply``).
An offline plan of a model whose spec no longer names the image (its training job removed, its
``serving_image`` changed) therefore drops a pull the served version may need, and cannot tell.

Contract of :func:`pull_warnings` (pure): one warning per endpoint, sorted by address, whose serving
role policy (an updated ``aws:iam/rolePolicy:RolePolicy`` under ``endpoints.<name>``) no longer holds an
ECR repository ARN that the prior state's policy held in its pull statement (Sid :data:`PULL_SID`), unless
the graph decided that endpoint's version from a registry read (``graph.model_versions[address]["basis"]
== "registry"``) and that read gave the image of every version the endpoint may run (its component has no
:data:`IMAGE_UNKNOWN_FACT`, and the read of its live endpoint did not fail: the decision has no
``model_versions.RUNNING_UNREAD_KEY``, closing-33d-2): the compiler then granted the images the registry
names. The warning names the
repositories, the model and the version the endpoint serves (its component's facts), what fails, and the
ways out: ``plan --refresh`` (apply reads the registry too), or naming the image in ``serving_image``; after
a registry read that left a version's image unknown (closing-33c-1: a version the endpoint serves or
runs that ``ListModelPackages`` no longer lists), it names those versions instead of recommending the read.
When the read of the live endpoint failed (``DescribeEndpoint``, ``DescribeEndpointConfig`` or
``DescribeModel``: ``state/aws_live/model_registry.read_live``), which versions its config's variants
run is unknown (after a bump's apply a canary's previous variant still runs the old version, and only the
live endpoint says so), so their images were not described and their pulls not kept: the warning says so
and names the way out. That fact is in the decision (``graph.model_versions``), not in a resource, so it
does not change the graph digest: a saved plan is not stale because one read failed and the other did not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.graph import JSON, DesiredResource, is_json
from mlops_infra.model_versions import RUNNING_UNREAD_KEY
from mlops_infra.name_lists import join_names
from mlops_infra.plan.model import Action, ResourceChange
from mlops_infra.state.model import PriorState

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PULL_SID = "ModelImagesPull"
"""The Sid of the serving role's ECR pull statement (``compile/aws/serving._serving_statements``:
``policies.ecr_pull("ModelImages", ...)``); the plan core does not import the compiler,
tests/plan/test_serving_pull.py checks they agree."""
ENDPOINT_COMPONENT = "mlops:serving:Endpoint"
IMAGE_UNKNOWN_FACT = "imageUnknownFor"
"""The endpoint component's fact listing the versions it may run whose image the registry read did not
give (``compile/aws/serving.IMAGE_UNKNOWN_FACT``; tests/plan/test_serving_pull.py checks they agree)."""


def serving_policy_updates(changes: Sequence[ResourceChange]) -> list[ResourceChange]:
    """The updates of endpoints' role policies (the changes :func:`pull_warnings` reads)."""
    return [c for c in changes if c.action is Action.UPDATE and c.type == ROLE_POLICY
            and c.address.startswith("endpoints.")]


def pull_warnings(changes: Sequence[ResourceChange], prior: PriorState, desired: Mapping[str, DesiredResource],
                  model_versions: Mapping[str, Any]) -> list[str]:
    """The warnings of the module contract; ``desired`` is the desired graph's resources by URN,
    ``model_versions`` the graph's registry decisions by endpoint address."""
    out = []
    for change in sorted(serving_policy_updates(changes), key=lambda c: (c.address, c.urn)):
        before, after = prior.resources.get(change.urn), desired.get(change.urn)
        if before is None or after is None:
            continue
        lost = sorted(pulls(before.inputs.get("policy")) - pulls(after.inputs.get("policy")))
        if not lost:
            continue
        decision, facts = model_versions.get(change.address), _facts(desired, change.address)
        unknown = facts.get(IMAGE_UNKNOWN_FACT)
        unread = isinstance(decision, Mapping) and decision.get(RUNNING_UNREAD_KEY) is True
        if not (isinstance(decision, Mapping) and decision.get("basis") == "registry"):
            out.append(_warning(change, lost, facts, unread=unread))
        elif isinstance(unknown, list) and unknown:
            out.append(_warning(change, lost, facts, unknown=unknown, unread=unread))
        elif unread:
            out.append(_warning(change, lost, facts, unread=True, read=True))
    return out


def pulls(policy: Any) -> frozenset[str]:
    """The repository ARNs of a policy's :data:`PULL_SID` statement: ``policy`` as the state stores it
    (JSON text) or as the graph holds it (:func:`mlops_infra.graph.json_of`); none when unreadable."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return frozenset()
    elif is_json(policy):
        policy = policy[JSON]
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    found: set[str] = set()
    for statement in statements if isinstance(statements, list) else ():
        if isinstance(statement, dict) and statement.get("Sid") == PULL_SID:
            resources = statement.get("Resource")
            found.update(r for r in ([resources] if isinstance(resources, str) else resources or ())
                         if isinstance(r, str))
    return frozenset(found)


def _facts(desired: Mapping[str, DesiredResource], address: str) -> Mapping[str, Any]:
    return next((r.inputs for r in desired.values() if r.type == ENDPOINT_COMPONENT and r.address == address), {})


def _warning(change: ResourceChange, lost: list[str], facts: Mapping[str, Any], unknown: list | None = None,
             unread: bool = False, read: bool = False) -> str:
    """The warning of one endpoint. ``unknown``: the versions whose image the registry read did not give;
    ``unread``: the endpoint's live read failed (closing-33d-2), said last; ``read``: the registry read
    gave every image it was asked for, only the endpoint's live read failed (no advice to read it)."""
    model, version = facts.get("model") or "its model", facts.get("modelVersion")
    if unknown:
        served = " or ".join(f"v{v}" for v in unknown) + f" of {model}"
    elif read:
        served = f"a version of {model} the live endpoint still runs (a canary's previous version)"
    else:
        served = f"v{version} of {model}" if version is not None else f"the version of {model} it serves"
    repositories = join_names(lost)
    head = (f"{change.address}: its serving role ({change.name}) loses the ECR pull of {repositories}, which the "
            f"last apply granted. SageMaker pulls the served model's image with this role at every instance start "
            f"(scale-out, instance replacement): if {served} was registered with an image there (the image of a "
            f"training job removed from the spec, or the image before models.{model}.serving_image changed), the "
            f"endpoint's next instance start fails.")
    if unknown:
        head += (f" The registry read did not give the image of {served}, which the endpoint may still run "
                 f"(ListModelPackages no longer lists it): check it in the registry, "
                 f"and keep its image's pull, or name it in models.{model}.serving_image.")
    elif not read:
        head += (f" An offline plan cannot tell which image that version was registered with: `mlops-infra plan "
                 f"--refresh` reads it from the registry (DescribeModelPackage) and keeps its pull, as apply "
                 f"does; or name it in models.{model}.serving_image.")
    if unread:
        head += (" The registry read could not read which versions the live endpoint runs (the warning naming the "
                 "endpoint says why), so it could not keep their images' pulls: plan again once the endpoint can "
                 "be read (sagemaker:DescribeEndpoint, DescribeEndpointConfig, DescribeModel), or name the image "
                 f"in models.{model}.serving_image.")
    return head
