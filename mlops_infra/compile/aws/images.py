"""Which image a training job runs and which serves a model, in this AWS environment's region.

Thin wrappers over :mod:`mlops_infra.spec.containers` (where the resolution order and the ECR
rules it relies on are documented) for the training and serving compilers. A valid system always
resolves (``validate`` reports what cannot); a failure here is a bug.
"""

from __future__ import annotations

from mlops_infra.compile.aws.context import AwsContext, require
from mlops_infra.spec import containers
from mlops_infra.spec.training import TrainingJob


def job_image(aws: AwsContext, item: TrainingJob) -> str:
    """The image a run of ``item`` uses in this environment's region."""
    if item.image is not None:
        return item.image
    index = aws.ctx.system.training_jobs.index(item)
    image = containers.training_image(item, index, aws.region, containers.cluster_instance(aws.ctx.system, item))
    return require(image.uri, f"a training image for training_jobs.{item.name} ({image.problem})")


def model_serving_image(aws: AwsContext, model: str, fallback: str | None) -> str | None:
    """The image that serves ``model`` in this region (``fallback``: the registering job's image;
    None when nothing here names or registers one)."""
    system = aws.ctx.system
    image = containers.serving_image(system, aws.model_indexes, model, aws.region,
                                     aws.serving_instances.get(model, containers.DEFAULT_INSTANCE))
    if image is None:
        return fallback
    return require(image.uri, f"a serving image for models.{model} ({image.problem})")
