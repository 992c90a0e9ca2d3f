"""Finding B7's explicit escape: a cluster's ``borrowing`` puts its Kueue ClusterQueue in a cohort.

Kueue (ClusterQueue v1beta2 CRD in ``shared/fixtures/crds``): ``spec.cohortName`` makes the queue a
member of a cohort whose queues "can borrow unused resources from each other"; each resource's
``borrowingLimit`` bounds what it borrows ("If null, it means that there is no borrowing limit"),
and must be absent without a cohort (the CRD's validation rule). The compiled queues validate
against that CRD (tests/support/crds.py, strict).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from tests.support import crds
from tests.support.kube_cases import by_kind, compile_text
from tests.support.reference import without_reference_warnings
from tests.support.text_edits import edit

CLUSTER = "      clusters.gpu-train.nodes: {min: 0, max: 1}\n"
BIGGER_JOB = "      training_jobs.retrain.nodes: 1     # one node fits the dev cluster; a larger run could never be admitted\n"


@pytest.fixture(scope="module")
def reference_text(shared_dir: Path) -> str:
    return (shared_dir / "spec" / "reference-mlsystem.yaml").read_text()


def dev(reference_text: str, borrowing: str | None, nodes: int = 3) -> str:
    text = edit(reference_text, BIGGER_JOB, f"      training_jobs.retrain.nodes: {nodes}\n")
    if borrowing is not None:
        text = edit(text, CLUSTER, CLUSTER + f"      clusters.gpu-train.borrowing: {borrowing}\n")
    return text


def queue(text: str) -> dict:
    (found,) = by_kind(compile_text(text, "dev"), "ClusterQueue")
    return found


def too_many_nodes(text: str) -> list[tuple[str, str]]:
    return [(d.severity, d.summary) for d in without_reference_warnings(parse_system(text).diagnostics)
            if d.code == "too-many-nodes"]


def test_without_borrowing_an_oversize_job_is_an_error_that_names_the_escape(reference_text: str) -> None:
    found = [d for d in parse_system(dev(reference_text, None)).diagnostics if d.code == "too-many-nodes"]
    assert [d.severity for d in found] == ["error"]
    assert "clusters.gpu-train.borrowing: {cohort: <name>, max_nodes: 2}" in found[0].detail


def test_borrowing_enough_from_a_cohort_makes_it_a_warning_and_the_queue_joins_the_cohort(reference_text: str) -> None:
    text = dev(reference_text, "{cohort: research-gpus, max_nodes: 2}")
    [(severity, summary)] = too_many_nodes(text)
    assert severity == "warning" and 'cohort "research-gpus"' in summary and "2 nodes' worth" in summary
    spec = queue(text)["spec"]
    assert spec["cohortName"] == "research-gpus"
    resources = {r["name"]: r for r in spec["resourceGroups"][0]["flavors"][0]["resources"]}
    assert resources["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": "4", "borrowingLimit": "8"}
    assert crds.errors(queue(text)) == []


def test_borrowing_without_a_limit_admits_any_size(reference_text: str) -> None:
    text = dev(reference_text, "{cohort: research-gpus}", nodes=6)
    assert [s for s, _ in too_many_nodes(text)] == ["warning"]
    spec = queue(text)["spec"]
    assert spec["cohortName"] == "research-gpus"
    assert all("borrowingLimit" not in r for r in spec["resourceGroups"][0]["flavors"][0]["resources"])
    assert crds.errors(queue(text)) == []


def test_a_job_beyond_quota_plus_borrowing_limit_is_still_an_error(reference_text: str) -> None:
    text = dev(reference_text, "{cohort: research-gpus, max_nodes: 1}")
    [(severity, summary)] = too_many_nodes(text)
    assert severity == "error" and "quota plus its borrowing limit (1 + 1 nodes" in summary


def test_a_queue_without_borrowing_has_no_cohort(reference_text: str) -> None:
    spec = queue(reference_text)["spec"]
    assert "cohortName" not in spec
    assert all("borrowingLimit" not in r for r in spec["resourceGroups"][0]["flavors"][0]["resources"])
