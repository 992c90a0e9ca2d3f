"""The compiled InferenceServices name no KServe deployment mode (audit kubevers-3; contract in
``mlops_infra/compile/kubernetes/serving.py``): every spelling of ``serving.kserve.io/deploymentMode``
breaks on some supported KServe release (``Serverless``: 0.16.x refuses every later update, kserve
v0.16.0 ``inference_service_validation.go`` ``validateDeploymentMode``, kserve#4798; 0.17+ rewrites it to
``Knative``; ``Knative``: unknown to 0.15, whose status records ``Serverless``), while without it each
release takes its configured default (``utils.go`` ``GetDeploymentMode``), which the cluster preflight
checks is Serverless (``prerequisites``)."""

from __future__ import annotations

import pytest

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from tests.support.kube_cases import CASE_IDS, by_kind, graph_of

MODE = "serving.kserve.io/deploymentMode"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_inferenceservice_is_annotated_with_a_deployment_mode_and_each_needs_kserves_default(case_id):
    graph = graph_of(case_id)
    isvcs = by_kind(graph, "InferenceService")
    assert all(MODE not in (isvc["metadata"].get("annotations") or {}) for isvc in isvcs)
    needed = {p.name: p for p in cluster_prerequisites(graph)}
    default_mode = needed.get("KServe's default deployment mode Serverless (Knative)")
    if isvcs:
        assert default_mode is not None and len(default_mode.needed_by) == len(isvcs)
        assert default_mode.check.accepted == ("Serverless", "Knative")
        assert "Knative Serving (KServe Serverless mode)" in needed
    else:
        assert default_mode is None
