"""GPU memory a model needs to serve and to train: published formulas, pure arithmetic.

Serving, per replica (:func:`serving_memory`):
- weights: parameters x bytes of the weight dtype (exact when read from a checkpoint);
- KV cache of a generative model: ``2 x layers x kv_heads x head_dim x sequence x batch x bytes``
  (keys and values for every layer, head and token; Kwon et al. 2023, "Efficient Memory
  Management for Large Language Model Serving with PagedAttention" (vLLM), section 2.2: 800 KB per
  token for a 13B model = 2 x 5120 x 40 x 2 bytes; with grouped-query attention ``kv_heads`` <
  ``attention_heads``, Ainslie et al. 2023);
- runtime overhead: 20 % of the weights (EleutherAI, Anthony, Biderman & Schoelkopf 2023,
  "Transformer Math 101": total inference memory ~ 1.2 x model memory), for activations, CUDA
  context and allocator slack.
Without sharding the whole model must fit on one GPU of the replica (every GPU holds a copy or
only one is used); with a sharding runtime (tensor parallelism in vLLM, TGI, LMI) it is split
evenly over the replica's GPUs.

Training, per GPU (:func:`training_memory`), after Rajbhandari et al. 2020, "ZeRO: Memory
Optimizations Toward Training Trillion Parameter Models" (section 3.1 and figure 1):
- weights 2 bytes/parameter and gradients 2 bytes in mixed precision (fp16/bf16), 4 + 4 in fp32;
- optimizer states K bytes per trainable parameter: Adam/AdamW in mixed precision K = 12 (fp32
  master weights, momentum, variance: 16 bytes per parameter in all), in fp32 K = 8; SGD with
  momentum K = 8 / 4; plain SGD K = 4 / 0; pure bf16 training keeps Adam's states in bf16 (K = 4);
- sharded over the N data-parallel GPUs (nodes x GPUs per node): ZeRO-1 divides the optimizer
  states by N, ZeRO-2 also the gradients, ZeRO-3 / FSDP (full shard) also the weights;
- parameter-efficient fine-tuning (``trainable_parameters``, e.g. LoRA): gradients and optimizer
  states only for the trainable parameters, the frozen weights at their dtype;
- activations (an estimate, only with the architecture, micro-batch and sequence length):
  Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
  equation 1: ``s x b x h x (34 + 5 a s / h)`` bytes per layer with 16-bit activations. Fused
  attention (FlashAttention, PyTorch SDPA) never stores the ``a x s x s`` scores, so the estimate
  is ``34 s b h`` per layer; with activation checkpointing ``2 s b h`` per layer (the stored layer
  inputs) plus one layer's ``34 s b h`` being recomputed. fp32 training doubles them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from mlops_infra.ml.dtypes import bytes_per_element
from mlops_infra.ml.size import Architecture, ModelSize, gib

SERVING_OVERHEAD = 0.20
"""Runtime overhead on the weights when serving (Transformer Math 101: ~1.2 x model memory)."""

Precision = Literal["fp32", "mixed_fp16", "mixed_bf16", "bf16"]
Optimizer = Literal["adam", "adamw", "sgd", "sgd_momentum"]
Sharding = Literal["none", "zero1", "zero2", "fsdp", "zero3"]

PRECISION_BYTES: dict[str, tuple[int, int]] = {
    "fp32": (4, 4), "mixed_fp16": (2, 2), "mixed_bf16": (2, 2), "bf16": (2, 2),
}
"""Precision -> (bytes per weight, bytes per gradient) on the GPU."""

OPTIMIZER_STATE_BYTES: dict[tuple[str, str], int] = {
    **{(opt, p): 12 for opt in ("adam", "adamw") for p in ("mixed_fp16", "mixed_bf16")},
    ("adam", "fp32"): 8, ("adamw", "fp32"): 8, ("adam", "bf16"): 4, ("adamw", "bf16"): 4,
    **{("sgd_momentum", p): 8 for p in ("mixed_fp16", "mixed_bf16")},
    ("sgd_momentum", "fp32"): 4, ("sgd_momentum", "bf16"): 2,
    **{("sgd", p): 4 for p in ("mixed_fp16", "mixed_bf16")}, ("sgd", "fp32"): 0, ("sgd", "bf16"): 0,
}
"""(optimizer, precision) -> optimizer-state bytes per trainable parameter (ZeRO's K)."""

ACTIVATION_BYTES_PER_SBH = 34
"""Korthikanti et al. 2022, eq. 1, without the attention-score term (fused attention)."""
CHECKPOINTED_BYTES_PER_SBH = 2


@dataclass(frozen=True, slots=True)
class Fit:
    """Memory needed on the busiest GPU against what it has.

    Fields:
        parts: (label, bytes) that add up to ``per_gpu_bytes`` (weights, KV cache, ...), per GPU.
        per_gpu_bytes: bytes needed on the busiest GPU.
        gpu_gib: memory of one GPU (GiB).
        gpus: GPUs the need is spread over (1 when not sharded).
        notes: what the estimate left out or assumed, for the message.
        device: ``GPU``, or ``instance`` when a CPU instance's memory is what is compared.
    """

    parts: tuple[tuple[str, float], ...]
    per_gpu_bytes: float
    gpu_gib: float
    gpus: int
    notes: tuple[str, ...] = ()
    device: str = "GPU"

    @property
    def used_gib(self) -> float:
        return gib(self.per_gpu_bytes)

    @property
    def fits(self) -> bool:
        return self.used_gib <= self.gpu_gib

    @property
    def utilisation(self) -> str:
        """``13.9 of 24 GiB per GPU``."""
        return f"{self.used_gib:.1f} of {self.gpu_gib:g} GiB per {self.device}"

    def breakdown(self) -> str:
        """``weights 15.0 + KV cache 8.0 + runtime 3.0 GiB``."""
        return " + ".join(f"{label} {gib(n):.1f}" for label, n in self.parts) + " GiB"


def kv_cache_bytes(arch: Architecture, sequence: int, batch: int, dtype: str) -> float:
    """``2 x layers x kv_heads x head_dim x sequence x batch x bytes`` (keys and values)."""
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * sequence * batch * bytes_per_element(dtype)


def serving_memory(size: ModelSize, gpu_gib: float, gpus: int = 1, *, sharded: bool = False,
                   sequence: int | None = None, batch: int = 1, kv_dtype: str | None = None,
                   device: str = "GPU") -> Fit:
    """Memory per GPU of one serving replica (see the module docstring)."""
    parts: list[tuple[str, float]] = [("weights", float(size.weight_bytes))]
    notes: list[str] = []
    if sequence:
        if size.architecture is None:
            notes.append("KV cache not counted: the model's layers and heads are unknown (give architecture)")
        else:
            parts.append(("KV cache", kv_cache_bytes(size.architecture, sequence, batch, kv_dtype or size.dtype)))
    parts.append(("runtime", SERVING_OVERHEAD * size.weight_bytes))
    spread = gpus if sharded else 1
    per_gpu = tuple((label, n / spread) for label, n in parts)
    return Fit(per_gpu, sum(n for _, n in per_gpu), gpu_gib, spread, tuple(notes), device)


def state_bytes(precision: str, optimizer: str) -> tuple[int, int, int]:
    """(weight, gradient, optimizer-state) bytes per parameter."""
    weight, grad = PRECISION_BYTES[precision]
    return weight, grad, OPTIMIZER_STATE_BYTES[(optimizer, precision)]


def activation_bytes(arch: Architecture, sequence: int, micro_batch: int, *, checkpointing: bool,
                     precision: str) -> float:
    """Korthikanti et al. 2022 estimate of activations held on one GPU (see the module docstring)."""
    sbh = sequence * micro_batch * arch.hidden_size
    if checkpointing:
        total = CHECKPOINTED_BYTES_PER_SBH * sbh * arch.layers + ACTIVATION_BYTES_PER_SBH * sbh
    else:
        total = ACTIVATION_BYTES_PER_SBH * sbh * arch.layers
    return total * (2 if precision == "fp32" else 1)


def training_memory(size: ModelSize, gpu_gib: float, data_parallel: int, *, precision: str = "mixed_bf16",
                    optimizer: str = "adamw", sharding: str = "none", trainable: int | None = None,
                    sequence: int | None = None, micro_batch: int | None = None,
                    checkpointing: bool = False) -> Fit:
    """Memory per GPU of one training run over ``data_parallel`` GPUs (see the module docstring)."""
    n = max(1, data_parallel)
    weight_b, grad_b, state_b = state_bytes(precision, optimizer)
    params = size.parameters
    trainable = params if trainable is None else min(trainable, params)
    frozen = params - trainable
    weights = trainable * weight_b + frozen * _frozen_bytes(size, weight_b)
    grads, states = trainable * grad_b, trainable * state_b
    shard_w = n if sharding in ("fsdp", "zero3") else 1
    shard_g = n if sharding in ("zero2", "fsdp", "zero3") else 1
    shard_s = n if sharding != "none" else 1
    parts = [("weights", weights / shard_w), ("gradients", grads / shard_g), ("optimizer states", states / shard_s)]
    notes: list[str] = []
    if size.architecture is not None and sequence and micro_batch:
        parts.append(("activations", activation_bytes(size.architecture, sequence, micro_batch,
                                                      checkpointing=checkpointing, precision=precision)))
    else:
        notes.append("activations not counted: give the model's architecture and the job's "
                     "activations (micro_batch_size, sequence_length)")
    return Fit(tuple(parts), sum(b for _, b in parts), gpu_gib, n if sharding != "none" else 1, tuple(notes))


def _frozen_bytes(size: ModelSize, weight_bytes: int) -> float:
    """Bytes per frozen weight (parameter-efficient fine-tuning): the training precision's, or the
    stored dtype's when smaller (a 4-bit base model stays 4-bit, as in QLoRA)."""
    stored = size.weight_bytes / size.parameters if size.parameters else weight_bytes
    return min(stored, weight_bytes)


def min_gpus_sharded(fit_total_bytes: float, gpu_gib: float) -> int:
    """GPUs needed to hold ``fit_total_bytes`` split evenly (at least 1)."""
    return max(1, math.ceil(gib(fit_total_bytes) / gpu_gib))
