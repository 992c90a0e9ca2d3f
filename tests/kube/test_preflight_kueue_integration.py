"""Preflight: does Kueue manage the runs' PyTorchJobs? (audit k8strain-2)

Kueue >= 0.19 ships with its ``kubeflow.org/pytorchjob`` integration off (v0.19.2
``controller_manager_config.yaml`` line 54); its webhook is then a noop (``jobframework/setup.go`` lines
108-110) and runs start unsuspended, outside every quota. With the integration on, Kueue's defaulting
webhook suspends a PyTorchJob naming a queue at create (``jobframework/defaults.go``
``ApplyDefaultForSuspend``). The preflight dry-runs a create of a compiled run template and reads
``spec.runPolicy.suspend`` from the answer. The cluster is the Kubernetes API stand-in
(``tests/support/kube_api.py``: "Dry run" and "Kueue's PyTorchJob webhook").
"""

from __future__ import annotations

import json

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.preflight import preflight
from tests.kube.test_preflight import _full_cluster
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NAME = "PyTorchJob admission by Kueue (its kubeflow.org/pytorchjob integration)"


def _integration(webhook: bool, crds=None):
    graph = compiled(REFERENCE, "dev")
    with KubeApiStandIn(crds=_full_cluster() if crds is None else crds, kueue_pytorchjob_webhook=webhook) as api, \
            KubeClient.from_url(api.url, retry=FAST) as kube:
        (result,) = [r for r in preflight(kube, cluster_prerequisites(graph)) if r.prerequisite.name == NAME]
        return result, api.requests_for("POST", "/pytorchjobs"), api.objects("pytorchjobs"), graph


def test_a_kueue_without_the_pytorchjob_integration_is_reported_with_the_configuration_change():
    result, posts, stored, graph = _integration(webhook=False)
    namespace = graph.metadata["namespace"]
    assert result.state == "missing" and result.prerequisite.needed_by == ("training_jobs.retrain",)
    warning = result.warning()
    assert f"Kueue does not manage PyTorchJobs in {namespace}" in warning
    assert 'integrations.frameworks gets "kubeflow.org/pytorchjob"' in warning and "kueue-manager-config" in warning
    (post,) = posts  # one dry run, in the template's namespace, storing nothing
    assert post.path == f"/apis/kubeflow.org/v1/namespaces/{namespace}/pytorchjobs" and post.query == {"dryRun": "All"}
    assert stored == []


def test_a_kueue_that_suspends_runs_at_create_passes():
    result, posts, stored, _ = _integration(webhook=True)
    assert result.state == "ok" and result.warning() is None
    assert len(posts) == 1 and stored == []


def test_the_dry_run_creates_the_compiled_run_template():
    graph = compiled(REFERENCE, "dev")
    (check,) = [p.check for p in cluster_prerequisites(graph) if p.name == NAME]
    config = next(r for r in graph.resources if r.address == "training_jobs.retrain" and "pytorchjob.json" in
                  (r.inputs.get("data") or {}))
    assert json.loads(check.dry_run_create) == json.loads(config.inputs["data"]["pytorchjob.json"])


def test_without_the_pytorchjob_api_kueue_cannot_manage_pytorchjobs():
    crds = [c for c in _full_cluster() if c["metadata"]["name"] != "pytorchjobs.kubeflow.org"]
    result, _, _, _ = _integration(webhook=True, crds=crds)
    assert result.state == "missing" and "serves no pytorchjobs.kubeflow.org" in result.detail
