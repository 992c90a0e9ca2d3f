"""Training clusters: GPU capacity, cloud-neutral."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlops_infra.spec.base import Accelerator, Name, Range, SpecModel
from mlops_infra.spec.limits import INT32_MAX

COHORT_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""Kueue's ``ClusterQueue.spec.cohortName`` (a DNS subdomain, at most 253 characters: the v1beta2 CRD)."""


class Borrowing(SpecModel):
    """Kubernetes only: the cluster's Kueue ClusterQueue joins a cohort and may borrow the unused
    quota that the other ClusterQueues in it hold for the same flavor (node type).

    Kueue: "CQs that belong to the same cohort can borrow unused resources from each other";
    ``borrowingLimit`` is "the maximum amount of quota ... that this ClusterQueue is allowed to
    borrow from the unused quota of other ClusterQueues in the same cohort ... If null, it means
    that there is no borrowing limit" (``ClusterQueue`` v1beta2 CRD, ``spec.cohortName`` and
    ``spec.resourceGroups[].flavors[].resources[].borrowingLimit``; "Cohort",
    https://kueue.sigs.k8s.io/docs/concepts/cohort/). Saying so is what lets a training job ask for
    more nodes than the cluster's max: it is then admitted when the cohort has that quota unused
    (a warning, finding B7), instead of never (an error). Kueue lends per flavor ("A ClusterQueue
    can only borrow quota for flavors that the ClusterQueue defines", kueue
    ``site/content/en/docs/concepts/cluster_queue.md``): the lenders are this environment's clusters
    in the cohort with the same node type, which share one flavor (``compile/kubernetes/queues.py``),
    and queues outside mlops-infra that define quota for that flavor (finding closing-32c-3).
    """

    cohort: str = Field(pattern=COHORT_PATTERN, min_length=1, max_length=253,
                        description="Kueue cohort the cluster's ClusterQueue joins (spec.cohortName); other "
                                    "ClusterQueues of that cohort lend it their unused quota of the same "
                                    "flavor: this environment's clusters in the cohort with the same node "
                                    "type (GPU type, instance type, spot) share one.")
    max_nodes: int | None = Field(
        default=None, ge=0, le=INT32_MAX,
        description="At most this many nodes' worth of quota borrowed (each resource's borrowingLimit = "
                    "max_nodes x what one node provides); absent: no limit.")


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
        default=None, ge=0, description="Budget: on AWS, a warning is given when its training jobs' nodes at once (SageMaker starts "
                                      "what each job asks for, not max nodes) x the hourly Training price exceed it."
    )
    borrowing: Borrowing | None = Field(
        default=None,
        description="Kubernetes only: the cluster's Kueue ClusterQueue joins this cohort and may borrow the unused "
                    "quota its queues hold for the same node type, so a training job may ask for more than max "
                    "nodes (a warning instead of an error).",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Cluster:
        if (self.accelerator is None) == (self.instance_type is None):
            raise ValueError("give exactly one of accelerator or instance_type")
        return self
