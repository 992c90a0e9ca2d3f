"""The plan warns on every deleted Kueue ResourceFlavor, and a cohort's flavor survives reorders (audit k8sapply-3).

A queue outside the environment lends only for a flavor name it defines quota for, and Kueue keeps a deleted
flavor while any ClusterQueue names it (kueue v0.19.0 ``pkg/controller/core/resourceflavor_controller.go``
``Reconcile``: finalizer ``kueue.x-k8s.io/resource-in-use`` while ``ClusterQueuesUsingFlavor`` is not empty), so
pulumi-kubernetes' 10-minute delete wait (``provider/pkg/await/await.go`` ``Deletion``) fails the apply. Before
the fix, swapping two clusters of one cohort planned ``- <system>-<env>-<first>`` and ``+ <system>-<env>-<second>``
with no warning (/tmp/audit-k8sapply/flavor/plan.txt), and no plan warned of any deleted flavor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import names, queues
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.kubernetes.test_kueue_cohort import DOC, TRAIN2
from tests.compile.kubernetes.test_kueue_flavor_name import TRAIN, named_by
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.kube_cases import compile_text

FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
LIST_QUEUES = ("kubectl get clusterqueues -o "
               "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name")
SOLO = "  - {name: solo, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}}\n"


def plan_of(text: str, prior_text: str = DOC):
    prior = parse_state(dumps(applied_state(compile_text(prior_text))).encode(), "prior.json")
    return make_plan(compile_text(text), prior, options=FAST)


def flavor_changes(plan) -> list[tuple[str, Action]]:
    return [(c.name, c.action) for c in plan.changes if c.type.endswith(":ResourceFlavor") and c.action is not Action.NOOP]


def flavor_warnings(plan) -> list[str]:
    return [w for w in plan.warnings if "ResourceFlavor" in w]


def test_swapping_or_removing_the_first_cohort_cluster_deletes_no_flavor_and_warns_of_none() -> None:
    swapped = DOC.replace(TRAIN2, "").replace(TRAIN, TRAIN2 + TRAIN)
    removed = DOC.replace(TRAIN, "").replace("cluster: train,", "cluster: train2,")
    assert swapped != DOC and removed != DOC
    for text in (swapped, removed):
        plan = plan_of(text)
        assert all(action is Action.UPDATE for _, action in flavor_changes(plan)), flavor_changes(plan)
        assert flavor_warnings(plan) == []
    # the swap moves only which cluster compiles it: its address label, in place
    (change,) = [c for c in plan_of(swapped).changes if c.type.endswith(":ResourceFlavor") and c.action is Action.UPDATE]
    assert [a.path for a in change.changes] == ['metadata.labels["mlops-infra/address"]']


def test_a_deleted_flavor_warns_with_the_command_that_lists_the_queues_naming_it() -> None:
    plan = plan_of(DOC.replace(SOLO, ""))
    assert ("guarded-dev-solo", Action.DELETE) in flavor_changes(plan)
    (warning,) = flavor_warnings(plan)
    assert warning.startswith("clusters.solo: this apply deletes the Kueue ResourceFlavor guarded-dev-solo. A queue "
                              "outside this environment that defines quota for it (to lend in the cohort) stops lending")
    assert "finalizer kueue.x-k8s.io/resource-in-use" in warning and "waits 10 minutes for the delete" in warning
    assert LIST_QUEUES in warning and "must remove guarded-dev-solo from its resource groups first" in warning
    assert warning.endswith("mlops-infra apply reads them and refuses while one does")


def _flavor_named_after_first_cluster(ctx, cluster) -> str:
    """queues' rule before the fix: the flavor of the first cluster of the document with the same lending key."""
    return names.cluster_scoped(ctx, queues.flavor_owner(ctx.system.clusters, cluster).name)


def test_the_one_time_rename_of_an_applied_cohort_flavor_is_planned_and_warned_of(monkeypatch: pytest.MonkeyPatch,
                                                                                 tmp_path: Path) -> None:
    with monkeypatch.context() as m:
        m.setattr(queues, "flavor_name", _flavor_named_after_first_cluster)
        old = compile_text(DOC)  # a stack applied before the fix
    state = tmp_path / "prior.json"
    state.write_text(dumps(applied_state(old)))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(DOC)
    shared = named_by(compile_text(DOC))["guarded-dev-train"]

    result = run_cli("plan", str(spec), "--env", "dev", "--state", str(state), "--no-color")

    assert result.code == 0, result.output
    assert f"+ resource-flavor {shared} (kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor)" in result.output
    assert "- guarded-dev-train (kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor)" in result.output
    text = " ".join(result.output.split())
    assert ("clusters.train: this apply deletes the Kueue ResourceFlavor guarded-dev-train, which this environment's "
            f"queues (guarded-dev-train, guarded-dev-train2) no longer name: they name {shared} (clusters with "
            "borrowing name the flavor of their cohort and node type, <system>-<env>-<cohort>-<digest>; a stack "
            "applied while it was named after the cohort's first cluster sees this rename once)") in text
    assert ("must remove guarded-dev-train from its resource groups first (it keeps its other flavors and stays "
            f"active) and name {shared} only after this apply") in text and LIST_QUEUES in text
    # every cohort cluster's own flavor (t4, apart, spot) is renamed the same way, and warned of
    assert sum("this apply deletes the Kueue ResourceFlavor" in line for line in result.output.splitlines()) == 4
