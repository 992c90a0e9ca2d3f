"""The memory formulas against the papers they come from and against published models' sizes.

Each expected value is computed here by hand from the published formula and the published numbers
(parameter counts from the model cards, shapes from the models' config.json or papers), and the
tool's answer must be within 10 % of it (it is equal: the tolerance is the issue's bar).
"""

from __future__ import annotations

import pytest

from mlops_infra.ml.memory import activation_bytes, kv_cache_bytes, serving_memory, training_memory
from mlops_infra.ml.size import GIB, Architecture, ModelSize, parse_parameter_count

GB = 1e9


def close(value: float, expected: float) -> bool:
    return abs(value - expected) <= 0.10 * expected


# Llama 3.1 8B (meta-llama/Llama-3.1-8B model card: 8B parameters, GQA; config.json: 32 layers,
# hidden 4096, 32 attention heads, 8 key/value heads; 8,030,261,248 parameters in its safetensors index).
LLAMA_31_8B = ModelSize.from_count(8_030_261_248, "bf16", Architecture.of(32, 4096, 32, 8))
# Llama 2 13B (meta-llama/Llama-2-13b-hf model card: 13B; 40 layers, hidden 5120, 40 heads, no GQA).
LLAMA_2_13B = ModelSize.from_count(parse_parameter_count("13B"), "bf16", Architecture.of(40, 5120, 40))
# Mistral 7B v0.1 (model card: 7.3B parameters; Jiang et al. 2023, table 1: 32 layers, dim 4096,
# 32 heads, 8 kv heads, head_dim 128).
MISTRAL_7B = ModelSize.from_count(parse_parameter_count("7.3B"), "bf16", Architecture.of(32, 4096, 32, 8, 128))


def test_kv_cache_per_token_of_a_13b_model_is_the_vllm_papers_800_kb() -> None:
    # Kwon et al. 2023 (vLLM), section 2.2: OPT-13B, "2 (key and value vectors) x 5120 (hidden state
    # size) x 40 (number of layers) x 2 (bytes per FP16) = 800 KB" per token.
    opt_13b = Architecture.of(40, 5120, 40)
    assert kv_cache_bytes(opt_13b, sequence=1, batch=1, dtype="fp16") == 2 * 5120 * 40 * 2 == 800 * 1024


@pytest.mark.parametrize(("sharding", "expected_gb"), [
    ("none", 120.0), ("zero1", 31.4), ("zero2", 16.6), ("zero3", 1.9), ("fsdp", 1.9)])
def test_training_states_are_the_zero_papers_figure_1(sharding: str, expected_gb: float) -> None:
    # Rajbhandari et al. 2020 (ZeRO), figure 1: a 7.5B model, mixed-precision Adam (K = 12),
    # 64 data-parallel GPUs: 120 GB per GPU, 31.4 GB with P_os, 16.6 GB with P_os+g, 1.9 GB with P_os+g+p.
    size = ModelSize.from_count(parse_parameter_count("7.5B"), "fp16")
    fit = training_memory(size, 80, 64, precision="mixed_fp16", optimizer="adam", sharding=sharding)
    assert "activations not counted" in fit.notes[0]
    assert round(fit.per_gpu_bytes / GB, 1) == pytest.approx(expected_gb, abs=0.05)


def test_mixed_precision_adam_is_16_bytes_per_parameter() -> None:
    # ZeRO section 3.1: "mixed-precision training of a model with Psi parameters requires ... 16 Psi
    # bytes"; a 1.5B GPT-2 "requires at least 24 GB".
    size = ModelSize.from_count(parse_parameter_count("1.5B"), "fp16")
    assert training_memory(size, 80, 1, precision="mixed_fp16", optimizer="adam").per_gpu_bytes == 24 * GB


@pytest.mark.parametrize(("model", "published", "expected_weights_gib"), [
    (LLAMA_31_8B, 8_030_261_248, 8_030_261_248 * 2 / GIB),
    (LLAMA_2_13B, 13e9, 13e9 * 2 / GIB),
    (MISTRAL_7B, 7.3e9, 7.3e9 * 2 / GIB),
])
def test_published_models_weights(model: ModelSize, published: float, expected_weights_gib: float) -> None:
    assert model.parameters == published
    assert close(model.weight_bytes / GIB, expected_weights_gib)


