"""Environments that share a namespace, or nest their names in one AWS account (spec/shared_targets.py;
findings collisions-2 and collisions-4)."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_infra.spec import parse_system

REFERENCE = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()


def _diagnostics(document: dict) -> list:
    return parse_system(yaml.safe_dump(document, sort_keys=False), "mlsystem.yaml").diagnostics


def test_two_environments_in_one_namespace_are_refused() -> None:
    document = yaml.safe_load(REFERENCE)
    document["environments"]["staging"]["target"] = dict(document["environments"]["dev"]["target"])
    document["environments"]["staging"].pop("guardrails", None)
    found = [d for d in _diagnostics(document) if d.code == "shared-namespace"]
    assert len(found) == 1 and found[0].is_error
    assert found[0].summary == 'Environments "dev" and "staging" use the same namespace fraud-dev in context kind-mlops'
    assert found[0].path == ("environments", "staging", "target", "namespace")


def test_the_same_namespace_in_another_context_is_another_place() -> None:
    document = yaml.safe_load(REFERENCE)
    document["environments"]["staging"]["target"] = {**document["environments"]["dev"]["target"], "context": "other"}
    document["environments"]["staging"].pop("guardrails", None)
    assert not [d for d in _diagnostics(document) if d.code == "shared-namespace"]


def test_an_environment_named_like_another_plus_a_suffix_in_one_account_is_warned_of() -> None:
    document = yaml.safe_load(REFERENCE)
    prod = document["environments"]["prod"]
    document["environments"]["prod-us"] = {"target": dict(prod["target"])}
    found = [d for d in _diagnostics(document) if d.code == "nested-environment-names"]
    assert [(d.is_error, d.path) for d in found] == [(False, ("environments", "prod-us"))]
    assert 'starts with "prod-"' in found[0].summary and prod["target"]["account"] in found[0].summary
    document["environments"]["prod-us"]["target"]["account"] = "999999999999"  # another account: nothing shared
    assert not [d for d in _diagnostics(document) if d.code == "nested-environment-names"]


def _dev_us(document: dict, context: str | None = None) -> dict:
    dev = document["environments"]["dev"]
    target = {**dev["target"], "namespace": "fraud-dev-us", **({"context": context} if context else {})}
    document["environments"]["dev-us"] = {"target": target, "overrides": dict(dev.get("overrides") or {})}
    return document


def test_kubernetes_environments_whose_kueue_names_meet_in_one_cluster_are_refused() -> None:
    """Finding closing-32c-1: ClusterQueue and ResourceFlavor are cluster-wide, <system>-<env>-<cluster>:
    dev's cluster us-gpu-train and dev-us's gpu-train are both fraud-detection-dev-us-gpu-train."""
    document = _dev_us(yaml.safe_load(REFERENCE))
    document["clusters"].append({**document["clusters"][0], "name": "us-gpu-train"})
    found = [d for d in _diagnostics(document) if d.code == "cluster-scoped-name-collision"]
    assert len(found) == 1 and found[0].is_error and found[0].path == ("environments", "dev-us")
    assert "fraud-detection-dev-us-gpu-train" in found[0].summary

    document["environments"]["dev-us"]["target"]["context"] = "other"  # another cluster: nothing shared
    assert not [d for d in _diagnostics(document) if d.code in ("cluster-scoped-name-collision",
                                                                 "nested-environment-names")]
    # the name the error predicts is the compiled one, in both environments
    from mlops_infra.compile import compile_system

    text = yaml.safe_dump(document, sort_keys=False)
    queues = {env: {r.inputs["metadata"]["name"] for r in compile_system(parse_system(text, "x.yaml", env).system, env)
                    .resources if r.type.endswith(":ClusterQueue")} for env in ("dev", "dev-us")}
    assert "fraud-detection-dev-us-gpu-train" in queues["dev"] & queues["dev-us"], queues


def test_kubernetes_environments_nesting_names_in_one_cluster_are_warned_of() -> None:
    found = [d for d in _diagnostics(_dev_us(yaml.safe_load(REFERENCE))) if d.code == "nested-environment-names"]
    assert [(d.is_error, d.path) for d in found] == [(False, ("environments", "dev-us"))]
    assert "Kubernetes context kind-mlops" in found[0].summary
