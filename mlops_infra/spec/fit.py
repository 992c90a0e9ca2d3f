"""Will the model fit? Memory checks of endpoints and training jobs against their GPUs.

Contract:
- Only items whose model has a known size are checked (``parameters`` + ``dtype``, or a readable
  local ``artifact``: :func:`~mlops_infra.spec.model_facts.model_size`); a document that names no
  size costs one dictionary look-up per endpoint and job.
- An endpoint that does not fit is an error at the endpoint's ``accelerator`` (or
  ``instance_type``) line; a training job at the job's line. The message gives the numbers (the
  breakdown per GPU, against the GPU's memory) and the fixes that would work: sharding
  (``tensor_parallel`` / FSDP / ZeRO), a smaller batch, and the catalog's cheapest instance that
  fits (by on-demand price; instances without a price come after those with one).
- An artifact that cannot be read is an error at the model's ``artifact`` line.
- Weights in a dtype the endpoint's GPU cannot compute in are a warning at the endpoint's
  ``accelerator`` (or ``instance_type``) line (``dtype-unsupported-by-gpu``), and the cheapest
  instance offered as a fix is always one whose GPU can (:data:`DTYPE_MIN_CAPABILITY`): bf16 needs
  compute capability 8.0 (below it vLLM refuses an explicit ``--dtype bfloat16`` and with its default
  ``--dtype auto`` falls back to float16: ``vllm/config.py`` ``_get_and_verify_dtype``, :data:`_BELOW`;
  mlops-infra passes no dtype to the server, so the warning says both), fp8 needs 7.5 (vLLM runs fp8 weights on Turing and
  Ampere as weight-only W8A16 with FP8 Marlin, on 8.9+ natively: https://docs.vllm.ai/en/stable/features/quantization/fp8/).
  A warning, not an error: a server that casts bf16 weights to fp16 (vLLM ``--dtype half``) runs them.
- :func:`serving_fit` / :func:`training_fit` are what the compilers put in the plan's facts
  (utilisation, "13.9 of 24 GiB per GPU").

The formulas and their sources are in :mod:`mlops_infra.ml.memory` and docs/model-fit.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, error, warning
from mlops_infra.ml.memory import Fit, serving_memory, training_memory
from mlops_infra.ml.size import ModelSize, human_count
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.model_facts import model_size
from mlops_infra.spec.processes import processes_per_node

DEFAULT_PRECISION = "mixed_bf16"
DEFAULT_OPTIMIZER = "adamw"
DEFAULT_INSTANCE = "ml.m5.xlarge"
"""What an endpoint with neither accelerator nor instance_type runs on (compile/facts.py)."""


COMPUTE_CAPABILITY: dict[str, float] = {
    "V100": 7.0, "T4": 7.5, "A100": 8.0, "A100-80GB": 8.0, "A10G": 8.6, "L4": 8.9, "H100": 9.0, "L40S": 8.9,
}
"""CUDA compute capability of each catalog GPU type (NVIDIA, https://developer.nvidia.com/cuda-gpus:
Tesla V100 7.0, Tesla T4 7.5, A100 8.0, A10 / A10G 8.6, L4 8.9, L40S 8.9 (Ada Lovelace, sm_89), H100 9.0)."""

DTYPE_MIN_CAPABILITY: dict[str, float] = {"bf16": 8.0, "fp8": 7.5}
"""The least compute capability that serves weights of each dtype (see the module contract)."""


def gpu_runs_dtype(gpu_type: str | None, dtype: str) -> bool:
    """Whether ``gpu_type`` can serve weights of ``dtype`` (an unknown GPU or a CPU is given the benefit)."""
    capability = COMPUTE_CAPABILITY.get(gpu_type or "")
    return capability is None or capability >= DTYPE_MIN_CAPABILITY.get(dtype, 0.0)


_BELOW = {"bf16": "Below it, vLLM started with --dtype bfloat16 refuses to start (the endpoint never becomes "
                  "InService); with its default --dtype auto it falls back to float16, numerically riskier for "
                  "weights trained in bf16, and refuses the models it lists as unsafe in float16 (gemma2, gemma3, "
                  "glm4).",
          "fp8": "Below it, vLLM cannot run fp8 weights (not even weight-only W8A16)."}
"""What vLLM does below the compute capability a dtype needs (vllm-project/vllm ``vllm/config.py``
``_get_and_verify_dtype`` / ``_resolve_auto_dtype``: with ``dtype == "auto"`` and a config dtype the platform does
not support, it logs "Falling back to torch.float16 for compatibility"; ``_FLOAT16_NOT_SUPPORTED_MODELS``;
``CudaPlatformBase.supported_dtypes`` is float16/float32 only below 8.0)."""


def _dtype_warning(endpoint: Any, i: int, model: Any, size: ModelSize, field: str) -> Diagnostic | None:
    gpu_type, _, _, _ = _device(endpoint.accelerator, endpoint.instance_type, "inference")
    if gpu_runs_dtype(gpu_type, size.dtype):
        return None
    need = DTYPE_MIN_CAPABILITY[size.dtype]
    able = ", ".join(g for g, c in COMPUTE_CAPABILITY.items() if c >= need)
    return warning("dtype-unsupported-by-gpu",
                   f'Endpoint "{endpoint.name}": {gpu_type} (compute capability {COMPUTE_CAPABILITY[gpu_type]:.1f}) '
                   f'cannot serve model "{model.name}"\'s {size.dtype} weights',
                   f"{size.dtype} needs compute capability {need:.1f} or more. {_BELOW.get(size.dtype, '')}"
                   f"\nFix: use an accelerator whose GPU has it ({able}); or serve the weights as fp16 on purpose "
                   f"(vLLM --dtype half) and set dtype: fp16 on model {model.name} (that changes only how "
                   "mlops-infra sizes the weights, not what the server runs).",
                   ("endpoints", i, field), f"endpoints.{endpoint.name}")


def check_model_artifacts(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Every local artifact a model names can be sized."""
    for i, model in enumerate(ctx.system.models):
        if model.artifact is None:
            continue
        _, problem = model_size(model, ctx.source_dir)
        if problem:
            yield error("unreadable-artifact", f'Model "{model.name}": its artifact cannot be sized', problem,
                        ("models", i, "artifact"), f"models.{model.name}")


