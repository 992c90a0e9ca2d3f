"""What KServe 0.15 and Knative do with the compiled InferenceServices: admitted, sized, tagged.

The CRD schema (test_kubernetes_validation.py) accepts objects that KServe's admission webhook
refuses or whose pods cannot run. This module ports, for the fields this compiler writes, the rules
that decide it (kserve v0.15.0 and knative/serving v0.44.0, the version KServe 0.15's go.mod pins):

- admission: ``pkg/apis/serving/v1beta1/inference_service_validation.go``
  ``validateAutoScalingCompExtension`` (Serverless mode: the HPA rules when the annotation
  ``autoscaling.knative.dev/class`` is ``hpa.autoscaling.knative.dev``, else the KPA ones) and
  Knative's ``pkg/apis/autoscaling/annotation_validation.go`` ``validateMetric``;
- the predictor container: the ClusterServingRuntime's container (``config/runtimes/kserve-*.yaml``:
  cpu ``1`` and memory ``2Gi`` as requests and limits) merged with ours by strategic merge patch
  (``pkg/controller/v1beta1/inferenceservice/utils/utils.go`` ``MergeRuntimeContainers``;
  ``requests``/``limits`` are maps, merged key by key), then the API server's request <= limit rule
  (``pkg/apis/core/validation`` ``ValidateResourceRequirements``);
- traffic: ``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService`` (which traffic
  targets, with which tags, a rollout at ``canaryTrafficPercent`` gives).
"""

from __future__ import annotations

import math

import pytest

from mlops_infra.compile.kubernetes import serving
from mlops_infra.ml.size import gib
from mlops_infra.plan.namespace_quotas import parse_quantity
from mlops_infra.spec import parse_system
from mlops_infra.spec.fit import serving_fit
from tests.support.kube_cases import CASE_IDS, by_kind, compile_text, graph_of, system_of

HPA = "hpa.autoscaling.knative.dev"
CLASS = "autoscaling.knative.dev/class"
KPA_METRICS = ("concurrency", "rps")
"""``constants.AutoscalerAllowedKPAMetricsList``."""
HPA_METRICS = ("cpu", "memory")
"""``constants.AutoscalerAllowedHPAMetricsList``."""
RUNTIME_RESOURCES = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}
"""The shipped ClusterServingRuntimes' container resources (every ``config/runtimes/kserve-*.yaml``)."""


def admission_error(isvc: dict) -> str | None:
    """KServe's webhook (and Knative's annotation validation) on the autoscaling of a Serverless predictor."""
    predictor, annotations = isvc["spec"]["predictor"], isvc["metadata"].get("annotations", {})
    assert "serving.kserve.io/deploymentMode" not in annotations  # KServe's default mode, Serverless (serving.py)
    target = predictor.get("scaleTarget")
    if annotations.get(CLASS) == HPA:
        metric = predictor.get("scaleMetric", "cpu")
        if metric not in HPA_METRICS:
            return f"[{metric}] is not a supported metric"
        if target is not None and ((metric == "cpu" and target < 1) or target > 100):
            return "the target utilization percentage should be a [1-100] integer"
        return None
    metric = predictor.get("scaleMetric", "concurrency")
    if metric not in KPA_METRICS:
        return f"[{metric}] is not a supported metric"
    if metric == "rps" and target is not None and target < 1:
        return "the target for rps should be greater than 1"
    return None


CUSTOM_DEFAULTS = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}
"""What the webhook fills in a custom predictor's unset keys: ``inferenceservice-config`` ``resource``
(``config/configmap/inferenceservice.yaml``; ``CustomPredictor.Default`` -> ``setResourceRequirementDefaults``)."""


def merged_resources(predictor: dict) -> dict[str, dict[str, str]]:
    """The predictor container's resources as KServe runs them: ``predictor.model``'s merged into the
    runtime's; a custom predictor's ``kserve-container`` (a model's ``serving_image``) with no runtime."""
    if "model" in predictor:
        ours, base = predictor["model"].get("resources", {}), RUNTIME_RESOURCES
    else:
        (container,) = [c for c in predictor["containers"] if c["name"] == "kserve-container"]
        ours, base = container.get("resources", {}), CUSTOM_DEFAULTS
    return {key: {**base[key], **ours.get(key, {})} for key in ("limits", "requests")}


def request_over_limit(resources: dict[str, dict[str, str]]) -> list[str]:
    return [f"{name}: must be less than or equal to {name} limit of {resources['limits'][name]}"
            for name, amount in resources["requests"].items()
            if name in resources["limits"] and parse_quantity(amount) > parse_quantity(resources["limits"][name])]


def traffic(annotations: dict, percent: int | None, last_rolled_out: str) -> list[dict]:
    """``createKnativeService``'s traffic targets."""
    tagged = annotations.get("serving.kserve.io/enable-tag-routing") == "true"
    if percent is not None and last_rolled_out:
        targets = [{"latestRevision": True, "percent": percent, **({"tag": "latest"} if tagged else {})}]
        if percent < 100:
            targets.append({"revisionName": last_rolled_out, "percent": 100 - percent, "tag": "prev"})
        return targets
    return [{"latestRevision": True, "percent": 100, **({"tag": "latest"} if tagged else {})}]


def inference_services(case: str) -> list[dict]:
    return by_kind(graph_of(case), "InferenceService")


@pytest.mark.parametrize("case", CASE_IDS)
def test_kserve_admits_every_inference_service(case):
    for isvc in inference_services(case):
        assert admission_error(isvc) is None, (isvc["metadata"]["name"], admission_error(isvc))


