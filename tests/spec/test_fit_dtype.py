"""The GPU must compute in the weights' dtype (audit docs-9): bf16 needs compute capability 8.0.

vLLM refuses bf16 below 8.0 (vllm-project/vllm vllm/worker/worker.py ``_check_if_gpu_supports_dtype``);
T4 is 7.5 and V100 7.0 (https://developer.nvidia.com/cuda-gpus). So the fix ``validate`` offers for a model
that does not fit never names a T4 or V100 instance for bf16 weights, and an explicit T4 for bf16 warns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]

CHAT = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: chatsys}
models:
  - name: chat
    framework: huggingface
    serving_image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/chat-serve:1.0.0
    artifacts_uri: s3://chatsys-models-123456789012/chat/
    parameters: 8.03B
    dtype: DTYPE
    architecture: {layers: 32, hidden_size: 4096, attention_heads: 32, kv_heads: 8}
    generation: {max_sequence_length: 8192, max_batch_size: 8}
endpoints:
  - name: chat
    model: {name: chat, version: 1}
    accelerator: ACCELERATOR
    replicas: {min: 1, max: 1}
environments:
  prod: {target: {kind: aws, region: us-east-1, account: "123456789012"}}
"""


def _validate(tmp_path: Path, accelerator: str, dtype: str = "bf16") -> tuple[int, list[dict]]:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(CHAT.replace("ACCELERATOR", accelerator).replace("DTYPE", dtype))
    result = run_cli("validate", str(spec), "--format", "json")
    return result.code, json.loads(result.stdout)["diagnostics"]


def test_the_fit_fix_for_bf16_weights_names_no_gpu_that_cannot_serve_bf16(tmp_path: Path) -> None:
    code, found = _validate(tmp_path, "{type: A10G, count: 1}")
    assert code == 1
    [fit] = [d for d in found if d["code"] == "model-does-not-fit"]
    fix = fit["detail"].split("Fix: ", 1)[1]
    assert "g4dn" not in fix and "T4" not in fix and "p3." not in fix and "V100" not in fix
    assert "the cheapest that fits is ml.g6.12xlarge with tensor_parallel: true (4 x L4, " in fix


def test_model_fit_doc_shows_the_fix_validate_gives(tmp_path: Path) -> None:
    _, found = _validate(tmp_path, "{type: A10G, count: 1}")
    [fit] = [d for d in found if d["code"] == "model-does-not-fit"]
    doc = (ROOT / "docs" / "model-fit.md").read_text()
    [shown] = re.findall(r"^  Fix: .*$", doc, re.MULTILINE)
    assert shown.strip() in fit["detail"]


def test_bf16_weights_on_t4_warn_at_the_accelerator(tmp_path: Path) -> None:
    code, found = _validate(tmp_path, "{type: T4, count: 4}\n    tensor_parallel: true")
    assert code == 0
    [warned] = [d for d in found if d["code"] == "dtype-unsupported-by-gpu"]
    assert warned["severity"] == "warning"
    assert warned["line"] == CHAT.splitlines().index("    accelerator: ACCELERATOR") + 1
    assert "T4 (compute capability 7.5)" in warned["summary"] and "bf16" in warned["summary"]
    assert "dtype: fp16" in warned["detail"]


def test_fp16_weights_on_t4_and_bf16_on_a10g_do_not_warn(tmp_path: Path) -> None:
    _, found = _validate(tmp_path, "{type: T4, count: 4}\n    tensor_parallel: true", dtype="fp16")
    assert "dtype-unsupported-by-gpu" not in [d["code"] for d in found]
    _, found = _validate(tmp_path, "{type: A10G, count: 4}\n    tensor_parallel: true")
    assert "dtype-unsupported-by-gpu" not in [d["code"] for d in found]


def test_fp8_weights_on_v100_warn(tmp_path: Path) -> None:
    _, found = _validate(tmp_path, "{type: V100, count: 1}", dtype="fp8")
    [warned] = [d for d in found if d["code"] == "dtype-unsupported-by-gpu"]
    assert "V100 (compute capability 7.0)" in warned["summary"] and "fp8" in warned["summary"]
