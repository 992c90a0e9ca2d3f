"""The spec's description of ``guardrails.max_hourly_cost_usd`` says what the rule checks (audit
closing-34e-4): editors show it on hover from schemas/mlsystem-v1.schema.json. It said only "the
plan's monthly ceiling / 730 h", though AWS training is counted at the nodes its runs hold at once
and unpriced items make the rule fail closed (docs/guardrails.md)."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.guardrails import Guardrails

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "mlsystem-v1.schema.json"


def descriptions(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["description"]] if isinstance(node.get("description"), str) else []
        return own + [d for value in node.values() for d in descriptions(value)]
    if isinstance(node, list):
        return [d for value in node for d in descriptions(value)]
    return []


def test_the_cap_description_names_aws_training_and_failing_closed() -> None:
    text = Guardrails.model_fields["max_hourly_cost_usd"].description
    assert "AWS training, counted at the nodes its jobs' runs hold at once" in text
    assert "Items without a catalog price make the rule fail closed" in text
    assert text in descriptions(json.loads(SCHEMA.read_text()))  # the shipped schema carries it


def test_the_cluster_budget_description_counts_the_jobs_nodes() -> None:
    # closing-34e-1: the budget counts the nodes the cluster's jobs ask for, never max nodes
    text = Cluster.model_fields["max_hourly_cost_usd"].description
    assert "training jobs' nodes at once" in text and "not max nodes" in text
    assert text in descriptions(json.loads(SCHEMA.read_text()))
