"""Audit finding xpromote-3: a model promoted across clouds changes serving contract, and nothing said so.

KServe serves a ``pytorch`` model without ``serving_image`` with TorchServe reading
``/mnt/models/model-store`` and ``/mnt/models/config/config.properties`` (kserve v0.15.0
``config/runtimes/kserve-torchserve.yaml``); SageMaker's PyTorch inference container loads ``model.pt`` (or
the one ``.pt``/``.pth``) at the top of ``/opt/ml/model`` or ``code/inference.py``'s ``model_fn``
(sagemaker-pytorch-inference-toolkit ``default_pytorch_inference_handler.py``). An artifact laid out for one is
refused only when the artifact's files were read and lack DST's layout (one artifact can hold both: audit
finding closing-37a-1), else a warning naming DST's rule. A custom image on SageMaker is run as ``docker run IMAGE serve`` and called on
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


def test_a_torchserve_model_to_sagemakers_pytorch_container_unread_is_a_warning_naming_the_rule() -> None:
    """llm-platform's reranker (pytorch, framework_version 2.5, no serving_image): dev serves it with KServe's
    pytorch runtime, staging with the SageMaker PyTorch 2.5 inference image. Its artifact's files were not read:
    it may hold both layouts (audit finding closing-37a-1: this was refused from the spec alone)."""
    reranker = by_model(serving_findings(from_file(LLM, "dev", "staging")))["reranker"]
    assert not reranker.refuses and reranker.endpoints == ("reranker",)
    assert "check that the artifact holds staging's layout" in reranker.summary
    assert "KServe's pytorch runtime" in reranker.summary and "pytorch-inference:2.5" in reranker.summary
    assert "model.pt (or the one .pt/.pth file) at the top of /opt/ml/model" in reranker.detail
    assert "code/inference.py with model_fn" in reranker.detail
    assert "mlops-infra did not read the artifact's files" in reranker.detail
    assert reranker.detail.index("Add staging's layout to the artifact") < reranker.detail.index(
        "override models.reranker.serving_image in staging")
    assert reranker.layouts_differ  # what validate warns of


BOTH = ("model.pt", "model-store/ranker.mar", "config/config.properties")


def test_an_artifact_holding_both_layouts_is_not_refused() -> None:
    """closing-37a-1: TorchServe reads only model-store/ and config/config.properties; SageMaker's PyTorch
    container only model.pt at the top: one model.tar.gz holding both is served by both."""
    finding, = serving_findings(from_text(AWS_TO_KUBE, "staging", "edge"), {"ranker": BOTH})
    assert not finding.refuses and "the artifact holds edge's layout" in finding.summary
    back, = serving_findings(promotion_reversed(), {"ranker": ("./model.pt", "./model-store/ranker.mar",
                                                                "./config/config.properties")})
    assert not back.refuses and "the artifact holds staging's layout" in back.summary


def test_sagemakers_layout_alone_to_kserves_torchserve_is_refused() -> None:
    finding, = serving_findings(from_text(AWS_TO_KUBE, "staging", "edge"), {"ranker": ("model.pt",)})
    assert finding.refuses and finding.model == "ranker"
    assert "edge cannot serve the artifact staging serves" in finding.summary
    assert "staging serves it with the SageMaker pytorch inference container" in finding.summary
    assert "edge would with KServe's pytorch runtime" in finding.summary
    assert finding.detail.startswith("The artifact staging serves does not hold model-store/<name>.mar and "
                                     "config/config.properties")
    assert finding.detail.index("Add edge's layout to the artifact") < finding.detail.index("serving_image")


def test_xgboost_names_each_servers_file_rule() -> None:
    """closing-37a-4: SageMaker's built-in XGBoost writes xgboost-model (no extension); KServe's xgbserver loads
    only a top-level .bst/.json/.ubj file (ModelMissingError otherwise). The other way, SageMaker's XGBoost
    container loads the one top-level file, whatever its name."""
    text = AWS_TO_KUBE.replace("framework: pytorch, framework_version: \"2.5\"", "framework: xgboost, "
                               "framework_version: \"1.7-1\"")
    assert text != AWS_TO_KUBE
    unread, = serving_findings(from_text(text, "staging", "edge"))
    assert not unread.refuses and "a booster file named *.bst, *.json or *.ubj at the top of /mnt/models" in unread.detail
    refused, = serving_findings(from_text(text, "staging", "edge"), {"ranker": ("xgboost-model",)})
    assert refused.refuses and "*.bst, *.json or *.ubj" in refused.detail
    fits, = serving_findings(from_text(text, "staging", "edge"), {"ranker": ("xgboost-model", "model.bst")})
    assert not fits.refuses
    back = reversed_text(text)
    to_aws, = serving_findings(from_text(back, "edge", "staging"), {"ranker": ("model.bst",)})
    assert not to_aws.refuses and "one file at the top of /opt/ml/model, whatever its name" in to_aws.detail


def promotion_reversed() -> SimpleNamespace:
    """AWS_TO_KUBE the other way: edge (KServe) -> staging (SageMaker)."""
    return from_text(reversed_text(AWS_TO_KUBE), "edge", "staging")


def reversed_text(text: str) -> str:
    """``text`` (AWS_TO_KUBE's environments) with the promotion the other way: edge -> staging."""
    staging = '  staging: {target: {kind: aws, region: us-east-1, account: "111111111111"}}\n'
    assert staging in text
    return text.replace(staging, '  staging:\n    promote_from: edge\n    target: {kind: aws, region: us-east-1, '
                        'account: "111111111111"}\n').replace("    promote_from: staging\n", "")


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
    finding, = serving_findings(from_text(text, "staging", "edge"), {"ranker": ("model.pt",)})
    assert not finding.refuses
    assert "KServe runs registry.example.com/ranker-serve:1.0 as a custom predictor" in finding.detail


def test_a_promotion_within_one_cloud_keeps_the_contract() -> None:
    assert serving_findings(from_file(LLM, "staging", "prod")) == ()
    assert serving_findings(from_file(FRAUD, "staging", "prod")) == ()
