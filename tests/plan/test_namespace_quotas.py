"""Namespace ResourceQuotas (plan/namespace_quotas.py): what a Kubernetes environment's objects need in
their namespace per quota key, and the warning when a quota's ``hard`` is short (pure; the live read
is in tests/cli/test_plan_namespace_quotas.py).

The reference's dev environment (fraud-detection on Kubernetes) runs 4 platform Deployments, a
KServe endpoint (1 to 2 replicas of 1 GPU), a registration Job, 3 CronJobs and a training run of
one 4-GPU Master: 6 pods from the apply, 11 at full scale with every scheduled run, 12 during an
update (one surge pod or one new revision pod beside the old).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from mlops_infra.graph import GraphBuilder
from mlops_infra.plan.namespace_quotas import (
    format_amount,
    limit_range_defaults,
    limit_range_warnings,
    namespace_needs,
    namespace_quota_warnings,
    parse_quantity,
    pod_of,
    queue_proxy,
    serverless_endpoints,
)
from tests.compile.aws.cases import REFERENCE, compiled


def _reference():
    return compiled(REFERENCE, "dev")


def _quota(hard: dict[str, str], name: str = "team", used: dict[str, str] | None = None, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"hard": hard, **spec}, "status": {"used": used or {}}}


@pytest.mark.parametrize("text", ["500m", "8Gi", "1e3", "1E3", "0.5", "1.5k", "100n", "2u", ".5", "+3", "12Mi", "4",
                                  "163Gi", "43", "2E", "1Ki", "-1"])
def test_quantities_parse_as_the_kubernetes_client_parses_them(text):
    from kubernetes.utils.quantity import parse_quantity as client_parse

    assert parse_quantity(text) == client_parse(text)


@pytest.mark.parametrize("text", ["", "1.2.3", "5 Gi", "Gi", "1x", "1e", "m"])
def test_what_is_not_a_quantity_is_refused(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


def test_amounts_are_shown_as_the_quota_shows_them():
    assert [format_amount("requests.cpu", Decimal("1.45")), format_amount("requests.cpu", Decimal(43)),
            format_amount("limits.memory", Decimal(5 * 2**30)), format_amount("memory", Decimal(9728 * 2**20)),
            format_amount("pods", Decimal(6))] == ["1450m", "43", "5Gi", "9728Mi", "6"]


def test_the_reference_dev_graph_needs_per_key():
    needs = {k: (format_amount(k, n.start), format_amount(k, n.most), format_amount(k, n.peak))
             for k, n in namespace_needs(_reference()).items()}
    assert needs["pods"] == ("6", "11", "12")
    assert needs["requests.nvidia.com/gpu"] == ("1", "6", "7")  # 1 to 2 endpoint replicas, a 4-GPU run, 1 new revision
    # each scorer replica: 3 cpu / 13Gi, 90% / 85% of its g4dn.xlarge (compile/kubernetes/serving.py resources),
    # and its pod's Knative queue-proxy: 25m cpu (preflight-3; Knative's default, no memory)
    assert needs["requests.cpu"] == needs["cpu"] == ("3475m", "49850m", "52875m")
    assert needs["requests.memory"] == ("14Gi", "195840Mi", "209152Mi")
    assert needs["limits.memory"] == ("16Gi", "32256Mi", "45568Mi")
    assert needs["requests.storage"] == ("11Gi", "11Gi", "11Gi")  # the registry's 10Gi, the Pushgateway's 1Gi
    assert needs["persistentvolumeclaims"] == needs["count/persistentvolumeclaims"] == ("2", "2", "2")
    assert needs["configmaps"] == needs["count/configmaps"] == ("10", "10", "10")  # incl. the scorer's rollout status ConfigMap
    assert needs["services"] == ("4", "4", "4") and "services.loadbalancers" not in needs
    assert needs["count/deployments.apps"] == ("4", "4", "4")
    assert needs["count/inferenceservices.serving.kserve.io"] == ("1", "1", "1")
    assert needs["count/pytorchjobs.kubeflow.org"] == ("0", "1", "1")  # a run, from the stored template
    assert needs["count/jobs.batch"] == ("1", "20", "20")  # the register Job; each CronJob's active and kept Jobs
    assert needs["count/serviceaccounts"] == ("8", "8", "8")


@pytest.mark.parametrize(("hard", "says"), [
    ("5", "this environment's apply needs 6 (other use of the namespace counts too) (endpoints.scorer "
          "(InferenceService scorer) 1, "),
    ("10", "at full scale and with every scheduled run at once it needs 11 (other use of the namespace counts too)"),
    ("11", "an update of endpoints.scorer (InferenceService scorer) starts its new pods beside the old ones, 12 in "
           "all at full scale (other use of the namespace counts too): those creates of Knative"),
])
def test_the_pods_warning_names_the_first_step_that_fails(hard, says):
    graph = _reference()
    (warning,) = namespace_quota_warnings(graph, [_quota({"pods": hard})])
    assert warning.startswith(f"namespace quota: ResourceQuota team in namespace fraud-dev sets pods to {hard}; {says}")
    assert 'refused with 403 Forbidden "exceeded quota: team"' in warning
    assert warning.endswith("Ask the cluster admin to raise pods in ResourceQuota team, or lower what this "
                            "environment asks for.")
    assert namespace_quota_warnings(graph, [_quota({"pods": "12"})]) == []


def test_a_run_that_alone_passes_the_quota_never_starts():
    (warning,) = namespace_quota_warnings(_reference(), [_quota({"requests.nvidia.com/gpu": "3"})])
    assert ("sets requests.nvidia.com/gpu to 3; training_jobs.retrain (a PyTorchJob run's Master) alone needs 4 "
            "(other use of the namespace counts too): the creates of the training operator (when a run starts)") in warning
    (warning,) = namespace_quota_warnings(_reference(), [_quota({"requests.nvidia.com/gpu": "4"})])
    assert "it needs 6 (other use of the namespace counts too) (endpoints.scorer (InferenceService scorer) 2, " in warning
    assert namespace_quota_warnings(_reference(), [_quota({"requests.nvidia.com/gpu": "7"})]) == []


def test_a_first_apply_leaves_room_for_what_others_use():
    used = _quota({"requests.nvidia.com/gpu": "8"}, used={"requests.nvidia.com/gpu": "2"})
    assert namespace_quota_warnings(_reference(), [used]) == []  # used holds our own pods once applied: hard only
    (warning,) = namespace_quota_warnings(_reference(), [used], first_apply=True)
    assert warning.startswith("namespace quota: ResourceQuota team in namespace fraud-dev sets requests.nvidia.com/gpu "
                              "to 8, 2 of it already used by others (a first apply: none of it is this "
                              "environment's); an update of ")


def test_a_compute_quota_names_the_containers_that_leave_its_key_unset():
    """pods.go Constraints: cpu and memory keys only, per container; a request defaults to its limit.
    Every endpoint pod also runs Knative's queue-proxy, which by default asks cpu 25m and nothing else
    (preflight-3: before, the plan named every container but that one)."""
    graph = _reference()
    assert namespace_quota_warnings(graph, [_quota({"requests.cpu": "1k", "requests.nvidia.com/gpu": "99"})]) == []
    (memory,) = namespace_quota_warnings(graph, [_quota({"requests.cpu": "1k", "memory": "1Ti"})])
    assert memory.startswith("namespace quota: ResourceQuota team in namespace fraud-dev sets memory, so every "
                             "container must set it, and these leave it unset: endpoints.scorer (InferenceService "
                             "scorer: queue-proxy). Their pods are refused with 403 Forbidden \"must specify memory\" "
                             "(pod creates of Knative (its revision's Deployment)). Have the cluster admin add a "
                             "LimitRange default for it. The queue-proxy is Knative's sidecar in every endpoint pod (")
    assert memory.endswith("the cluster admin can set queue-sidecar-memory-request and queue-sidecar-memory-limit in "
                           "ConfigMap knative-serving/config-deployment, or queueproxy.resource-defaults: enabled in "
                           "knative-serving/config-features (requests cpu 25m, memory 400Mi, limits cpu 1000m, "
                           "memory 800Mi).")
    (limits_memory,) = namespace_quota_warnings(graph, [_quota({"limits.memory": "1Ti"})])
    assert limits_memory.startswith(
        "namespace quota: ResourceQuota team in namespace fraud-dev sets limits.memory, so every container must set "
        "it, and these leave it unset: endpoints.scorer (InferenceService scorer: queue-proxy), training_jobs.retrain "
        "(a PyTorchJob run's Master: pytorch). Their pods are refused with 403 Forbidden \"must specify limits.memory\" "
        "(pod creates of Knative (its revision's Deployment), the training operator (when a run starts)). Set "
        "limits.memory on those containers, or have the cluster admin add a LimitRange default for it. The "
        "queue-proxy is Knative's sidecar in every endpoint pod (the knative-serving ConfigMaps were not read, so "
        "Knative's defaults are assumed: requests cpu 25m and nothing else): the cluster admin can set "
        "queue-sidecar-memory-limit in ConfigMap knative-serving/config-deployment")
    (limits_cpu,) = namespace_quota_warnings(graph, [_quota({"limits.cpu": "1k"})])
    assert "platform (Deployment mlops-capture: capture), platform (Deployment mlops-mlflow: mlflow)" in limits_cpu
    # KServe defaults the predictor's cpu limit; Knative's queue-proxy has none
    assert "endpoints.scorer (InferenceService scorer: queue-proxy)" in limits_cpu


@pytest.mark.parametrize(("deployment", "features", "resources", "says"), [
    ({}, {}, {"requests": {"cpu": "25m"}}, "knative-serving/config-deployment sets no queue-sidecar-* key; "
                                           "queueproxy.resource-defaults is not enabled"),
    ({}, {"queueproxy.resource-defaults": "Enabled"},
     {"requests": {"cpu": "25m", "memory": "400Mi"}, "limits": {"cpu": "1000m", "memory": "800Mi"}},
     "queueproxy.resource-defaults is enabled"),
    ({"queue-sidecar-memory-request": "50Mi", "queueSidecarMemoryRequest": "1Gi", "queueSidecarCPULimit": "2"},
     {"queueproxy.resource-defaults": "disabled"},
     {"requests": {"cpu": "25m", "memory": "50Mi"}, "limits": {"cpu": "2"}},
     "sets queue-sidecar-memory-request: 50Mi, queue-sidecar-cpu-limit: 2;"),
])
def test_the_queue_proxy_asks_what_knatives_config_maps_set(deployment, features, resources, says):
    """knative/serving queue.go createQueueResources: a config-deployment key when set (new spelling over
    the deprecated one, config.go NewConfigFromMap), else Knative's default only with
    queueproxy.resource-defaults Enabled (features.go; EqualFold), the 25m cpu request always."""
    sidecar = queue_proxy(deployment, features)
    assert sidecar.resources == resources and says in sidecar.source
    assert queue_proxy(unread="403 Forbidden: no").source.startswith("the knative-serving ConfigMaps could not be read "
                                                                     "(403 Forbidden: no), so Knative's defaults")


def test_a_queue_proxy_configured_with_limits_is_not_named_and_is_counted():
    graph = _reference()
    quota = [_quota({"limits.cpu": "1k", "limits.memory": "1Ti", "requests.memory": "1Ti"})]
    sidecar = queue_proxy({"queue-sidecar-cpu-limit": "1", "queue-sidecar-memory-request": "100Mi",
                           "queue-sidecar-memory-limit": "200Mi"}, {})
    warnings = namespace_quota_warnings(graph, quota, sidecar=sidecar)
    assert len(warnings) == 2 and not any("endpoints.scorer" in w for w in warnings)  # limits.cpu/.memory: others
    needs = namespace_needs(graph, sidecar)
    assert format_amount("limits.memory", needs["limits.memory"].start) == "16584Mi"  # 16Gi + one pod's 200Mi


def test_a_raw_deployment_endpoint_runs_no_queue_proxy():
    graph = copy.deepcopy(_reference())  # compiled() is cached: never edit its graph
    (isvc,) = [r for r in graph.resources if r.inputs.get("kind") == "InferenceService"]
    isvc.inputs["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "RawDeployment"
    assert not any("endpoints.scorer" in w for w in namespace_quota_warnings(graph, [_quota({"limits.memory": "1Ti"})]))


PER_CONTAINER = {"metadata": {"name": "per-container"},
                 "spec": {"limits": [{"type": "Container", "max": {"cpu": "8", "memory": "32Gi"}}]}}


def test_a_limit_range_max_refuses_the_training_pods_without_any_quota():
    """preflight-9: LimitRanger (admission.go PodValidateLimitFunc, maxConstraint) refuses a container past
    a Container item's max; the training Master asks 90% of a GPU node (cpu 43, memory 163Gi)."""
    graph = _reference()
    assert namespace_quota_warnings(graph, [], limit_ranges=[PER_CONTAINER]) == []  # the quota check alone: silent
    (warning,) = limit_range_warnings(graph, [PER_CONTAINER])
    assert warning == (
        "namespace limits: LimitRange per-container in namespace fraud-dev bounds or defaults each Container, and these "
        "containers do not fit it: training_jobs.retrain (a PyTorchJob run's Master: pytorch) cpu request 43 > max 8, memory request "
        "163Gi > max 32Gi. Their pods are refused with 403 Forbidden \"maximum cpu usage per Container is 8, but "
        "request is 43\" (pod creates of the training operator (when a run starts)), so what they make never runs. "
        "Change what those containers ask, or have the cluster admin change LimitRange per-container.")
    assert limit_range_warnings(graph, []) == []


