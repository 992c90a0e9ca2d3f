"""Will it fit? validate's memory checks and plan's utilisation, through the console script.

Models are the published ones of tests/ml/test_memory.py (parameter counts from their model cards).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

SYSTEM = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: llm}
clusters:
  - {name: h100, accelerator: {type: H100, count: 8}, nodes: {min: 0, max: 2}}
training_jobs:
  - name: finetune
    cluster: h100
    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/finetune:1
    registers: chat
    nodes: 2
    sharding: fsdp
    activations: {micro_batch_size: 2, sequence_length: 4096, checkpointing: true}
models:
  - name: chat                      # Llama 3.1 8B (model card: 8B; config.json shape)
    framework: pytorch
    serving_image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/vllm:1
    parameters: 8.03B
    dtype: bf16
    architecture: {layers: 32, hidden_size: 4096, attention_heads: 32, kv_heads: 8}
    generation: {max_sequence_length: 8192, max_batch_size: 1}
endpoints:
  - name: chat
    model: {name: chat, version: 1}
    accelerator: {type: A10G, count: 1}
    replicas: {min: 1, max: 2}
    autoscaling: {metric: concurrency, target: 4}
environments:
  prod: {target: {kind: aws, region: us-east-1, account: "111111111111"}}
"""


@pytest.fixture
def spec(tmp_path: Path):
    def write(text: str) -> str:
        path = tmp_path / "mlsystem.yaml"
        path.write_text(text)
        return str(path)
    return write


