"""An environment-only problem is located at the override that caused it, also through a reference (audit envs-2)."""

from __future__ import annotations

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

DEV_NODES = "      training_jobs.retrain.nodes: 1     # one node fits the dev cluster; a larger run could never be admitted\n"


def test_a_problem_caused_by_an_override_of_the_referenced_cluster_is_at_that_override(reference_text: str) -> None:
    """dev keeps three other overrides; the job's 2 nodes exceed the cluster dev shrinks to 1 node.
    It was reported at the base's `nodes: 2`, right in staging and prod, whenever dev had more than
    one override."""
    text = edit(reference_text, DEV_NODES, "")
    [d] = [d for d in parse_system(text, env="dev").diagnostics if d.is_error]
    assert d.code == "too-many-nodes"
    assert d.location.line == line_of(text, "      clusters.gpu-train.nodes:")
    assert d.detail.startswith("In environment dev:")
    assert ("(This follows from the override clusters.gpu-train.nodes; the problem shows at "
            "training_jobs.retrain.nodes.)") in d.detail


def test_among_referenced_items_the_one_the_problem_names_is_blamed(reference_text: str) -> None:
    """The job also refers to data source "transactions" (inputs), which dev overrides too: the error
    names cluster "gpu-train", so the cluster's override is the cause, not the data source's."""
    text = edit(reference_text, DEV_NODES, "      data_sources.transactions.retention: 30d\n")
    [d] = [d for d in parse_system(text, env="dev").diagnostics if d.is_error]
    assert d.code == "too-many-nodes"
    assert d.location.line == line_of(text, "      clusters.gpu-train.nodes:")
