"""The reference and the shipped examples validate in every environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import embedded_quickstart_path, load_system

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/mlsystem.yaml"))


def _environments(path: Path) -> list[str]:
    result = load_system(path)
    assert result.ok, result.diagnostics
    return list(result.system.environments)


def test_the_examples_exist() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"fraud-detection", "llm-platform", "quickstart"}


def test_fraud_detection_is_the_reference_byte_for_byte(shared_dir: Path) -> None:
    reference = (shared_dir / "spec" / "reference-mlsystem.yaml").read_bytes()
    assert (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_bytes() == reference


def test_embedded_quickstart_is_the_example_byte_for_byte() -> None:
    embedded = embedded_quickstart_path()
    assert embedded.is_file()
    assert embedded.read_bytes() == (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_bytes()


def test_reference_validates_unchanged_in_every_environment(shared_dir: Path) -> None:
    path = shared_dir / "spec" / "reference-mlsystem.yaml"
    envs = _environments(path)
    assert envs == ["dev", "staging", "prod"]
    for env in envs:
        result = load_system(path, env)
        assert result.ok, (env, result.diagnostics)
        assert not [d for d in result.diagnostics if d.is_error]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_validates_in_every_environment(path: Path) -> None:
    for env in _environments(path):
        result = load_system(path, env)
        assert result.ok, (env, result.diagnostics)
        assert result.system.environments[env]


def test_quickstart_has_no_warnings_and_needs_no_positions() -> None:
    result = load_system(ROOT / "examples" / "quickstart" / "mlsystem.yaml")
    assert result.diagnostics == []
    assert result.document._positions is None, "a clean document must not pay for source positions"


def test_llm_platform_warns_only_that_its_rolling_reranker_does_not_roll_back_on_kubernetes() -> None:
    """Its reranker's ``rolling`` rollout with ``rollback_on`` shows what SageMaker rolls back in staging and prod
    and what Knative's switch ignores in dev (audit notify-2); and its promotion from dev into staging will be
    refused: KServe's TorchServe runtime in dev and SageMaker's PyTorch container in staging load different artifact
    layouts (audit xpromote-3, ``spec/serving_contract.py``). Those two warnings, and, per AWS environment, one
    for the shared registry account 123456789012 its roles pull from, naming its three repositories (audit iam-6:
    the repository policy to add there), and that train-embedder's ``python -m`` command uses one GPU of each
    8-GPU node (audit k8strain-1), nothing else."""
    result = load_system(ROOT / "examples" / "llm-platform" / "mlsystem.yaml")
    pull = ("image-in-other-account", "training_jobs.finetune-chat")  # the first image of that account
    assert [(d.code, d.address) for d in result.diagnostics] == [
        pull, ("one-process-per-node", "training_jobs.train-embedder"),  # python -m on 8 x A100 (k8strain-1)
        ("rollout-ignored-on-kubernetes", "endpoints.reranker"), ("serving-contract-mismatch", "models.reranker"),
        pull]  # staging's line, then prod's
    assert [d.summary for d in result.diagnostics if d.code == "image-in-other-account"] == [
        "training_jobs.finetune-chat, training_jobs.train-embedder, models.chat-model and models.embedder: the image "
        f"repositories chat-serve, embedder-train and llm-finetune are in account 123456789012, environment {env} "
        f"runs in account {account}" for env, account in (("staging", "333333333333"), ("prod", "444444444444"))]


def test_quickstart_is_cpu_only_with_kubernetes_dev_and_aws_prod() -> None:
    system = load_system(embedded_quickstart_path()).system
    assert not system.clusters and all(e.accelerator is None for e in system.endpoints)
    assert [e.instance_type for e in system.endpoints] == ["ml.m5.xlarge"]
    assert {n: e.target.kind for n, e in system.environments.items()} == {"dev": "kubernetes", "prod": "aws"}
    assert [c.kind for c in system.channels] == ["email"]


def test_llm_platform_shape() -> None:
    system = load_system(ROOT / "examples" / "llm-platform" / "mlsystem.yaml").system
    gpus = {c.accelerator.type for c in system.clusters} | {e.accelerator.type for e in system.endpoints}
    assert {"H100", "A100"} <= gpus
    assert {e.rollout.strategy for e in system.endpoints} >= {"canary", "blue_green"}
    assert {c.kind for c in system.channels} >= {"pagerduty", "slack"}
    assert {m.metric for m in system.monitors} >= {"feature_drift", "prediction_drift", "data_quality"}
    assert {n: e.target.kind for n, e in system.environments.items()} == {
        "dev": "kubernetes", "staging": "aws", "prod": "aws"}
