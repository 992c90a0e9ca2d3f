"""apply names the Kueue Cohorts whose shared quota names a ResourceFlavor it deletes (apply/flavor_users.py).

A Cohort's ``spec.resourceGroups`` is "a shared pool for the ClusterQueues within it", per flavor name (kueue
v0.19.0 ``apis/kueue/v1beta2/cohort_types.go``), and Kueue's flavor finalizer counts ClusterQueues only
(``pkg/cache/scheduler/cache.go`` ``ClusterQueuesUsingFlavor``): such a Cohort does not hold the delete, its pool
just stops lending to this environment. So apply says so, by name, and goes on. The case is
tests/apply/test_flavor_users.py's (gpu-train joins cohort shared-a10g in dev: fraud-detection-dev-gpu-train is
deleted), on the Kubernetes API stand-in (tests/support/kube_api.py, a named stand-in) serving Kueue's Cohort type.
"""

from __future__ import annotations

from pathlib import Path

from tests.apply.test_flavor_users import OLD, apply, cluster_queue, work  # noqa: F401  (a fixture)
from tests.support.kube_api import KubeApiStandIn, load_crds

COHORT_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "cohorts.kueue.x-k8s.io"},
              "spec": {"group": "kueue.x-k8s.io", "scope": "Cluster",
                       "names": {"plural": "cohorts", "singular": "cohort", "kind": "Cohort", "listKind": "CohortList"},
                       "versions": [{"name": "v1beta1", "served": True, "storage": False, "deprecated": True},
                                    {"name": "v1beta2", "served": True, "storage": True}]}}
"""The Cohort CRD's names, scope and versions (kueue v0.19.0 config/components/crd/bases/kueue.x-k8s.io_cohorts.yaml:
cluster-scoped, v1beta1 deprecated and served, v1beta2 the storage version); the shared fixtures hold none."""


def cohort(name: str, flavor: str, version: str = "v1beta2") -> dict:
    resources = [{"name": "nvidia.com/gpu", "nominalQuota": "8"}]
    return {"apiVersion": f"kueue.x-k8s.io/{version}", "kind": "Cohort", "metadata": {"name": name},
            "spec": {"resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                                         "flavors": [{"name": flavor, "resources": resources}]}]}}


def stand_in(*objects: dict) -> KubeApiStandIn:
    api = KubeApiStandIn(crds=[*load_crds("kueue.x-k8s.io_clusterqueues.yaml"), COHORT_CRD])
    api.seed(cluster_queue(OLD, OLD))  # this stack's own queue, as applied
    for obj in objects:
        api.seed(obj)
    return api


def test_a_cohort_naming_the_deleted_flavor_is_named_and_the_apply_goes_on(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(cohort("shared-a10g", OLD), cohort("legacy-pool", OLD, "v1beta1"),
                  cohort("other-pool", "some-other-flavor")) as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 0, result.output
        assert ups == [True]  # a Cohort does not hold the delete: pulumi up ran
        text = " ".join(result.stderr.split())
        assert ("warning: this apply deletes 1 Kueue ResourceFlavor(s) that Kueue Cohorts name in their shared quota: "
                f"ResourceFlavor {OLD}: in the shared quota of Cohort legacy-pool, shared-a10g") in text
        assert "other-pool" not in text
        assert "once the apply has created fraud-detection-dev-shared-a10g-" in text  # the flavor to move it to
        assert [r.path for r in api.requests_for("GET", "/cohorts")] == ["/apis/kueue.x-k8s.io/v1beta2/cohorts"]
        assert api.requests_for("PATCH") == [] and api.requests_for("DELETE") == []


def test_the_refusal_for_an_outside_queue_names_the_cohorts_too(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(cluster_queue("other-team-a10g", OLD), cohort("shared-a10g", OLD)) as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output and ups == []
        text = " ".join(result.stderr.split())
        assert f"ResourceFlavor {OLD}: named by ClusterQueue other-team-a10g" in text
        assert ("A Kueue Cohort's shared quota for the deleted flavor stops lending without an error (a Cohort does not "
                f"hold the delete). Cohorts that name it: ResourceFlavor {OLD}: in the shared quota of Cohort shared-a10g "
                "Move that quota to the new flavor after the apply.") in text


def test_no_cohort_names_it_no_warning(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(cohort("other-pool", "some-other-flavor")) as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 0 and ups == [True], result.output
        assert "shared quota of Cohort" not in result.stderr
        assert len(api.requests_for("GET", "/cohorts")) == 1
