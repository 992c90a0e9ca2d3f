"""A Kubernetes endpoint with neither accelerator nor instance_type is priced as the node its pod is sized for
(audit pricing45-6). It was "not counted: its pods run on the cluster's existing nodes", while each replica
requests, as requests and limits, 90% of an m5.xlarge's vCPUs and 85% of its memory (3 CPU / 13Gi,
``compile/kubernetes/serving.replica_shape`` and ``resources``): one node per replica where the cluster has no
room. Priced as the Kubernetes drift job's pod is: floor 0, ceiling a node of that shape per replica."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.cost import estimate_cost, hourly_ceiling
from mlops_infra.spec import load_system
from tests.plan.test_cost import EXAMPLES, estimate, line
from tests.plan.test_ml import endpoint, prior_of

KSERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def quickstart_without_shape(tmp_path: Path) -> Path:
    text = (EXAMPLES / "quickstart" / "mlsystem.yaml").read_text()
    data = yaml.safe_load(text)
    (api,) = [e for e in data["endpoints"] if e["name"] == "churn-api"]
    api.pop("instance_type", None)
    api.pop("accelerator", None)
    api["replicas"] = {"min": 2, "max": 6}
    for environment in data["environments"].values():  # dev's override pins 1 replica
        (environment.get("overrides") or {}).pop("endpoints.churn-api.replicas", None)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    return spec


def test_the_quickstart_without_a_shape_prices_a_node_per_replica(tmp_path: Path) -> None:
    node = catalog.ec2_price("m5.xlarge").usd_per_hour
    assert node == 0.192
    system = load_system(quickstart_without_shape(tmp_path), "dev").system
    assert system is not None
    graph = compile_system(system, "dev")
    (service,) = [r for r in graph.resources if r.type == KSERVICE]
    requests = service.inputs["spec"]["predictor"]["model"]["resources"]["requests"]
    assert requests == {"cpu": "3", "memory": "13Gi"}  # about one m5.xlarge (4 vCPU / 16 GiB) each
    result = estimate_cost(graph, prior_of())
    api = line(result, "endpoints.churn-api")
    assert (api.after_min_usd, api.after_usd) == (0.0, round(6 * node * 730, 2)) == (0.0, 840.96)
    assert api.basis.endswith("x m5.xlarge node @ $0.192/h")
    assert "floor 0" in api.note and "a node of that shape per replica" in api.note
    assert "endpoints.churn-api" not in result.not_counted
    assert dict(hourly_ceiling(graph).by_item)["endpoints.churn-api"] >= 6 * node


def test_facts_without_a_shape_on_kubernetes_are_counted_and_on_aws_unchanged() -> None:
    k8s = estimate([], [endpoint(instanceType=None, gpuType=None, gpus=0)], metadata={"cloud": "kubernetes"})
    scorer = line(k8s, "endpoints.scorer")
    assert (scorer.after_min_usd, scorer.after_usd) == (0.0, round(10 * 0.192 * 730, 2))
    assert not any("existing nodes" in n for n in k8s.notes)
    # a rollout on such an endpoint: its floor is 0 too (the pods may fit on nodes already up)
    moved = estimate([endpoint(instanceType=None, gpus=0)], [endpoint(instanceType=None, gpus=0, modelVersion=13)],
                     metadata={"cloud": "kubernetes"})
    assert moved.rollout_extra_usd == 0 and moved.not_counted == ()


def test_aws_endpoints_keep_their_floor() -> None:
    result = estimate([], [endpoint()], metadata={"cloud": "aws", "region": "us-east-1"})
    assert line(result, "endpoints.scorer").after_min_usd > 0