def _device(accelerator: Any, instance_type: str | None, use: catalog.Use) -> tuple[str | None, int, float | None, str]:
    """(GPU type, GPUs, GiB per device, device word) of an accelerator or instance type."""
    if accelerator is not None:
        return accelerator.type, accelerator.count, catalog.GPU_MEMORY_GIB.get(accelerator.type), "GPU"
    instance = instance_type or (DEFAULT_INSTANCE if use == "inference" else None)
    if instance is None:
        return None, 0, None, "GPU"
    gpu_type, gpus = catalog.gpus_of(instance)
    if gpu_type:
        return gpu_type, gpus, catalog.GPU_MEMORY_GIB.get(gpu_type), "GPU"
    hardware = catalog.hardware(instance)
    return None, 0, hardware.memory_gib if hardware and hardware.memory_gib else None, "instance"


def _size(ctx_or_system: Any, name: str, source_dir: Path | None) -> ModelSize | None:
    model = ctx_or_system.item("models", name)
    return model_size(model, source_dir)[0] if model is not None else None


def serving_fit(system: Any, endpoint: Any, source_dir: Path | None = None) -> Fit | None:
    """Memory per GPU (or per CPU instance) of one replica of ``endpoint``, or None when unknown."""
    size = _size(system, endpoint.model.name, source_dir)
    if size is None:
        return None
    _gpu_type, gpus, memory, device = _device(endpoint.accelerator, endpoint.instance_type, "inference")
    if memory is None:
        return None
    return _serving(size, system.item("models", endpoint.model.name), memory, max(1, gpus),
                    endpoint.tensor_parallel and gpus > 1, device)


def _serving(size: ModelSize, model: Any, memory: float, gpus: int, sharded: bool, device: str = "GPU") -> Fit:
    generation = model.generation
    return serving_memory(size, memory, gpus, sharded=sharded,
                          sequence=generation.max_sequence_length if generation else None,
                          batch=generation.max_batch_size if generation else 1,
                          kv_dtype=generation.kv_cache_dtype if generation else None, device=device)


def training_fit(system: Any, job: Any, source_dir: Path | None = None) -> Fit | None:
    """Memory per GPU of one run of ``job`` on its cluster, or None when unknown."""
    if job.registers is None:
        return None
    size = _size(system, job.registers, source_dir)
    cluster = system.item("clusters", job.cluster)
    if size is None or cluster is None:
        return None
    gpu_type, gpus, memory, _ = _device(cluster.accelerator, cluster.instance_type, "training")
    if not gpu_type or memory is None:
        return None
    return _training(size, job, memory, training_processes(job, gpus), job.sharding)


def training_processes(job: Any, gpus: int) -> int:
    """The processes one run shards over: one per node for a command that is not a torchrun launcher, else
    nodes x GPUs (:func:`mlops_infra.spec.processes.processes_per_node`; audit k8strain-1)."""
    return job.nodes * processes_per_node(job, gpus)


