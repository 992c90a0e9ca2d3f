"""Hardware facts: accelerator types and counts, SageMaker instance types, training node counts.

Contract: every check here reads the catalog (:mod:`mlops_infra.catalog`) only; clusters are
checked for training use and endpoints for inference use. Instance types are accepted with or
without the ``ml.`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, did_you_mean, error, known_list, warning
from mlops_infra.spec.base import Accelerator
from mlops_infra.spec.context import CheckContext

USES: dict[str, catalog.Use] = {"clusters": "training", "endpoints": "inference"}
"""The SageMaker use of each section that asks for hardware."""


def check_hardware(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Accelerators and instance types of clusters and endpoints exist for their use."""
    for section, use in USES.items():
        for i, item in enumerate(getattr(ctx.system, section)):
            acc = item.accelerator
            if acc is not None and not _accelerator_offered(acc.type, acc.count, use):
                yield from _accelerator(acc, use, (section, i, "accelerator"), f"{section}.{item.name}")
            if item.instance_type is not None:
                yield from _instance_type(item.instance_type, use, (section, i, "instance_type"),
                                          f"{section}.{item.name}")


@cache
def _accelerator_offered(type_: str, count: int, use: catalog.Use) -> bool:
    """Whether :func:`_accelerator` finds nothing wrong (a system repeats a few shapes many times)."""
    return type_ in catalog.GPU_TYPES and count in catalog.counts_for(type_) \
        and catalog.instance_for(type_, count, use) is not None


def _accelerator(acc: Accelerator, use: catalog.Use, path: tuple, address: str) -> Iterator[Diagnostic]:
    if acc.type not in catalog.GPU_TYPES:
        exact = {t.lower(): t for t in catalog.GPU_TYPES}.get(acc.type.lower())
        hint = f' Did you mean "{exact}"? Types are case-sensitive.' if exact else did_you_mean(acc.type, catalog.GPU_TYPES)
        yield error("unknown-accelerator", f'Unknown accelerator type "{acc.type}"',
                    f"Use one of {known_list(catalog.GPU_TYPES)}.{hint}", (*path, "type"), address)
        return
    counts = catalog.counts_for(acc.type)
    if acc.count not in counts:
        choices = ", ".join(f"{n} ({catalog.ACCELERATOR_SHAPES[acc.type][n]})" for n in counts)
        yield error("invalid-accelerator-count", f"No AWS instance has {acc.count} x {acc.type}",
                    f"{acc.type} GPUs come {choices} per instance on AWS. Set count to one of these, "
                    "or give instance_type instead.", (*path, "count"), address)
        return
    if catalog.instance_for(acc.type, acc.count, use) is None:
        shape = catalog.sagemaker_name(catalog.ACCELERATOR_SHAPES[acc.type][acc.count])
        yield error("unsupported-instance-type", f"{shape} ({acc.count} x {acc.type}) is not offered for SageMaker {use}",
                    f"SageMaker does not list {shape} for {use}. Choose another accelerator or count.", path, address)


def _instance_type(name: str, use: catalog.Use, path: tuple, address: str) -> Iterator[Diagnostic]:
    full = catalog.sagemaker_name(name)
    if catalog.is_sagemaker_instance(full, use):
        return
    valid = catalog.sagemaker_instance_types()[use]
    candidates = valid if name.startswith("ml.") else {catalog.ec2_name(v) for v in valid}
    other = [u for u in ("training", "inference") if u != use and catalog.is_sagemaker_instance(full, u)]
    if other:
        yield error("unsupported-instance-type", f'Instance type "{name}" is not offered for SageMaker {use}',
                    f"{full} exists for {other[0]} but SageMaker does not offer it for {use}. "
                    f"Choose another instance type.{did_you_mean(name, candidates)}", path, address)
        return
    yield error("unknown-instance-type", f'Unknown instance type "{name}"',
                f"SageMaker {use} has no instance type {full}.{did_you_mean(name, candidates)} "
                "Write a SageMaker instance type such as ml.g5.xlarge (the ml. prefix is optional).", path, address)