def test_cpu_autoscaling_uses_knatives_hpa_class_which_never_scales_to_zero():
    document = CPU_FROM_ZERO
    isvc = by_kind(compile_text(document), "InferenceService")[0]
    assert isvc["metadata"]["annotations"][CLASS] == HPA
    assert (isvc["spec"]["predictor"]["scaleMetric"], isvc["spec"]["predictor"]["scaleTarget"]) == ("cpu", 60)
    assert isvc["spec"]["predictor"]["minReplicas"] == 1 and isvc["spec"]["predictor"]["maxReplicas"] == 4
    assert admission_error(isvc) is None


@pytest.mark.parametrize("case", CASE_IDS)
def test_predictor_pods_get_their_shapes_cpu_and_memory_not_the_runtimes(case):
    system = system_of(case)
    for isvc in inference_services(case):
        name = isvc["metadata"]["name"]
        resources = merged_resources(isvc["spec"]["predictor"])
        assert request_over_limit(resources) == [], name
        assert resources["requests"] == {k: v for k, v in resources["limits"].items() if k != "nvidia.com/gpu"}, name
        assert parse_quantity(resources["limits"]["memory"]) > parse_quantity("2Gi"), name
        fit = serving_fit(system, system.item("endpoints", name))
        if fit is not None and "nvidia.com/gpu" not in resources["limits"]:  # CPU: weights in host memory
            assert parse_quantity(resources["limits"]["memory"]) >= fit.per_gpu_bytes * fit.gpus, name


def test_the_llm_chat_endpoint_has_memory_for_its_model():
    """Llama 3.1 8B on 4 x A10G (g5.12xlarge: 48 vCPUs, 192 GiB): 85% of the memory, far above the model."""
    system = system_of("llm-platform-dev")
    chat = next(i for i in inference_services("llm-platform-dev") if i["metadata"]["name"] == "chat")
    resources = merged_resources(chat["spec"]["predictor"])
    fit = serving_fit(system, system.item("endpoints", "chat"))
    assert fit is not None and gib(fit.per_gpu_bytes * fit.gpus) > 16
    assert resources["limits"] == {"cpu": "43", "memory": "163Gi", "nvidia.com/gpu": "4"}


def test_memory_is_raised_to_the_model_estimate_when_the_shape_leaves_less():
    """A 6B fp16 model on the default CPU instance (m5.xlarge, 16 GiB): it fits the instance (13.4 GiB),
    and 85% of the instance (13 GiB) would not hold it."""
    isvc = by_kind(compile_text(BIG_ON_A_CPU), "InferenceService")[0]
    system = system_from(BIG_ON_A_CPU)
    fit = serving_fit(system, system.item("endpoints", "big"))
    assert fit.fits and fit.gpus == 1 and parse_quantity("13Gi") < fit.per_gpu_bytes
    resources = merged_resources(isvc["spec"]["predictor"])
    assert resources["limits"] == resources["requests"] == {"cpu": "3", "memory": f"{math.ceil(gib(fit.per_gpu_bytes))}Gi"}
    assert "nodeSelector" not in isvc["spec"]["predictor"]


def test_a_gpu_replica_asks_for_its_nodes_share_not_its_weights():
    """An 8B bf16 model on one A10G (ml.g5.xlarge: 4 vCPUs, 16 GiB of RAM, 24 GB of GPU memory): the
    weights (about 15 GiB) live in GPU memory; a host-memory request that large would not fit the node's
    allocatable memory, and the pod would stay Pending ("Insufficient memory")."""
    isvc = by_kind(compile_text(EIGHT_B_ON_A_G5), "InferenceService")[0]
    fit = serving_fit(system_from(EIGHT_B_ON_A_G5), system_from(EIGHT_B_ON_A_G5).item("endpoints", "chat"))
    assert fit.fits and gib(fit.per_gpu_bytes * fit.gpus) > 13
    resources = merged_resources(isvc["spec"]["predictor"])
    assert resources["limits"] == {"cpu": "3", "memory": "13Gi", "nvidia.com/gpu": "1"}


def test_a_blue_green_revision_is_reachable_through_its_latest_tag():
    ranker = next(i for i in inference_services("variety-dev") if i["metadata"]["name"] == "ranker")
    annotations = ranker["metadata"]["annotations"]
    assert annotations[serving.TAG_ROUTING] == "true"
    targets = traffic(annotations, ranker["spec"]["predictor"]["canaryTrafficPercent"], "ranker-predictor-00001")
    assert {"latestRevision": True, "percent": 0, "tag": "latest"} in targets
    assert {"revisionName": "ranker-predictor-00001", "percent": 100, "tag": "prev"} in targets


def system_from(text: str):
    return parse_system(text, env="dev").system


HEAD = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: kfit, owner: ml@example.com}
environments:
  dev:
    target: {kind: kubernetes, context: dev-cluster, namespace: kfit-dev}
"""
CPU_FROM_ZERO = HEAD + """
models:
  - {name: churn, framework: sklearn}
endpoints:
  - name: churn
    model: {name: churn, version: 1}
    replicas: {min: 0, max: 4}
    autoscaling: {metric: cpu_utilization, target: 60}
"""
BIG_ON_A_CPU = HEAD + """
models:
  - {name: big, framework: huggingface, parameters: 6B, dtype: fp16}
endpoints:
  - name: big
    model: {name: big, version: 1}
    replicas: {min: 1, max: 1}
"""

EIGHT_B_ON_A_G5 = HEAD + """
models:
  - {name: chat, framework: huggingface, parameters: 8B, dtype: bf16}
endpoints:
  - name: chat
    model: {name: chat, version: 1}
    instance_type: ml.g5.xlarge
    replicas: {min: 1, max: 1}
"""