def test_limit_range_min_ratio_and_pod_items_after_its_defaults():
    """minConstraint needs a request, limitRequestRatioConstraint a request and a limit (after the
    LimitRanges' defaults: a default cpu limit of 4 is what the queue-proxy then has, 4/0.025 = 160)."""
    graph = _reference()
    ranges = [{"metadata": {"name": "b"}, "spec": {"limits": [{"type": "Pod", "max": {"memory": "100Gi"}}]}},
              {"metadata": {"name": "a"}, "spec": {"limits": [
                  {"type": "Container", "default": {"cpu": "4"}, "maxLimitRequestRatio": {"cpu": "10"},
                   "min": {"memory": "64Mi"}}]}}]
    ratio, pod = limit_range_warnings(graph, ranges)
    assert ratio.startswith("namespace limits: LimitRange a in namespace fraud-dev bounds or defaults each Container, "
                            "and these containers do not fit it: endpoints.scorer (InferenceService scorer: queue-proxy) cpu "
                            "limit/request 160.00 > maxLimitRequestRatio 10, ")
    assert "memory" not in ratio.split("Their pods")[0]  # min memory 64Mi defaults every unset request to 64Mi
    # its cpu limit defaulted to 4, below its request: the pod is invalid (validation.go ValidateResourceRequirements)
    assert "training_jobs.retrain (a PyTorchJob run's Master: pytorch) cpu request 43 > default limit 4." in ratio
    # podLimits sums the limits its containers set: the scorer's 16Gi stands though its queue-proxy sets none
    assert pod.startswith("namespace limits: LimitRange b in namespace fraud-dev bounds or defaults each Pod, and "
                          "these pods do not fit it: training_jobs.retrain (a PyTorchJob run's Master) no memory limit (max 100Gi). ")
    assert '"maximum memory usage per Pod is 100Gi.  No limit is specified"' in pod


