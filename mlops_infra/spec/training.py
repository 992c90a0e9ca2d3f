"""Training jobs and what starts them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from mlops_infra.ml.memory import Optimizer, Precision, Sharding
from mlops_infra.spec.base import Name, SpecModel, empty_dict, empty_list
from mlops_infra.spec.image_refs import ImageReference
from mlops_infra.spec.limits import (
    HYPERPARAMETER_KEY_MAX,
    HYPERPARAMETER_VALUE_MAX,
    HYPERPARAMETERS_MAX,
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
)
from mlops_infra.spec.model_facts import Activations, ParameterCount
from mlops_infra.spec.quantities import CronField, DurationField

TrainingFramework = Literal["pytorch", "tensorflow", "sklearn", "xgboost"]


def _whole_number_in_range(value: Any) -> Any:
    """Refuse whole numbers past 64 bits before the ``float`` member would silently round them."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"a whole-number hyperparameter is at most {INT64_MAX:,} in size (64 bits, what JSON "
                         "readers hold exactly); write it in quotes if it is an identifier")
    return value


HyperparameterValue = Annotated[
    Annotated[str, Field(max_length=HYPERPARAMETER_VALUE_MAX)] | int | float | bool,
    BeforeValidator(_whole_number_in_range),
]
"""Text (at most SageMaker's 2,500 characters), a 64-bit whole number, a finite number or a boolean."""


class Triggers(SpecModel):
    """What starts a training run besides a manual start."""

    schedule: CronField | None = Field(default=None, description='Cron expression in UTC, e.g. "0 3 * * 1".')
    on_alerts: list[Name] = Field(default_factory=empty_list, description="Alerts whose firing starts a run.")


class TrainingJob(SpecModel):
    """A containerised training job that runs on a cluster and may register a model version."""

    name: Name = Field(description="Unique name of the training job.")
    cluster: Name = Field(description="The cluster it runs on.")
    image: ImageReference | None = Field(default=None,
                                         description="Container image (a pinned tag or digest); or give framework and framework_version.")
    framework: TrainingFramework | None = Field(
        default=None, description="pytorch, tensorflow, sklearn or xgboost: with framework_version, the job runs in "
                                  "the SageMaker framework training image of each AWS environment's region.")
    framework_version: str | None = Field(default=None, min_length=1, description="Framework version (2.5).")
    command: list[str] = Field(default_factory=empty_list, description="Command run in the container.")
    args: list[str] = Field(default_factory=empty_list, description="Extra arguments.")
    inputs: list[Name] = Field(default_factory=empty_list, description="Data sources it reads.")
    outputs: list[Name] = Field(default_factory=empty_list, description="Data sources it writes.")
    hyperparameters: dict[Annotated[str, Field(min_length=1, max_length=HYPERPARAMETER_KEY_MAX)], HyperparameterValue] = Field(
        default_factory=empty_dict, max_length=HYPERPARAMETERS_MAX,
        description="Hyperparameters passed to the job (at most 100; text, numbers or booleans).",
    )
    nodes: int = Field(default=1, ge=1, le=INT32_MAX, description="Nodes per run; at most the cluster's max nodes.")
    max_runtime: DurationField | None = Field(default=None, examples=["6h", "1d"],
                                              description="Stop a run after this long (6h).")
    registers: Name | None = Field(default=None, description="Model that each successful run registers a version of.")
    triggers: Triggers = Field(default_factory=Triggers, description="Schedules and alerts that start runs.")
    notify: list[Name] = Field(
        default_factory=empty_list,
        description="Channels told when a run fails, besides the channels of the triggers.on_alerts alerts "
                    "(training_failed_<job>: a Prometheus alert on Kubernetes, an EventBridge rule on AWS).")
    precision: Precision | None = Field(
        default=None, description="fp32, mixed_fp16, mixed_bf16 (the default for the memory check) or bf16; passed "
                                  "to the container as MLOPS_PRECISION.")
    optimizer: Optimizer | None = Field(
        default=None, description="adamw (the default for the memory check), adam, sgd or sgd_momentum.")
    sharding: Sharding | None = Field(
        default=None, description="none (the default), zero1, zero2, zero3 or fsdp (full shard, like zero3) over "
                                  "all the run's GPUs; passed to the container as MLOPS_SHARDING.")
    trainable_parameters: ParameterCount | None = Field(
        default=None, description="Parameters trained (LoRA and other adapters); the rest of the model is frozen.")
    activations: Activations | None = Field(
        default=None, description="Micro-batch and sequence length: adds the activation estimate to the memory check.")

    @model_validator(mode="after")
    def _one_image(self) -> TrainingJob:
        if self.image is not None and (self.framework or self.framework_version):
            raise ValueError("give image, or framework and framework_version, not both")
        if self.image is None and not (self.framework and self.framework_version):
            missing = "framework_version" if self.framework else "framework" if self.framework_version else "image"
            raise ValueError(f"a training job needs an image, or framework and framework_version; add {missing}")
        return self