def _training(size: ModelSize, job: Any, memory: float, gpus: int, sharding: str | None) -> Fit:
    acts = job.activations
    return training_memory(size, memory, gpus, precision=job.precision or DEFAULT_PRECISION,
                           optimizer=job.optimizer or DEFAULT_OPTIMIZER, sharding=sharding or "none",
                           trainable=job.trainable_parameters,
                           sequence=acts.sequence_length if acts else None,
                           micro_batch=acts.micro_batch_size if acts else None,
                           checkpointing=acts.checkpointing if acts else False)


def check_serving_fit(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Each endpoint's model fits one replica's GPU memory (see the module contract)."""
    for i, endpoint in enumerate(ctx.system.endpoints):
        model = ctx.item("models", endpoint.model.name)
        if model is None or (model.parameters is None and model.artifact is None):
            continue
        size = _size(ctx.system, endpoint.model.name, ctx.source_dir)
        field = "accelerator" if endpoint.accelerator else "instance_type" if endpoint.instance_type else "model"
        if size is not None and (unsupported := _dtype_warning(endpoint, i, model, size, field)) is not None:
            yield unsupported
        fit = serving_fit(ctx.system, endpoint, ctx.source_dir)
        if fit is None or fit.fits or size is None:
            continue
        shape = _shape(endpoint.accelerator, endpoint.instance_type)
        fixes = _serving_fixes(endpoint, model, size)
        yield error("model-does-not-fit",
                    f'Model "{model.name}" does not fit endpoint "{endpoint.name}": {fit.used_gib:.1f} GiB needed '
                    f"per {fit.device}, {shape} has {fit.gpu_gib:g} GiB",
                    f"{size.describe()}. One replica{', per GPU' if fit.device == 'GPU' else ''}: {fit.breakdown()} "
                    f"= {fit.used_gib:.1f} GiB ({_basis(fit)}).{_notes(fit)}\nFix: " + "; or ".join(fixes) + ".",
                    ("endpoints", i, field), f"endpoints.{endpoint.name}")


def _notes(fit: Fit) -> str:
    return "".join(f" {note[0].upper()}{note[1:]}." for note in fit.notes)


def _shape(accelerator: Any, instance_type: str | None) -> str:
    if accelerator is not None:
        return f"{accelerator.count} x {accelerator.type}" if accelerator.count > 1 else accelerator.type
    return catalog.sagemaker_name(instance_type or DEFAULT_INSTANCE)


def _basis(fit: Fit) -> str:
    if fit.device != "GPU":
        return "a CPU instance's memory"
    return f"sharded over {fit.gpus} GPUs" if fit.gpus > 1 else "the whole model on one GPU"


def _serving_fixes(endpoint: Any, model: Any, size: ModelSize) -> list[str]:
    fixes: list[str] = []
    acc = endpoint.accelerator
    if acc is not None and acc.count > 1 and not endpoint.tensor_parallel:
        memory = catalog.GPU_MEMORY_GIB.get(acc.type, 0)
        sharded = _serving(size, model, memory, acc.count, True)
        if sharded.fits:
            fixes.append(f"shard it over the replica's {acc.count} GPUs with tensor_parallel: true ({sharded.utilisation})")
    generation = model.generation
    if generation and generation.max_batch_size > 1 and size.architecture is not None:
        fixes += _smaller_batch(endpoint, model, size)
    cheapest = _cheapest("inference", lambda gpu, count, memory: _serving(size, model, memory, count, count > 1),
                         dtype=size.dtype)
    if cheapest:
        fixes.append(f"use a larger accelerator: the cheapest that fits is {cheapest}")
    if not fixes:
        fixes.append("serve a smaller or quantized model (dtype int8 or int4); no instance in the catalog fits it")
    return fixes


def _smaller_batch(endpoint: Any, model: Any, size: ModelSize) -> list[str]:
    """The largest batch below ``max_batch_size`` that fits, found by bisection: a replica's memory
    grows with the batch (:func:`~mlops_infra.ml.memory.serving_memory`: the KV cache is linear in it,
    nothing else depends on it), so the batches that fit are 1 up to some bound. One memory model per
    halving, not per batch size: the field has no upper bound, and a mistyped ``max_batch_size:
    262144`` made ``validate`` run for minutes (audit yamledge-8)."""
    _gpu_type, gpus, memory, device = _device(endpoint.accelerator, endpoint.instance_type, "inference")
    sharded = endpoint.tensor_parallel and gpus > 1
    generation = model.generation

    def fit(batch: int) -> Any:
        return serving_memory(size, memory or 0, max(1, gpus), sharded=sharded, sequence=generation.max_sequence_length,
                              batch=batch, kv_dtype=generation.kv_cache_dtype, device=device)

    low, high = 0, generation.max_batch_size  # fits(low) (0: none yet), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fit(middle).fits else (low, middle)
    if low == 0:
        return []
    return [f"lower generation.max_batch_size of model {model.name} to {low} ({fit(low).utilisation})"]


def check_training_fit(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Each training run's weights, gradients, optimizer states and activations fit its GPUs."""
    for i, job in enumerate(ctx.system.training_jobs):
        if job.registers is None:
            continue
        model = ctx.item("models", job.registers)
        if model is None or (model.parameters is None and model.artifact is None):
            continue
        fit = training_fit(ctx.system, job, ctx.source_dir)
        if fit is None or fit.fits:
            continue
        size = _size(ctx.system, job.registers, ctx.source_dir)
        cluster = ctx.item("clusters", job.cluster)
        gpus = training_processes(job, _device(cluster.accelerator, cluster.instance_type, "training")[1])
        yield error("training-does-not-fit",
                    f'Training job "{job.name}" does not fit cluster "{cluster.name}": {fit.used_gib:.1f} GiB needed '
                    f"per GPU, {_shape(cluster.accelerator, cluster.instance_type)} has {fit.gpu_gib:g} GiB",
                    f"Model {model.name}: {size.describe()}; {_training_basis(job, fit)}: {fit.breakdown()} = "
                    f"{fit.used_gib:.1f} GiB per GPU.{_notes(fit)}\nFix: "
                    + "; or ".join(_training_fixes(job, size, fit, gpus)) + ".",
                    ("training_jobs", i), f"training_jobs.{job.name}")


def _training_basis(job: Any, fit: Fit) -> str:
    trained = f", {human_count(job.trainable_parameters)} trained" if job.trainable_parameters else ""
    sharding = job.sharding or "none"
    spread = f"sharded ({sharding}) over {fit.gpus} GPUs" if sharding != "none" else "not sharded"
    return (f"{job.precision or DEFAULT_PRECISION} {job.optimizer or DEFAULT_OPTIMIZER}{trained}, {spread}, "
            "per GPU")


def _training_fixes(job: Any, size: ModelSize, fit: Fit, gpus: int) -> list[str]:
    fixes: list[str] = []
    if (job.sharding or "none") not in ("fsdp", "zero3"):
        sharded = _training(size, job, fit.gpu_gib, gpus, "fsdp")
        if sharded.fits:
            fixes.append(f"shard weights, gradients and optimizer states over the run's {gpus} GPUs with "
                         f"sharding: fsdp (FSDP / ZeRO-3: {sharded.utilisation})")
    if job.activations and not job.activations.checkpointing:
        checkpointed = _training(size, job.model_copy(update={"activations": job.activations.model_copy(
            update={"checkpointing": True})}), fit.gpu_gib, gpus, job.sharding)
        if checkpointed.fits:
            fixes.append(f"turn on activations.checkpointing ({checkpointed.utilisation})")
    cheapest = _cheapest("training", lambda gpu, count, memory: _training(
        size, job, memory, job.nodes * count, job.sharding or "none"), nodes=job.nodes)
    if cheapest:
        fixes.append(f"use a larger accelerator: the cheapest that fits {job.nodes} node"
                     f"{'s' if job.nodes != 1 else ''} is {cheapest}")
    if not fixes:
        fixes.append("train fewer parameters (trainable_parameters, e.g. LoRA), shard with fsdp over more nodes, "
                     "or use a smaller model: no instance in the catalog fits this run")
    return fixes


def _cheapest(use: catalog.Use, fit_of: Callable[[str, int, float], Fit], nodes: int = 1,
              dtype: str | None = None) -> str | None:
    """``ml.g6.12xlarge (4 x L4, 6.5 of 24 GiB per GPU, $5.75/h)``: the cheapest catalog
    instance for ``use`` whose fit holds and (given ``dtype``) whose GPU can serve that dtype;
    priced instances first, then the fewest GPUs."""
    found: list[tuple[int, float, int, str]] = []
    for gpu_type, shapes in catalog.ACCELERATOR_SHAPES.items():
        if dtype is not None and not gpu_runs_dtype(gpu_type, dtype):
            continue
        memory = catalog.GPU_MEMORY_GIB.get(gpu_type)
        for count in shapes:
            instance = catalog.instance_for(gpu_type, count, use)
            if instance is None or memory is None:
                continue
            fit = fit_of(gpu_type, count, memory)
            if not fit.fits:
                continue
            price = catalog.price(instance, use)
            cost = f", ${price.usd_per_hour * nodes:,.2f}/h" + (f" for {nodes} nodes" if nodes > 1 else "") if price else ""
            sharded = " with tensor_parallel: true" if use == "inference" and count > 1 else ""
            text = f"{instance}{sharded} ({count} x {gpu_type}, {fit.utilisation}{cost})"
            found.append((0 if price else 1, price.usd_per_hour if price else 0.0, count, text))
    return min(found)[3] if found else None
