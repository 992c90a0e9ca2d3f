"""A Kueue Cohort's shared quota for a deleted flavor stops lending silently: the warning says so (closing-35e-3).

Kueue v0.19.0 ``apis/kueue/v1beta2/cohort_types.go``: a Cohort (cluster-scoped, ``cohorts.kueue.x-k8s.io``) has
``spec.resourceGroups`` per flavor name, "a shared pool for the ClusterQueues within it"; the flavor finalizer
counts ClusterQueues only (``pkg/cache/scheduler/cache.go`` ``ClusterQueuesUsingFlavor``), so such a Cohort
neither holds the delete nor makes the apply fail.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.kubernetes import queues
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.kubernetes.test_kueue_cohort import DOC
from tests.plan.test_flavor_removal import (
    FAST,
    SOLO,
    _flavor_named_after_first_cluster,
    flavor_warnings,
    plan_of,
)
from tests.support.applied_state import applied_state, dumps
from tests.support.kube_cases import compile_text

LIST_COHORTS = ("kubectl get cohorts.kueue.x-k8s.io -o "
                "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name")


def test_a_deleted_flavor_warns_of_cohorts_and_lists_them(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(queues, "flavor_name", _flavor_named_after_first_cluster)
        old = compile_text(DOC)
    renamed = make_plan(compile_text(DOC), parse_state(dumps(applied_state(old)).encode(), "prior.json"), options=FAST)
    for warning in [*flavor_warnings(renamed), *flavor_warnings(plan_of(DOC.replace(SOLO, "")))]:
        assert "A Kueue Cohort whose shared quota names guarded-dev-" in warning
        assert "stops lending it to this environment too, with no error" in warning and LIST_COHORTS in warning


def test_the_refusal_gives_the_cohort_command() -> None:
    from mlops_infra.apply.flavor_users import refusal

    error = refusal({"guarded-dev-train": ["other-team"]}, ["guarded-dev-team-d502b71"])
    assert LIST_COHORTS in error.detail and "Cohort's shared quota for the deleted flavor stops lending" in error.detail
