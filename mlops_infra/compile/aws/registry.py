"""The model registry on SageMaker: one model package group per model.

Contract: ``mlops:registry:Model`` holds an ``aws:sagemaker/modelPackageGroup:ModelPackageGroup``
named ``<system>-<env>-<model>``. Versions are model packages registered into it by training
pipelines (pulumi-aws has no ModelPackage resource, and versions are runtime data, not desired
state). The approval mode lives in the component facts and decides the ``ModelApprovalStatus``
the pipeline registers with (:data:`APPROVAL_STATUS`).

The group is never replaced or deleted by an ordinary edit (audit replace-1): it holds every
registered version, and the endpoints' models pin them by ARN. :data:`GROUP_OPTIONS`:
- ``ignoreChanges: [modelPackageGroupDescription]``: the description is written once, at creation.
  terraform-provider-aws ``internal/service/sagemaker/model_package_group.go`` declares
  ``model_package_group_description`` ``ForceNew`` (its update handles tags only) and botocore has no
  ``UpdateModelPackageGroup``; a replace would create a second group of the same name (the group is
  addressed by name alone, ``DeleteModelPackageGroupInput``), so the apply would fail, and a forced
  delete would discard the registry. An ``approval``, ``framework`` or ``description`` edit, which the
  description formula reads, therefore leaves the group alone (the approval itself is the pipeline's
  ``ModelApprovalStatus``, updated in place).
- ``protect``: a replace or delete (a model removed from the spec, a region change) is refused by
  the engine and shown blocked by ``plan``, which says that it discards the registered versions
  (``plan/rules.py`` ``loses``), as the data buckets and the Kubernetes registry's claim are.
"""

from __future__ import annotations

from mlops_infra.compile import facts
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.aws.images import model_serving_image
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec.registry import Model

GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
GROUP_OPTIONS = ResourceOptions(protect=True, ignore_changes=("modelPackageGroupDescription",))
"""The options of every model package group (see the module contract)."""
APPROVAL_STATUS = {"manual": "PendingManualApproval", "automatic": "Approved"}
"""Model approval mode -> SageMaker ModelApprovalStatus of newly registered versions."""


def group_name(aws: AwsContext, model: str) -> str:
    return aws.name(model)


def compile_model(aws: AwsContext, item: Model) -> None:
    """A model: its Model component and model package group."""
    address = f"models.{item.name}"
    declared = item.serving_image or item.framework_version
    image = model_serving_image(aws, item.name, None) if declared else None
    component = aws.ctx.component("models", item.name, facts.model_facts(item, image))
    approval = "by a person" if item.approval == "manual" else "on registration"
    description = item.description or f"{item.name} ({item.framework}); versions are approved {approval}"
    aws.groups[item.name] = aws.add(GROUP, f"{item.name}-model-package-group", {
        "modelPackageGroupName": group_name(aws, item.name),
        "modelPackageGroupDescription": description,
    }, parent=component, address=address, role="model-package-group", options=GROUP_OPTIONS)
