"""Kubernetes compile cases for tests: every Kubernetes environment of the reference document
and of ``examples/*/mlsystem.yaml``, compiled once per session (test support).

- :data:`CASES`: ``(id, path, env)`` for each Kubernetes environment; :data:`CASE_IDS` adds
  ``variety-dev``, the in-memory :data:`VARIETY` document that exercises every branch.
- :func:`graph_of` / :func:`system_of`: the DesiredGraph / effective system of a case id (cached).
- :func:`compiled`: the DesiredGraph of a document's environment (cached).
- :func:`compile_text`: compile an in-memory document's environment (for focused tests).
- :func:`objects`: every Kubernetes object a graph declares, including the PyTorchJob run templates
  stored in ConfigMaps, as ``(resource, object)`` pairs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.spec import load_system, parse_system
from tests.support.shared_files import REFERENCE

REPO = Path(__file__).resolve().parents[2]

DOCUMENTS = [REFERENCE, *sorted(REPO.glob("examples/*/mlsystem.yaml"))]


def _kubernetes_envs(path: Path) -> list[str]:
    loaded = load_system(path)
    if loaded.system is None:
        return []
    return sorted(n for n, e in loaded.system.environments.items() if e.target.kind == "kubernetes")


def _case_id(path: Path, env: str) -> str:
    return f"{'reference' if path == REFERENCE else path.parent.name}-{env}"


CASES = [(_case_id(p, env), p, env) for p in DOCUMENTS if p.exists() for env in _kubernetes_envs(p)]


@cache
def compiled(path: Path, env: str) -> DesiredGraph:
    loaded = load_system(path, env)
    assert loaded.ok, [d.summary for d in loaded.diagnostics if d.is_error]
    return compile_system(loaded.system, env)


def compile_text(text: str, env: str = "dev") -> DesiredGraph:
    loaded = parse_system(text, env=env)
    assert loaded.ok, [(d.summary, d.detail) for d in loaded.diagnostics if d.is_error]
    return compile_system(loaded.system, env)


def is_kube_object(resource: DesiredResource) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:")


def objects(graph: DesiredGraph) -> Iterator[tuple[DesiredResource, dict[str, Any]]]:
    """Every Kubernetes object of the graph, plus run templates stored in ConfigMaps."""
    for resource in graph.resources:
        if not is_kube_object(resource):
            continue
        yield resource, resource.inputs
        if resource.inputs["kind"] == "ConfigMap":
            for key, text in resource.inputs.get("data", {}).items():
                if key.endswith(".json") and '"apiVersion"' in text:
                    yield resource, json.loads(text)


def by_kind(graph: DesiredGraph, kind: str) -> list[dict[str, Any]]:
    return [obj for _, obj in objects(graph) if obj["kind"] == kind]


VARIETY = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata:
  name: variety
  owner: ml@example.com
  labels: {team: "Risk Team/EMEA", "Cost Center": "cc 1234", long: "<LONG>"}
data_sources:
  - {name: events, kind: object_store, encryption: s3, versioning: false,
     contract: {columns: {x: float, y: int}, freshness: 1h}}
  - {name: labels, kind: object_store}
clusters:
  - {name: a100, instance_type: ml.p4d.24xlarge, nodes: {min: 0, max: 3}}
  - {name: cpu, instance_type: ml.m5.xlarge, nodes: {min: 1, max: 4}}
  - {name: t4, accelerator: {type: T4, count: 1}, nodes: {min: 0, max: 2}, spot: false}
training_jobs:
  - {name: pretrain, cluster: a100, image: "registry.example.com/pretrain@sha256:<DIGEST>", nodes: 3,
     args: [--fast], inputs: [events], registers: ranker}
  - {name: tabular, cluster: cpu, image: registry.example.com/tab:1, triggers: {on_alerts: [ranker-accuracy]},
     inputs: [events, labels], outputs: [labels], registers: churn}
  - {name: tiny, cluster: t4, image: registry.example.com/tiny:1, triggers: {schedule: "*/30 * * * *"}}
models:
  - {name: ranker, framework: huggingface, approval: automatic, description: ranks things}
  - {name: churn, framework: sklearn}
  - {name: bespoke, framework: custom, artifacts_uri: "s3://variety-imports-123456789012/bespoke/"}  # imported (B5)
endpoints:
  - name: ranker
    model: {name: ranker, version: 3}
    accelerator: {type: H100, count: 8}
    replicas: {min: 0, max: 2}
    autoscaling: {metric: concurrency, target: 4}
    rollout: {strategy: blue_green, bake: 5m, rollback_on: [ranker-latency]}
    capture: {sample_percent: 5}
  - name: churn
    model: {name: churn, version: 1}
    instance_type: ml.m5.xlarge
    replicas: {min: 1, max: 3}
    autoscaling: {metric: cpu_utilization, target: 70}
    rollout: {strategy: rolling}
    capture: {sample_percent: 100}
  - name: bespoke
    model: {name: bespoke, version: 9}
    accelerator: {type: L4, count: 1}
    replicas: {min: 1, max: 1}
    autoscaling: {metric: gpu_utilization, target: 60}
monitors:
  - {name: ranker-latency, endpoint: ranker, metric: latency_p99, threshold: 2s}
  - {name: ranker-accuracy, endpoint: churn, metric: accuracy, threshold: 0.9, schedule: 1d}
  - {name: churn-quality, endpoint: churn, metric: data_quality, threshold: 0.05, schedule: 15m}
  - {name: churn-drift, endpoint: churn, metric: prediction_drift, threshold: 0.1, schedule: 6h}
  - {name: churn-features, endpoint: churn, metric: feature_drift, baseline: events, threshold: 0.3}
alerts:
  - {name: ranker-latency, monitor: ranker-latency, for: 10m, severity: critical, notify: [pager, hook]}
  - {name: ranker-accuracy, monitor: ranker-accuracy, for: 1h, severity: warning, notify: [mail, hook-open]}
  - {name: churn-quality, monitor: churn-quality, for: 30m, severity: info, notify: [mail]}
channels:
  - {name: pager, kind: pagerduty, routing_key: {secret: pd-routing, key: routing_key}}
  - {name: hook, kind: webhook, url: {secret: hook-url}, token: {secret: hook-token, key: token}}
  - {name: hook-open, kind: webhook, url: "https://hooks.example.com/ml"}
  - {name: mail, kind: email, address: ml@example.com}
  - {name: chat, kind: slack, webhook_url: {secret: slack-url}, channel: "#ml"}
environments:
  dev:
    target: {kind: kubernetes, context: dev-cluster, namespace: variety-dev}
  prod:
    target: {kind: aws, region: us-east-1, account: "123456789012"}
    overrides:                      # SageMaker pulls from private ECR in its own region only (spec/containers.py)
      training_jobs.pretrain.image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain@sha256:<DIGEST>"
      training_jobs.tabular.image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tab:1
      training_jobs.tiny.image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1
""".replace("<LONG>", "x" * 80).replace("<DIGEST>", "0" * 64)
"""A document that exercises every branch of the Kubernetes target (compiled with :func:`compile_text`)."""


CASE_IDS = [case[0] for case in CASES] + ["variety-dev"]


@cache
def system_of(case_id: str):
    """The effective system of a case id."""
    if case_id == "variety-dev":
        return parse_system(VARIETY, env="dev").system
    _, path, env = next(c for c in CASES if c[0] == case_id)
    return load_system(path, env).system


@cache
def graph_of(case_id: str) -> DesiredGraph:
    """The compiled graph of a case id."""
    if case_id == "variety-dev":
        return compile_text(VARIETY)
    _, path, env = next(c for c in CASES if c[0] == case_id)
    return compiled(path, env)


def env_of(case_id: str) -> str:
    return case_id.rsplit("-", 1)[1]
