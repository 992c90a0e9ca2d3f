"""The Kubernetes target's graph: deterministic, well-formed, and faithful to the spec.

Runs for every Kubernetes environment of the reference document and the examples.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.context import COMPONENT_TYPES, PLATFORM_TYPE
from mlops_infra.compile.kubernetes.artifacts import predictor_storage_uri
from mlops_infra.compile.kubernetes.labels import is_label_key, is_label_value
from mlops_infra.compile.kubernetes.objects import CLUSTER_SCOPED, type_token
from mlops_infra.graph import DesiredGraph
from mlops_infra.spec import load_system
from mlops_infra.spec.base import SecretRef
from tests.support.kube_cases import (
    CASE_IDS,
    REFERENCE,
    REPO,
    by_kind,
    compiled,
    env_of,
    graph_of,
    is_kube_object,
    objects,
    system_of,
)

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def test_cases_cover_the_reference_and_examples():
    names = {case_id.rsplit("-", 1)[0] for case_id in CASE_IDS}
    assert "reference" in names
    examples = {p.parent.name for p in REPO.glob("examples/*/mlsystem.yaml")
                if any(e.target.kind == "kubernetes" for e in load_system(p).system.environments.values())}
    assert examples <= names


@pytest.mark.parametrize("case", CASE_IDS)
def test_compiling_twice_gives_identical_json(case):
    first = graph_of(case).dumps()
    assert compile_system(system_of(case), env_of(case)).dumps() == first


@pytest.mark.parametrize("case", CASE_IDS)
def test_metadata_and_provider(case):
    graph = graph_of(case)
    target = system_of(case).environments[env_of(case)].target
    assert graph.metadata == {"cloud": "kubernetes", "context": target.context, "namespace": target.namespace}
    providers = [r for r in graph.resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    provider = providers[0]
    assert provider.name == "k8s" and provider.parent is None
    assert provider.inputs == {"clusterIdentifier": target.context, "context": target.context,
                               "namespace": target.namespace}
    platforms = [r for r in graph.resources if r.type == PLATFORM_TYPE]
    assert len(platforms) == 1 and platforms[0].parent is None and not platforms[0].custom


@pytest.mark.parametrize("case", CASE_IDS)
def test_every_object_is_named_parented_and_provided(case):
    graph = graph_of(case)
    by_urn = graph.by_urn()
    provider = next(r.urn for r in graph.resources if r.type == "pulumi:providers:kubernetes")
    namespace = graph.metadata["namespace"]
    for resource in filter(is_kube_object, graph.resources):
        obj = resource.inputs
        # the namespace is its kind's Patch resource (adopted or created, never deleted: platform.py)
        assert resource.type == type_token(obj["apiVersion"], obj["kind"], patch=resource.role == "namespace"), resource.urn
        assert resource.provider == provider, resource.urn
        assert resource.parent is not None and not by_urn[resource.parent].custom, resource.urn
        assert by_urn[resource.parent].type in {PLATFORM_TYPE, *COMPONENT_TYPES.values()}
        assert resource.address and resource.role, resource.urn
        assert resource.name == obj["metadata"]["name"], "no autonaming: plans show real names"
        assert len(resource.name) <= 63 and re.match(DNS_LABEL, resource.name), resource.name
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"], resource.urn
        else:
            assert obj["metadata"]["namespace"] == namespace, resource.urn


@pytest.mark.parametrize("case", CASE_IDS)
def test_labels_are_valid_and_say_who_manages(case):
    graph = graph_of(case)
    system = system_of(case)
    for resource, obj in objects(graph):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "mlops-infra", resource.urn
        assert labels["app.kubernetes.io/part-of"] == system.metadata.name, resource.urn
        for container in _label_maps(obj):
            for key, value in container.items():
                assert is_label_key(key), (resource.urn, key)
                assert is_label_value(value), (resource.urn, key, value)


def _label_maps(value: Any) -> list[dict[str, str]]:
    """Every ``labels`` map and selector ``matchLabels`` inside an object."""
    found = []
    if isinstance(value, dict):
        for key, sub in value.items():
            if key in ("labels", "matchLabels", "nodeLabels", "nodeSelector") and isinstance(sub, dict):
                found.append(sub)
            found += _label_maps(sub)
    elif isinstance(value, list):
        for sub in value:
            found += _label_maps(sub)
    return found


@pytest.mark.parametrize("case", CASE_IDS)
def test_every_spec_item_has_its_component(case):
    graph = graph_of(case)
    system = system_of(case)
    components = {(r.type, r.name) for r in graph.resources if not r.custom}
    for section, type_ in COMPONENT_TYPES.items():
        for item in getattr(system, section):
            assert (type_, item.name) in components, f"{section}.{item.name}"


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    out = [(path, value)]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _walk(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for n, sub in enumerate(value):
            out += _walk(sub, f"{path}[{n}]")
    return out


@pytest.mark.parametrize("case", CASE_IDS)
def test_gpu_quantities_are_strings(case):
    seen = 0
    for resource, obj in objects(graph_of(case)):
        for where, value in _walk(obj):
            if where.endswith(".nvidia.com/gpu"):  # resources.limits / requests
                seen += 1
                assert isinstance(value, str) and value.isdigit(), (resource.urn, where, value)
            if isinstance(value, dict) and value.get("name") == "nvidia.com/gpu" and "nominalQuota" in value:
                seen += 1
                assert isinstance(value["nominalQuota"], str) and value["nominalQuota"].isdigit(), resource.urn
    system = system_of(case)
    if any(c.accelerator for c in system.clusters) or any(e.accelerator for e in system.endpoints):
        assert seen


@pytest.mark.parametrize("case", CASE_IDS)
def test_cluster_queue_gpu_quota_is_max_nodes_times_gpus(case):
    graph = graph_of(case)
    system = system_of(case)
    queues = {q["metadata"]["name"]: q for q in by_kind(graph, "ClusterQueue")}
    for cluster in system.clusters:
        queue = queues[f"{system.metadata.name}-{env_of(case)}-{cluster.name}"]
        quotas = {r["name"]: r["nominalQuota"] for g in queue["spec"]["resourceGroups"]
                  for f in g["flavors"] for r in f["resources"]}
        if cluster.accelerator:
            assert quotas["nvidia.com/gpu"] == str(cluster.nodes.max * cluster.accelerator.count)
        assert {"cpu", "memory"} <= set(quotas)
        local = [q for q in by_kind(graph, "LocalQueue") if q["metadata"]["name"] == cluster.name]
        assert local and local[0]["spec"]["clusterQueue"] == queue["metadata"]["name"]


@pytest.mark.parametrize("case", CASE_IDS)
def test_inference_services_follow_the_rollout(case):
    graph = graph_of(case)
    system = system_of(case)
    services = {s["metadata"]["name"]: s for s in by_kind(graph, "InferenceService")}
    for endpoint in system.endpoints:
        predictor = services[endpoint.name]["spec"]["predictor"]
        assert predictor["minReplicas"] == endpoint.replicas.min and predictor["maxReplicas"] == endpoint.replicas.max
        uri = predictor_storage_uri(predictor)  # predictor.model's, or a serving_image container's STORAGE_URI
        assert uri is not None and uri.endswith(f"/{endpoint.model.name}/{endpoint.model.version}/")
        rollout = graph.rollouts.get(f"endpoints.{endpoint.name}")
        if endpoint.rollout.strategy == "canary":
            assert predictor["canaryTrafficPercent"] == endpoint.rollout.steps[0]
            assert rollout["steps"] == list(endpoint.rollout.steps)
            assert rollout["rollbackAlerts"] == list(endpoint.rollout.rollback_on)
            assert rollout["controller"] == "mlops-infra rollout"
            assert rollout["bakeSeconds"] == (endpoint.rollout.bake.seconds if endpoint.rollout.bake else 0)
        elif endpoint.rollout.strategy in ("rolling", "all_at_once"):
            assert "canaryTrafficPercent" not in predictor and rollout is None
        if endpoint.capture:
            assert predictor["logger"]["mode"] == "all"
            assert f"sample_percent={endpoint.capture.sample_percent}" in predictor["logger"]["url"]


@pytest.mark.parametrize("case", CASE_IDS)
def test_training_never_starts_at_apply(case):
    graph = graph_of(case)
    system = system_of(case)
    assert not [r for r in graph.resources if r.type.endswith((":PyTorchJob", ":TrainJob"))]
    cronjobs = {c["metadata"]["name"]: c for c in by_kind(graph, "CronJob")}
    templates = {t["metadata"]["labels"]["mlops-infra/training-job"]: t for t in by_kind(graph, "PyTorchJob")}
    for job in system.training_jobs:
        cron = cronjobs[f"train-{job.name}"]["spec"]
        assert cron["suspend"] is (job.triggers.schedule is None)
        if job.triggers.schedule:
            assert cron["schedule"] == str(job.triggers.schedule) and cron["timeZone"] == "Etc/UTC"
        template = templates[job.name]
        assert "name" not in template["metadata"] and template["metadata"]["generateName"]
        assert template["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == job.cluster
        replicas = template["spec"]["pytorchReplicaSpecs"]
        assert sum(r["replicas"] for r in replicas.values()) == job.nodes
        if job.max_runtime:
            assert template["spec"]["runPolicy"]["activeDeadlineSeconds"] == job.max_runtime.seconds


def _spec_secrets(system) -> set[str]:
    found = set()
    for channel in system.channels:
        for value in channel.__dict__.values():
            if isinstance(value, SecretRef):
                found.add(value.secret)
    return found


@pytest.mark.parametrize("case", CASE_IDS)
def test_secrets_are_only_referenced(case):
    graph = graph_of(case)
    system = system_of(case)
    assert not [r for r in graph.resources if r.type == "kubernetes:core/v1:Secret"], "never create Secrets"
    referenced = set()
    for resource, obj in objects(graph):
        for where, value in _walk(obj):
            if isinstance(value, dict) and set(value) == {"key", "name"} and where.split(".")[-1] in (
                    "apiURL", "urlSecret", "routingKey", "credentials", "serviceKey"):
                referenced.add(value["name"])
            assert not where.endswith((".stringData", ".password", ".authPassword")), (resource.urn, where)
    platform = {"mlops-retrain-trigger-token"} if any(j.triggers.on_alerts for j in system.training_jobs) else set()
    assert referenced == _spec_secrets(system) | platform  # C5: the trigger's token, a Secret the platform team makes


def test_reference_dev_type_counts():
    graph: DesiredGraph = compiled(REFERENCE, "dev")
    counts = Counter(r.type for r in graph.resources)
    assert counts["kubernetes:serving.kserve.io/v1beta1:InferenceService"] == 1
    assert counts["kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"] == 1
    # 3 monitors + 3 alerts + 1 rollback alert + 1 notify-failures (alerting.compile_notify_failures)
    # + 1 notify-failures-retrain-retrain (6799dac: one per retrain job, kept out of notify-failures' size)
    # + 1 training-failed-retrain (alerting.compile_training_failure_rule: its runs' failures, told to ml-team)
    assert counts["kubernetes:monitoring.coreos.com/v1:PrometheusRule"] == 10
    assert counts["kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"] == 3  # 2 channels + retrain
    assert counts["kubernetes:batch/v1:CronJob"] == 3  # retrain schedule + drift monitor + rollout runner
    assert counts["kubernetes:core/v1:NamespacePatch"] == 1 and "kubernetes:core/v1:Namespace" not in counts


def test_the_models_bucket_is_declared_never_to_expire_a_version():
    """Finding B4, Kubernetes side: the models bucket is declared like the AWS artifacts bucket
    (versioned, no retention), so both targets keep a pinned version's artifact as long as it is pinned."""
    import json

    from tests.support.kube_cases import REFERENCE, compiled

    (config,) = [r for r in compiled(REFERENCE, "dev").resources
                 if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs["metadata"]["name"] == "mlops-object-store"]
    assert json.loads(config.inputs["data"]["MLOPS_MODELS_REQUIREMENTS"]) == {
        "encryption": "kms", "retentionDays": None, "versioning": True}
