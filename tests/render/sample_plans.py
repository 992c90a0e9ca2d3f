"""Hand-made plans for renderer tests: realistic, small, and one huge one.

These do not come from the planner, so renderer tests pin rendering only; the golden scenarios in
tests/scenarios pin the whole pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.plan.model import (
    REDACTED,
    Action,
    AttributeChange,
    CostEstimate,
    CostLine,
    CostRange,
    MLChange,
    Plan,
    Reason,
    ResourceChange,
)

PROJECT, STACK = "fraud-detection", "staging"
TARGET = {"kind": "aws", "region": "us-east-1", "account": "111111111111"}


def urn(type_chain: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_chain}::{name}"


EP = "mlops:serving:Endpoint"


@dataclass(frozen=True)
class Drift:
    """Shaped like plan.drift.DriftItem (urn, type, kind, changes, summary)."""

    urn: str
    type: str
    kind: str
    changes: tuple = ()
    summary: str = ""

    def to_json(self):
        return {"urn": self.urn, "type": self.type, "kind": self.kind, "summary": self.summary,
                "changes": [c.to_json() for c in self.changes]}


def changes_plan(**overrides) -> Plan:
    """A plan with one of each action, ML summary, cost, a secret and (optionally) drift."""
    config_type = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    changes = (
        ResourceChange(urn(f"{EP}", "scorer"), EP, "scorer", Action.UPDATE,
                       Reason("facts-changed", "the endpoint's ML facts changed"),
                       (AttributeChange("instanceType", "ml.g5.xlarge", "ml.g5.2xlarge"),),
                       address="endpoints.scorer", role="component", custom=False),
        ResourceChange(urn(f"{EP}${config_type}", "fraud-detection-staging-scorer-1a2b3c"), config_type,
                       "fraud-detection-staging-scorer-1a2b3c", Action.REPLACE,
                       Reason("replace-on-change", "endpoint configs are immutable; a new one is created first"),
                       (AttributeChange("productionVariants[0].instanceType", "ml.g5.xlarge", "ml.g5.2xlarge",
                                        forces_replacement=True),),
                       address="endpoints.scorer", role="endpoint-config"),
        ResourceChange(urn(f"{EP}$aws:sagemaker/endpoint:Endpoint", "fraud-detection-staging-scorer"),
                       "aws:sagemaker/endpoint:Endpoint", "fraud-detection-staging-scorer", Action.UPDATE,
                       Reason("inputs-changed", "points at the new endpoint config"),
                       (AttributeChange("endpointConfigName", "fraud-detection-staging-scorer-1a2b3c",
                                        "(known after apply)"),),
                       address="endpoints.scorer", role="endpoint"),
        ResourceChange(urn("mlops:alerting:Channel$aws:secretsmanager/secret:Secret", "oncall-webhook"),
                       "aws:secretsmanager/secret:Secret", "oncall-webhook", Action.CREATE,
                       Reason("new", "not in the prior state"),
                       (AttributeChange("name", None, "fraud-detection-staging-oncall"),
                        AttributeChange("secretString", None, REDACTED, sensitive=True)),
                       address="channels.oncall", role="secret"),
        ResourceChange(urn("mlops:monitoring:Monitor$aws:cloudwatch/metricAlarm:MetricAlarm", "latency"),
                       "aws:cloudwatch/metricAlarm:MetricAlarm", "fraud-detection-staging-latency", Action.DELETE,
                       Reason("removed", "monitors.latency is no longer in the spec"),
                       address="monitors.latency", role="alarm"),
        ResourceChange(urn("mlops:data:ObjectStore$aws:s3/bucket:Bucket", "transactions"),
                       "aws:s3/bucket:Bucket", "fraud-detection-staging-transactions", Action.NOOP,
                       Reason("same", "no changes"), address="data_sources.transactions", role="bucket"),
    )
    cost = CostEstimate(
        before=CostRange(2058.6, 10293.0), after=CostRange(2211.9, 11059.5),
        lines=(CostLine("endpoints.scorer", "2-10 replicas x ml.g5.2xlarge", 2058.6, 2211.9),
               CostLine("clusters.gpu-train", "0-8 nodes x ml.g5.12xlarge (spot)", 0.0, 0.0)),
        rollout_extra_usd=42.5,
        sources=("SageMaker on-demand prices, us-east-1 (FMBench pricing.yml, 2025-01-26)",),
    )
    ml = (MLChange("endpoints.scorer", "gpu-capacity", "accelerator ml.g5.xlarge -> ml.g5.2xlarge (1 x A10G each)"),
          MLChange("endpoints.scorer", "rollout", "canary rollout of the new config",
                   {"strategy": "canary", "steps": [2, 5, 10, 25, 75, 100], "bakeSeconds": 600}),
          MLChange("monitors.latency", "monitor", "latency monitor removed (p99 > 250ms)"))
    fields = dict(project=PROJECT, stack=STACK, target=TARGET, state_serial="ab" * 32, graph_digest="cd" * 32,
                  changes=changes, ml=ml, cost=cost)
    fields.update(overrides)
    return Plan(**fields)


def drift_items() -> tuple[Drift, ...]:
    return (Drift(urn(f"{EP}$aws:sagemaker/endpoint:Endpoint", "fraud-detection-staging-scorer"),
                  "aws:sagemaker/endpoint:Endpoint", "modified",
                  (AttributeChange("tags.owner", "risk-ml", "someone-else"),),
                  "changed outside mlops-infra"),)


def empty_plan(**overrides) -> Plan:
    fields = dict(project=PROJECT, stack=STACK, target=TARGET, state_serial="ab" * 32, graph_digest="cd" * 32,
                  changes=(ResourceChange(urn("mlops:data:ObjectStore", "transactions"), "mlops:data:ObjectStore",
                                          "transactions", Action.NOOP, Reason("same", "no changes"), custom=False),))
    fields.update(overrides)
    return Plan(**fields)


def huge_plan(items: int = 400, resources_per_item: int = 6) -> Plan:
    """Hundreds of ML items, each with several changed resources: far over a PR comment's limit."""
    changes = []
    for i in range(items):
        for j in range(resources_per_item):
            name = f"fraud-detection-staging-item{i:04d}-res{j}"
            changes.append(ResourceChange(
                urn(f"{EP}$aws:sagemaker/model:Model", name), "aws:sagemaker/model:Model", name, Action.UPDATE,
                Reason("inputs-changed", "inputs changed"),
                tuple(AttributeChange(f"tags.k{k}", "old-value-" + "x" * (i % 7) * 10, "new-value")
                      for k in range(3 + (i % 5))),
                address=f"endpoints.item{i:04d}", role="model"))
    changes.sort(key=lambda c: c.urn)
    ml = tuple(MLChange(f"endpoints.item{i:04d}", "endpoint", f"model version {i} -> {i + 1}") for i in range(items))
    return Plan(PROJECT, STACK, TARGET, "ab" * 32, "cd" * 32, tuple(changes), ml=ml)