def _by_hand(params: float, layers: int, kv_heads: int, head_dim: int, seq: int, batch: int) -> float:
    weights = params * 2  # bf16
    kv = 2 * layers * kv_heads * head_dim * seq * batch * 2  # fp16/bf16 cache
    return (weights * 1.2 + kv) / GIB  # Transformer Math 101: ~1.2 x the weights, plus the KV cache


@pytest.mark.parametrize(("model", "by_hand", "gpu_gib", "fits"), [
    # Llama 3.1 8B, 8k context, batch 1, on one A10G (24 GiB): ~19 GiB, fits
    (LLAMA_31_8B, _by_hand(8_030_261_248, 32, 8, 128, 8192, 1), 24, True),
    # Llama 2 13B on one A10G: 26 GB of bf16 weights alone, does not fit
    (LLAMA_2_13B, _by_hand(13e9, 40, 40, 128, 4096, 1), 24, False),
    # Mistral 7B, 32k context (its sliding window aside), batch 4 on an A100 80GB: fits
    (MISTRAL_7B, _by_hand(7.3e9, 32, 8, 128, 32768, 4), 80, True),
])
def test_serving_memory_of_published_models(model: ModelSize, by_hand: float, gpu_gib: float, fits: bool) -> None:
    seq = {LLAMA_31_8B: 8192, LLAMA_2_13B: 4096, MISTRAL_7B: 32768}[model]
    batch = 4 if model is MISTRAL_7B else 1
    fit = serving_memory(model, gpu_gib, sequence=seq, batch=batch)
    assert close(fit.used_gib, by_hand), (fit.used_gib, by_hand)
    assert fit.fits is fits


def test_tensor_parallel_spreads_a_replica_over_its_gpus() -> None:
    one = serving_memory(LLAMA_2_13B, 24, 4, sharded=False, sequence=4096)
    four = serving_memory(LLAMA_2_13B, 24, 4, sharded=True, sequence=4096)
    assert not one.fits and four.fits
    assert four.per_gpu_bytes == pytest.approx(one.per_gpu_bytes / 4)
    assert four.utilisation == f"{one.used_gib / 4:.1f} of 24 GiB per GPU"


def test_kv_cache_needs_the_architecture() -> None:
    fit = serving_memory(ModelSize.from_count(7_000_000_000, "bf16"), 24, sequence=4096, batch=8)
    assert [label for label, _ in fit.parts] == ["weights", "runtime"]
    assert "KV cache not counted" in fit.notes[0]


def test_activations_follow_korthikanti_without_the_attention_scores() -> None:
    # Korthikanti et al. 2022, eq. 1: s*b*h*(34 + 5*a*s/h) bytes per layer; fused attention stores no
    # a*s*s scores, leaving 34*s*b*h; full checkpointing keeps 2*s*b*h per layer (plus one layer).
    arch = Architecture.of(32, 4096, 32, 8)
    s, b, h, layers = 4096, 2, 4096, 32
    assert activation_bytes(arch, s, b, checkpointing=False, precision="mixed_bf16") == 34 * s * b * h * layers
    assert activation_bytes(arch, s, b, checkpointing=True, precision="mixed_bf16") == 2 * s * b * h * layers + 34 * s * b * h
    assert activation_bytes(arch, s, b, checkpointing=False, precision="fp32") == 2 * 34 * s * b * h * layers


def test_lora_trains_few_parameters_of_a_frozen_model() -> None:
    # Llama 3.1 8B with 42M trainable (LoRA): frozen bf16 weights + 16 bytes per trained parameter
    fit = training_memory(LLAMA_31_8B, 80, 8, trainable=42_000_000)
    expected = (8_030_261_248 - 42_000_000) * 2 + 42_000_000 * 16
    assert fit.per_gpu_bytes == expected


@pytest.mark.parametrize(("text", "count"), [("7B", 7_000_000_000), ("125M", 125_000_000), ("1.5b", 1_500_000_000),
                                             ("8.03B", 8_030_000_000), ("350000000", 350_000_000), ("4K", 4000)])
def test_parameter_counts(text: str, count: int) -> None:
    assert parse_parameter_count(text) == count


@pytest.mark.parametrize("text", ["7 billion", "B7", "-3M", "0.1"])
def test_bad_parameter_counts_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="parameter"):
        parse_parameter_count(text)
