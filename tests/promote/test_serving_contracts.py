"""Audit finding xpromote-3: a model promoted across clouds changes serving contract, and nothing said so.

KServe serves a ``pytorch`` model without ``serving_image`` with TorchServe reading
``/mnt/models/model-store`` and ``/mnt/models/config/config.properties`` (kserve v0.15.0
``config/runtimes/kserve-torchserve.yaml``); SageMaker's PyTorch inference container loads ``model.pt`` (or
the one ``.pt``/``.pth``) at the top of ``/opt/ml/model`` or ``code/inference.py``'s ``model_fn``
(sagemaker-pytorch-inference-toolkit ``default_pytorch_inference_handler.py``). An artifact laid out for one is
not loaded by the other: refused. A custom image on SageMaker is run as ``docker run IMAGE serve`` and called on
``GET /ping`` and ``POST /invocations`` (port 8080, model under ``/opt/ml/model``: SageMaker "Custom Inference
Code with Hosting Services"); whether it speaks that contract cannot be known: a warning saying so.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from mlops_infra.promote.contracts import serving_findings
from mlops_infra.spec import load_system, parse_system

REPO = Path(__file__).resolve().parents[2]
LLM = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

AWS_TO_KUBE = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: contracts, owner: a@example.com}
models:
  - {name: ranker, framework: pytorch, framework_version: "2.5", artifacts_uri: "s3://contracts-models-123456789012/ranker/"}
endpoints:
  - {name: rank, model: {name: ranker, version: 1}, instance_type: ml.m5.xlarge, replicas: {min: 1, max: 1}}
environments:
  staging: {target: {kind: aws, region: us-east-1, account: "111111111111"}}
  edge:
    target: {kind: kubernetes, context: k, namespace: ns}
    promote_from: staging
"""


def promotion(src_system, src: str, dst_system, dst: str) -> SimpleNamespace:
    """What :func:`serving_findings` reads of a promotion: the two systems and one mapping per SRC endpoint."""
    mappings = [SimpleNamespace(model=e.model.name, endpoint=e.name) for e in src_system.endpoints]
    return SimpleNamespace(src=src, dst=dst, src_system=src_system, dst_system=dst_system,
                           versions=SimpleNamespace(mappings=mappings))


def from_file(path: Path, src: str, dst: str) -> SimpleNamespace:
    return promotion(load_system(path, src).system, src, load_system(path, dst).system, dst)


def from_text(text: str, src: str, dst: str) -> SimpleNamespace:
    return promotion(parse_system(text, "contracts.yaml", src).system, src,
                     parse_system(text, "contracts.yaml", dst).system, dst)


def by_model(findings) -> dict:
    return {f.model: f for f in findings}


def test_a_torchserve_layout_to_sagemakers_pytorch_container_is_refused() -> None:
    """llm-platform's reranker (pytorch, framework_version 2.5, no serving_image): dev serves it with KServe's
    pytorch runtime, staging with the SageMaker PyTorch 2.5 inference image."""
    reranker = by_model(serving_findings(from_file(LLM, "dev", "staging")))["reranker"]
    assert reranker.refuses and reranker.endpoints == ("reranker",)
    assert "staging cannot serve the artifact dev serves" in reranker.summary
    assert "KServe's pytorch runtime" in reranker.summary and "pytorch-inference:2.5" in reranker.summary
    assert "model-store/<name>.mar and config/config.properties" in reranker.detail
    assert "model.pt (or the one .pt/.pth file) at the top of /opt/ml/model" in reranker.detail
    assert "code/inference.py with model_fn" in reranker.detail
    assert "override models.reranker.serving_image in staging" in reranker.detail


def test_the_reverse_sagemaker_layout_to_kserves_torchserve_is_refused() -> None:
    finding, = serving_findings(from_text(AWS_TO_KUBE, "staging", "edge"))
    assert finding.refuses and finding.model == "ranker"
    assert "edge cannot serve the artifact staging serves" in finding.summary
    assert "staging serves it with the SageMaker pytorch inference container" in finding.summary
    assert "edge would with KServe's pytorch runtime" in finding.summary
    assert finding.detail.startswith("The artifact staging serves is laid out as model.pt")
    assert "edge's container expects model-store/<name>.mar and config/config.properties" in finding.detail


def test_a_custom_image_is_a_warning_saying_what_sagemaker_runs_and_calls() -> None:
    """The reference's fraud-model: dev serves it with KServe's pytorch runtime, staging with the training
    image reused to serve: whether that image serves the TorchServe layout on /ping and /invocations cannot be
    known."""
    finding, = serving_findings(from_file(FRAUD, "dev", "staging"))
    assert not finding.refuses and finding.endpoints == ("scorer",)
    assert "fraud-train:1.4.2 (the training image, reused to serve)" in finding.summary
    assert ("SageMaker runs 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2 as `docker run IMAGE "
            "serve` and calls GET /ping and POST /invocations on port 8080, with the version's artifact unpacked under "
            "/opt/ml/model (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html)"
            ) in finding.detail
    assert "it loads model-store/<name>.mar and config/config.properties" in finding.detail
    assert "override models.fraud-model.serving_image in staging" in finding.detail


def test_an_image_serving_both_clouds_is_warned_with_kserves_contract() -> None:
    chat = by_model(serving_findings(from_file(LLM, "dev", "staging")))["chat-model"]
    assert not chat.refuses
    assert "as a custom predictor: its own entrypoint and command (no `serve` argument)" in chat.detail
    assert "/mnt/models ($STORAGE_URI), listening on $PORT (8080)" in chat.detail
    assert "/v1/models/chat-model:predict" in chat.detail and "GET /ping and POST /invocations" in chat.detail


def test_dst_serving_its_own_image_turns_the_refusal_into_a_warning() -> None:
    text = AWS_TO_KUBE.replace(
        "    promote_from: staging\n",
        "    promote_from: staging\n"
        "    overrides: {models.ranker.serving_image: registry.example.com/ranker-serve:1.0}\n")
    finding, = serving_findings(from_text(text, "staging", "edge"))
    assert not finding.refuses
    assert "KServe runs registry.example.com/ranker-serve:1.0 as a custom predictor" in finding.detail


def test_a_promotion_within_one_cloud_keeps_the_contract() -> None:
    assert serving_findings(from_file(LLM, "staging", "prod")) == ()
    assert serving_findings(from_file(FRAUD, "staging", "prod")) == ()