def test_a_model_that_fits_shows_its_utilisation_in_the_plan(spec, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = spec(SYSTEM)
    assert run_cli("validate", path).code == 0
    result = run_cli("plan", path, "--env", "prod")
    assert result.code == 0, result.stderr
    # weights 8.03e9 x 2 B = 14.96 GiB, x 1.2 with the runtime, + KV cache 2 x 32 x 8 x 128 x 8192 x 1 x 2 B = 1 GiB
    assert "1-2 replicas x ml.g5.xlarge (1 A10G each), memory 18.9 of 24 GiB per GPU" in result.stdout
    # FSDP over 16 H100s: (2 + 2 + 12) B x 8.03e9 / 16 = 7.48 GiB + checkpointed activations
    # 2 x 4096 x 2 x 4096 x 32 B = 2 GiB + one layer's 34 x 4096 x 2 x 4096 B = 1.06 GiB
    assert "registers chat, memory 10.5 of 80 GiB per GPU" in result.stdout
    plan = json.loads(run_cli("plan", path, "--env", "prod", "--format", "json").stdout)
    facts = [c["details"]["after"]["gpuMemory"] for c in plan["ml"] if c["address"] == "endpoints.chat"
             and c["kind"] == "endpoint"]
    assert facts == [{"usedGiB": 18.9, "capacityGiB": 24, "device": "GPU", "gpus": 1, "fits": True,
                      "text": "18.9 of 24 GiB per GPU"}]


def test_a_model_that_does_not_fit_fails_validate_at_the_endpoint_with_numbers_and_the_fix(spec) -> None:
    text = edit(SYSTEM, "max_batch_size: 1}", "max_batch_size: 8}")
    result = run_cli("validate", spec(text))
    assert result.code == 1
    first = result.stderr.splitlines()[0]
    assert first.endswith(f":{line_of(text, 'accelerator: {type: A10G')}:5: error: Model \"chat\" does not fit "
                          'endpoint "chat": 25.9 GiB needed per GPU, A10G has 24 GiB')
    assert "weights 15.0 + KV cache 8.0 + runtime 3.0 GiB = 25.9 GiB (the whole model on one GPU)" in result.stderr
    assert "Fix: lower generation.max_batch_size of model chat to 6 (23.9 of 24 GiB per GPU)" in result.stderr
    assert "the cheapest that fits is" in result.stderr and "$" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_13b_model_on_one_a10g_suggests_tensor_parallel_on_four(spec) -> None:
    text = edit(SYSTEM, "parameters: 8.03B", "parameters: 13B")  # Llama 2 13B (model card: 13B)
    text = edit(text, "{layers: 32, hidden_size: 4096, attention_heads: 32, kv_heads: 8}",
                "{layers: 40, hidden_size: 5120, attention_heads: 40}")
    text = edit(text, "accelerator: {type: A10G, count: 1}", "accelerator: {type: A10G, count: 4}")
    result = run_cli("validate", spec(text))
    assert result.code == 1
    # 13e9 x 2 B = 24.2 GiB x 1.2 + KV 2 x 40 x 40 x 128 x 8192 x 2 B = 6.25 GiB, over 4 GPUs
    assert "shard it over the replica's 4 GPUs with tensor_parallel: true (8.8 of 24 GiB per GPU)" in result.stderr
    fixed = edit(text, "    replicas: {min: 1, max: 2}\n", "    replicas: {min: 1, max: 2}\n    tensor_parallel: true\n")
    assert run_cli("validate", spec(fixed)).code == 0


def test_training_that_does_not_fit_suggests_fsdp(spec) -> None:
    text = edit(SYSTEM, "    sharding: fsdp\n", "")
    result = run_cli("validate", spec(text))
    assert result.code == 1
    assert f":{line_of(text, '- name: finetune')}:5: error: Training job \"finetune\" does not fit cluster \"h100\"" \
        in result.stderr
    assert "weights 15.0 + gradients 15.0 + optimizer states 89.7 + activations" in result.stderr
    assert "with sharding: fsdp (FSDP / ZeRO-3: 10.5 of 80 GiB per GPU)" in result.stderr


def test_no_size_no_check() -> None:
    text = SYSTEM.replace("    parameters: 8.03B\n    dtype: bf16\n", "")
    text = text.replace("    architecture: {layers: 32, hidden_size: 4096, attention_heads: 32, kv_heads: 8}\n", "")
    assert parse_system(text).ok


def test_parameters_need_a_dtype() -> None:
    result = parse_system(SYSTEM.replace("    dtype: bf16\n", ""))
    assert not result.ok
    assert any("parameters needs a dtype" in (d.summary + d.detail).lower() for d in result.diagnostics)


def test_an_artifact_is_read_relative_to_the_spec_file(spec, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    folder = tmp_path / "weights"
    folder.mkdir()
    save_file({"w": torch.zeros(1000, 1000, dtype=torch.bfloat16)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"num_hidden_layers": 2, "hidden_size": 1000,
                                                    "num_attention_heads": 10}))
    text = edit(SYSTEM, "    parameters: 8.03B\n    dtype: bf16\n", "    artifact: weights\n")
    text = text.replace("    architecture: {layers: 32, hidden_size: 4096, attention_heads: 32, kv_heads: 8}\n", "")
    path = spec(text)
    assert run_cli("validate", path).code == 0
    system = parse_system(Path(path).read_text(), name=path).system
    from mlops_infra.spec.fit import serving_fit

    fit = serving_fit(system, system.endpoints[0])
    # 1,000,000 bf16 parameters = 2,000,000 B; KV 2 x 2 x 10 x 100 x 8192 x 1 x 2 B; runtime 20 %
    assert fit.per_gpu_bytes == 2_000_000 * 1.2 + 2 * 2 * 10 * 100 * 8192 * 2


def test_an_unreadable_artifact_is_an_error_at_its_line(spec, tmp_path: Path) -> None:
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    text = edit(SYSTEM, "    parameters: 8.03B\n    dtype: bf16\n", "    artifact: broken.safetensors\n")
    result = run_cli("validate", spec(text))
    assert result.code == 1
    assert f":{line_of(text, 'artifact: broken')}:15: error: Model \"chat\": its artifact cannot be sized" in result.stderr


@pytest.mark.parametrize("batch", [8, 9, 64, 10_000_000, 2**31 - 1])
def test_the_smaller_batch_is_the_largest_that_fits_and_found_quickly(batch: int) -> None:
    """Audit yamledge-8: a batch size past any real one (a typo, or tokens per batch) made validate try
    every smaller batch, one memory model each (10,000,000: over a minute). 6 is the largest batch that
    fits an A10G here (KV cache 1 GiB per sequence: weights 15.0 + KV 6.0 + runtime 3.0 GiB = 23.9 GiB, see
    the test above), whatever the written size."""
    import time

    text = edit(SYSTEM, "max_batch_size: 1}", f"max_batch_size: {batch}}}")
    start = time.perf_counter()
    errors = [d for d in parse_system(text, "m.yaml").diagnostics if d.code == "model-does-not-fit"]
    assert time.perf_counter() - start < 5, "validate took too long"
    assert len(errors) == 1
    assert "Fix: lower generation.max_batch_size of model chat to 6 (23.9 of 24 GiB per GPU)" in errors[0].detail