def test_a_limit_range_default_limit_below_a_request_makes_the_pod_invalid():
    """LimitRanger fills an unset limit from the default (mergeContainerResources), then pod validation
    refuses a request above its limit (pkg/apis/core/validation ValidateResourceRequirements): 422."""
    defaults = {"metadata": {"name": "defaults"},
                "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]}}
    (warning,) = limit_range_warnings(_reference(), [defaults])
    assert warning == (
        "namespace limits: LimitRange defaults in namespace fraud-dev bounds or defaults each Container, and these "
        "containers do not fit it: training_jobs.retrain (a PyTorchJob run's Master: pytorch) cpu request 43 > default "
        "limit 1, memory request 163Gi > default limit 1Gi. Their pods are refused with 422 Invalid (the pod's "
        "resources.requests: Invalid value: 43: must be less than or equal to cpu limit of 1) (pod creates of the "
        "training operator (when a run starts)), so what they make never runs. Change what those containers ask, or "
        "have the cluster admin change LimitRange defaults.")


@pytest.mark.parametrize(("item", "covered"), [
    ({"type": "Container", "default": {"cpu": "1"}}, {"limits.cpu", "cpu", "requests.cpu"}),
    ({"type": "Container", "max": {"memory": "8Gi"}}, {"limits.memory", "memory", "requests.memory"}),
    ({"type": "Container", "defaultRequest": {"cpu": "100m"}, "min": {"memory": "64Mi"}},
     {"cpu", "requests.cpu", "memory", "requests.memory"}),
    ({"type": "Pod", "max": {"cpu": "4"}}, set()),
])
def test_a_limit_range_fills_in_what_its_container_item_defaults(item, covered):
    """defaults.go SetDefaults_LimitRangeItem: default limit <- max; default request <- default, then min;
    only Container items default containers (LimitRanger)."""
    assert limit_range_defaults([{"spec": {"limits": [item]}}]) == covered


def test_a_limit_range_default_silences_the_unset_warning_for_its_keys_only():
    graph = _reference()
    quota = [_quota({"limits.cpu": "1k", "limits.memory": "1Ti"})]
    assert len(namespace_quota_warnings(graph, quota)) == 2
    ranges = [{"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}]
    (memory,) = namespace_quota_warnings(graph, quota, limit_ranges=ranges)
    assert "sets limits.memory" in memory


def test_requests_default_to_limits_and_init_containers_count_at_their_largest():
    pod = pod_of({"containers": [{"name": "a", "resources": {"limits": {"cpu": "2", "nvidia.com/gpu": "1"}}},
                                 {"name": "b", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
                  "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "4", "memory": "100Mi"}}}]})
    assert pod.usage["requests.cpu"] == 4 and pod.usage["requests.memory"] == 2**30
    assert pod.usage["requests.nvidia.com/gpu"] == 1 and "limits.nvidia.com/gpu" not in pod.usage
    assert pod.missing == {"memory": ("a",), "requests.memory": ("a",), "limits.cpu": ("b", "i"),
                           "limits.memory": ("a", "b", "i")}


def _deployments(strategy: dict) -> object:
    b = GraphBuilder("demo", "dev")
    b.metadata.update(cloud="kubernetes", namespace="ns")
    container = {"name": "c", "resources": {"requests": {"cpu": "1"}}}
    b.add("kubernetes:apps/v1:Deployment", "d", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "metadata": {"name": "d", "namespace": "ns"},
                                                 "spec": {"replicas": 10, "strategy": strategy,
                                                          "template": {"spec": {"containers": [container]}}}},
          address="platform")
    b.add("kubernetes:core/v1:ConfigMap", "elsewhere", {"apiVersion": "v1", "kind": "ConfigMap",
                                                        "metadata": {"name": "x", "namespace": "other"}})
    return b.build()


@pytest.mark.parametrize(("strategy", "peak"), [({}, 13), ({"type": "Recreate"}, 10),
                                                ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, 11),
                                                ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%"}}, 15)])
def test_a_rolling_update_surges_beside_the_old_pods(strategy, peak):
    needs = namespace_needs(_deployments(strategy))
    assert (needs["pods"].start, needs["pods"].most, needs["pods"].peak) == (10, 10, peak)
    assert "count/configmaps" not in needs  # another namespace's objects are not counted


def test_scoped_quotas_are_not_judged():
    scoped = [_quota({"pods": "1"}, scopes=["BestEffort"]),
              _quota({"pods": "1"}, name="p", scopeSelector={"matchExpressions": [
                  {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]})]
    assert namespace_quota_warnings(_reference(), scoped) == []


def test_a_warning_names_the_largest_items_first_and_counts_the_rest():
    b = GraphBuilder("demo", "dev")
    b.metadata.update(cloud="kubernetes", namespace="ns")
    for i in range(12):
        container = {"name": "c", "resources": {"requests": {"cpu": str(i + 1)}}}
        b.add("kubernetes:apps/v1:Deployment", f"d{i}", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                         "metadata": {"name": f"d{i:02}", "namespace": "ns"},
                                                         "spec": {"template": {"spec": {"containers": [container]}}}},
              address=f"endpoints.e{i:02}")
    unset, cpu = namespace_quota_warnings(b.build(), [_quota({"requests.cpu": "20", "limits.cpu": "1k"})])
    assert ("needs 78 (other use of the namespace counts too) (endpoints.e11 (Deployment d11) 12, endpoints.e10 "
            "(Deployment d10) 11, ") in cpu
    assert "endpoints.e02 (Deployment d02) 3 and 2 more)" in cpu
    assert "endpoints.e09 (Deployment d09: c) and 2 more." in unset


@pytest.mark.parametrize(("mode", "serverless"), [(None, True), ("Serverless", True), ("Knative", True),
                                                  ("RawDeployment", False), ("Standard", False)])
def test_kserve_serverless_mode_is_read_in_both_spellings(mode, serverless):
    """KServe 0.16 renamed Serverless to Knative (the old name a deprecated alias; 0.17+ rewrites it): an
    InferenceService annotated either way runs a queue-proxy (final review: only "Serverless" counted here,
    while compile/kubernetes/prerequisites read both)."""
    from mlops_infra.compile.kubernetes.prerequisites import SERVERLESS_MODES as COMPILED
    from mlops_infra.plan.namespace_quotas import SERVERLESS_MODES

    assert SERVERLESS_MODES == COMPILED
    graph = copy.deepcopy(_reference())
    isvcs = [r for r in graph.resources if r.custom and r.type.endswith(":InferenceService")]
    assert isvcs
    for r in isvcs:
        annotations = r.inputs.setdefault("metadata", {}).setdefault("annotations", {})
        annotations.pop("serving.kserve.io/deploymentMode", None)
        if mode is not None:
            annotations["serving.kserve.io/deploymentMode"] = mode
    assert serverless_endpoints(graph) is serverless


def _two_node_reference():
    """The reference dev graph with a two-node cluster and ``training_jobs.retrain.nodes: 2`` (Master + 1 Worker)."""
    from pathlib import Path

    from tests.compile.aws.cases import compile_text

    text = Path(REFERENCE).read_text()
    changed = text.replace("clusters.gpu-train.nodes: {min: 0, max: 1}", "clusters.gpu-train.nodes: {min: 0, max: 2}") \
        .replace("training_jobs.retrain.nodes: 1 ", "training_jobs.retrain.nodes: 2 ")
    assert changed.count("max: 2}") > text.count("max: 2}") and "retrain.nodes: 2 " in changed
    return compile_text(changed, "dev")


def test_a_limit_range_min_refuses_the_workers_init_pytorch():
    """audit k8srbac-2: the training operator adds init-pytorch (requests cpu 50m, memory 10Mi) to each Worker pod
    of a run with a Master (training-operator v1.9 initcontainer.go), and LimitRanger judges init containers too."""
    floor = {"metadata": {"name": "floor"}, "spec": {"limits": [{"type": "Container", "min": {"memory": "16Mi"}}]}}
    (warning,) = limit_range_warnings(_two_node_reference(), [floor])
    assert ("training_jobs.retrain (a PyTorchJob run's Worker: init-pytorch) memory request 10Mi < min 16Mi"
            in warning)
    assert "a PyTorchJob run's Master: init-pytorch" not in warning  # only Workers get it
    assert "--pytorch-init-container-template-file" in warning
    assert limit_range_warnings(_reference(), [floor]) == []  # one node: a Master alone, no init container


def test_the_init_pytorch_of_the_plan_core_is_the_compilers():
    from mlops_infra.compile.kubernetes.training import INIT_PYTORCH as COMPILED
    from mlops_infra.plan.namespace_quotas import INIT_PYTORCH

    assert INIT_PYTORCH == COMPILED
