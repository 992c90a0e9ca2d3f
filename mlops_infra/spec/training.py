"""Training jobs and what starts them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from mlops_infra.spec.base import Name, SpecModel
from mlops_infra.spec.limits import (
    HYPERPARAMETER_KEY_MAX,
    HYPERPARAMETER_VALUE_MAX,
    HYPERPARAMETERS_MAX,
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
)
from mlops_infra.spec.quantities import CronField, DurationField


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
    on_alerts: list[Name] = Field(default_factory=list, description="Alerts whose firing starts a run.")


class TrainingJob(SpecModel):
    """A containerised training job that runs on a cluster and may register a model version."""

    name: Name = Field(description="Unique name of the training job.")
    cluster: Name = Field(description="The cluster it runs on.")
    image: str = Field(min_length=1, description="Container image (a pinned tag or digest).")
    command: list[str] = Field(default_factory=list, description="Command run in the container.")
    args: list[str] = Field(default_factory=list, description="Extra arguments.")
    inputs: list[Name] = Field(default_factory=list, description="Data sources it reads.")
    outputs: list[Name] = Field(default_factory=list, description="Data sources it writes.")
    hyperparameters: dict[Annotated[str, Field(min_length=1, max_length=HYPERPARAMETER_KEY_MAX)], HyperparameterValue] = Field(
        default_factory=dict, max_length=HYPERPARAMETERS_MAX,
        description="Hyperparameters passed to the job (at most 100; text, numbers or booleans).",
    )
    nodes: int = Field(default=1, ge=1, le=INT32_MAX, description="Nodes per run; at most the cluster's max nodes.")
    max_runtime: DurationField | None = Field(default=None, description="Stop a run after this long (6h).")
    registers: Name | None = Field(default=None, description="Model that each successful run registers a version of.")
    triggers: Triggers = Field(default_factory=Triggers, description="Schedules and alerts that start runs.")
