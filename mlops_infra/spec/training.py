"""Training jobs and what starts them."""

from __future__ import annotations

from pydantic import Field

from mlops_infra.spec.base import Name, SpecModel
from mlops_infra.spec.quantities import CronField, DurationField


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
    hyperparameters: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Hyperparameters passed to the job."
    )
    nodes: int = Field(default=1, ge=1, description="Nodes per run; at most the cluster's max nodes.")
    max_runtime: DurationField | None = Field(default=None, description="Stop a run after this long (6h).")
    registers: Name | None = Field(default=None, description="Model that each successful run registers a version of.")
    triggers: Triggers = Field(default_factory=Triggers, description="Schedules and alerts that start runs.")