def check_training_nodes(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A training job uses at most its cluster's max nodes.

    An error in the base document, and in a Kubernetes environment (finding B7): there the cluster
    is a Kueue ClusterQueue whose nominal quota is max nodes x one node (``compile/kubernetes/queues.py``),
    with no cohort to borrow from, and Kueue admits a workload only when its whole request fits the
    quota ("Cluster Queue", https://kueue.sigs.k8s.io/docs/concepts/cluster_queue/: without a cohort a
    ClusterQueue cannot borrow; a workload that does not fit stays pending, suspended). Such a run is
    never admitted, and while it waits it blocks every later run of the job. In an AWS environment a
    cluster is only the capacity a job asks SageMaker for, so there it stays a warning (runs get the
    nodes they ask for, beyond the cluster's budget).

    The spec says otherwise explicitly with the cluster's ``borrowing`` (:class:`~mlops_infra.spec.compute.Borrowing`):
    its ClusterQueue then joins a Kueue cohort and may use quota up to ``nominalQuota + borrowingLimit``
    when the cohort's other queues leave it unused (ClusterQueue v1beta2 CRD, ``borrowingLimit``). A
    job within max nodes + ``borrowing.max_nodes`` (or any size, without a limit) is then a warning
    (admitted when the cohort lends; the launcher expires a run not admitted in time, so it does not
    block the job forever); beyond the limit it is still never admitted, an error.
    """
    for i, job in enumerate(ctx.system.training_jobs):
        cluster = ctx.item("clusters", job.cluster)
        if cluster is None or job.nodes <= cluster.nodes.max:
            continue
        environment = ctx.system.environments.get(ctx.env) if ctx.env else None
        kubernetes = environment is not None and environment.target.kind == "kubernetes"
        make = warning if ctx.env and not kubernetes else error
        where = f" in environment {ctx.env}" if ctx.env else ""
        why = (f": Kueue never admits a run larger than the ClusterQueue's quota ({cluster.nodes.max} nodes), "
               "and a run waiting for admission blocks every later run of the job" if kubernetes else "")
        borrowing = cluster.borrowing
        fix = ""
        if kubernetes and borrowing is None:
            fix = (f", or let its Kueue queue borrow from a cohort (clusters.{cluster.name}.borrowing: "
                   f"{{cohort: <name>, max_nodes: {job.nodes - cluster.nodes.max}}})")
        if (kubernetes or not ctx.env) and borrowing is not None:
            reach = None if borrowing.max_nodes is None else cluster.nodes.max + borrowing.max_nodes
            if reach is None or job.nodes <= reach:
                make = warning
                why = (f": it is admitted only while cohort \"{borrowing.cohort}\" leaves "
                       f"{job.nodes - cluster.nodes.max} nodes' worth of quota of its node type unused for it to "
                       "borrow (Kueue lends per flavor: the cohort's clusters with the same node type, or queues "
                       "that define quota for its flavor); until then it waits, and the launcher expires it after "
                       "its admission timeout")
            else:
                why = (f": Kueue never admits a run larger than the ClusterQueue's quota plus its borrowing limit "
                       f"({cluster.nodes.max} + {borrowing.max_nodes} nodes in cohort \"{borrowing.cohort}\")")
        yield make("too-many-nodes",
                   f'Training job "{job.name}" needs {job.nodes} nodes; cluster "{cluster.name}" has at most '
                   f"{cluster.nodes.max}{where}{why}",
                   f"Lower nodes to {cluster.nodes.max} or raise the max nodes of cluster \"{cluster.name}\""
                   + (f" (override training_jobs.{job.name}.nodes in {ctx.env})" if ctx.env else "") + fix + ".",
                   ("training_jobs", i, "nodes"), f"training_jobs.{job.name}")
