"""A cluster budget the catalog cannot price warns ``budget-unchecked`` (audit cost-1).

``check_cluster_budgets`` gave no diagnostic at all when the environment's region had no Training
price for the cluster's instance, so a reviewer could not tell "within budget" from "not checked".
The shipped catalog has no Training price for ml.g5.12xlarge in any region (docs/prices.md): the
reference's gpu-train (4 x A10G) is unchecked in staging (us-east-1) and prod (eu-west-1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.spec import parse_system
from tests.support.guardrails import edit


def unchecked(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == "budget-unchecked"]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_reference_budget_without_a_training_price_warns_it_is_unchecked(reference_text: str) -> None:
    found = {d.summary.split(" in environment ")[1].split(":")[0]: d for d in unchecked(reference_text)}
    assert set(found) == {"staging", "prod"}  # dev is Kubernetes: no budget check there
    prod = found["prod"]
    assert not prod.is_error
    assert prod.summary == ('Cluster "gpu-train"\'s budget of $60.00/h is not checked in environment prod: the price '
                            "catalog has no eu-west-1 price for ml.g5.12xlarge (SageMaker training)")
    assert "`mlops-infra catalog refresh --regions eu-west-1 --out prices.json`" in prod.detail
    assert "MLOPS_INFRA_PRICES" in prod.detail
    assert prod.location.line == line_of(reference_text, "max_hourly_cost_usd: 60")
    assert "us-east-1 price for ml.g5.12xlarge" in found["staging"].summary


def test_with_the_price_in_the_catalog_the_budget_is_checked(reference_text: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    # illustrative: the shipped us-east-1 hosting price of ml.g5.12xlarge as its Training price, to drive the path
    usd = catalog.price("ml.g5.12xlarge", "inference", "us-east-1").usd_per_hour
    path.write_text(json.dumps({"format": catalog.PRICES_FORMAT, "built": "2026-12-06", "sources": {
        "api": {"url": "https://api.pricing.us-east-1.amazonaws.com (GetProducts)", "as_of": "2026-12-06",
                "title": "AWS Price List Query API"}}, "prices": [
        ["sagemaker", "training", "us-east-1", "ml.g5.12xlarge", usd, "api"]]}))
    monkeypatch.setenv(catalog.PRICES_ENV, str(path))
    text = edit(reference_text, ("    max_hourly_cost_usd: 60", "    max_hourly_cost_usd: 10"))
    diagnostics = parse_system(text).diagnostics
    assert [d.summary.split(":")[0] for d in diagnostics if d.code == "budget-unchecked"] == [
        'Cluster "gpu-train"\'s budget of $10.00/h is not checked in environment prod']  # eu-west-1 still lacks it
    (over,) = [d for d in diagnostics if d.code == "over-budget"]
    # retrain's 2 nodes, not nodes.max 8 (closing-34e-1)
    assert "environment staging" in over.summary and f"not nodes.max) x ${usd:,.4f}/h" in over.detail
    assert over.detail.startswith("2 nodes (its training jobs' runs at once: retrain 2;")
