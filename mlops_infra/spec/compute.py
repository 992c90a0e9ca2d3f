"""Training clusters: GPU capacity, cloud-neutral."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlops_infra.spec.base import Accelerator, Name, Range, SpecModel


class Cluster(SpecModel):
    """GPU training capacity. Give ``accelerator`` (cloud-neutral) or ``instance_type`` (AWS), not both."""

    name: Name = Field(description="Unique name of the cluster.")
    accelerator: Accelerator | None = Field(default=None, description="GPUs per node, e.g. {type: A10G, count: 4}.")
    instance_type: str | None = Field(
        default=None, description="An explicit SageMaker/EC2 instance type (ml.g5.12xlarge) instead of accelerator."
    )
    nodes: Range = Field(description="How many nodes the cluster may scale between.")
    spot: bool = Field(default=False, description="Use spot (managed spot training) capacity.")
    max_hourly_cost_usd: float | None = Field(
        default=None, ge=0, description="Budget: a warning is given when max nodes x hourly price exceeds it."
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Cluster:
        if (self.accelerator is None) == (self.instance_type is None):
            raise ValueError("give exactly one of accelerator or instance_type")
        return self
