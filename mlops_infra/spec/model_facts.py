"""What the spec may say about a model's size and how it is served or trained, for the memory checks.

Optional everywhere: a document that says nothing here is checked as before (no memory check,
no cost). Per model, either ``parameters`` + ``dtype`` or an ``artifact`` (a checkpoint, read
without loading its weights: :mod:`mlops_infra.ml.checkpoints`), plus ``architecture`` where the
artifact does not say it, and ``generation`` hints for generative models. Per training job, the
precision, optimizer, sharding and activation facts that size a training run.

Contract of :func:`model_size`: the size of a spec model, from ``parameters`` or from its local
artifact (read once per model object and cached on it, a failure too; remote artifacts are read by
``plan --refresh``, which caches them the same way), or None when nothing says it. Errors reading
an artifact come back as text for a diagnostic, never as an exception.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema

from mlops_infra.ml.dtypes import SpecDtype
from mlops_infra.ml.size import Architecture as SizeArchitecture
from mlops_infra.ml.size import ModelSize, parse_parameter_count
from mlops_infra.spec.base import SpecModel
from mlops_infra.spec.patterns import WHITESPACE

REMOTE_SCHEMES = ("s3://",)
"""Artifact URIs read by ``plan --refresh`` rather than ``validate``."""


PARAMETER_COUNT_SCHEMA_PATTERN = rf"^[0-9]+(\.[0-9]+)?[{WHITESPACE}]*[KMBTkmbt]?$"
"""How a parameter count is written in a document (``7B``, ``125M``, ``1.5B``): ``ml.size``'s
``PARAMETER_COUNT_PATTERN`` with whitespace spelled out (:mod:`.patterns`), and no whitespace before
or after, so that the schema and ``validate`` accept the same text."""


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a parameter count such as 7B, 125M or 350000000, got a boolean")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"a parameter count must be at least 1, got {value}")
        return value
    if isinstance(value, str):
        if not re.fullmatch(PARAMETER_COUNT_SCHEMA_PATTERN, value):
            raise ValueError(f'"{value}" is not a parameter count; write a number with an optional K, M, B or T '
                             "(for example 7B, 125M, 1.5B or 350000000)")
        return parse_parameter_count(value)
    raise ValueError(f"expected a parameter count such as 7B, 125M or 350000000, got {value!r}")


ParameterCount = Annotated[
    int,
    PlainValidator(_count),
    PlainSerializer(int, return_type=int),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": PARAMETER_COUNT_SCHEMA_PATTERN}],
                    "examples": ["7B", "125M", 350000000],
                    "description": "A parameter count: a number with an optional K, M, B or T (7B = 7,000,000,000)."}),
]


class Architecture(SpecModel):
    """The transformer shape: sizes the KV cache and activations (a config.json beside a checkpoint says it too)."""

    layers: int = Field(ge=1, description="Transformer layers (num_hidden_layers).")
    hidden_size: int = Field(ge=1, description="Hidden size (d_model).")
    attention_heads: int = Field(ge=1, description="Attention (query) heads per layer.")
    kv_heads: int | None = Field(default=None, ge=1, description="Key/value heads (grouped-query attention); "
                                 "defaults to attention_heads.")
    head_dim: int | None = Field(default=None, ge=1, description="Size of one head; defaults to hidden_size / attention_heads.")

    def size_architecture(self) -> SizeArchitecture:
        return SizeArchitecture.of(self.layers, self.hidden_size, self.attention_heads, self.kv_heads, self.head_dim)


class Generation(SpecModel):
    """Serving hints of a generative model: the KV cache the endpoint must hold."""

    max_sequence_length: int = Field(ge=1, description="Longest sequence (prompt + output tokens) served.")
    max_batch_size: int = Field(default=1, ge=1, description="Sequences served at once per replica.")
    kv_cache_dtype: SpecDtype | None = Field(default=None, description="KV-cache dtype; defaults to the weights' dtype.")


class Activations(SpecModel):
    """What sizes a training run's activations (an estimate: see docs/model-fit.md)."""

    micro_batch_size: int = Field(ge=1, description="Sequences per GPU per step.")
    sequence_length: int = Field(ge=1, description="Tokens per sequence.")
    checkpointing: bool = Field(default=False, description="Activation (gradient) checkpointing: recompute layers "
                                "in the backward pass instead of storing their activations.")


def is_remote(artifact: str) -> bool:
    return artifact.startswith(REMOTE_SCHEMES)


def artifact_path(artifact: str, source_dir: Path | None) -> Path:
    """A local artifact's path: relative paths are relative to the spec file's folder."""
    path = Path(artifact).expanduser()
    return path if path.is_absolute() or source_dir is None else source_dir / path


def model_size(model: Any, source_dir: Path | None = None) -> tuple[ModelSize | None, str | None]:
    """(size, problem) of a spec model (see the module contract)."""
    spec_arch = model.architecture.size_architecture() if model.architecture else None
    if model.parameters is not None:
        return ModelSize.from_count(model.parameters, model.dtype, spec_arch), None
    if model.artifact is None:
        return None, None
    cached = model._artifact_size
    if cached is None:
        if is_remote(model.artifact):
            return None, None
        from mlops_infra.ml import checkpoints  # pickle, zipfile: imported when a spec has a local artifact

        try:
            cached = checkpoints.read_checkpoint(artifact_path(model.artifact, source_dir))
        except checkpoints.CheckpointError as exc:
            cached = str(exc)
        model._artifact_size = cached
    if isinstance(cached, str):
        return None, cached
    from mlops_infra.ml.checkpoints import as_served

    return as_served(cached, model.dtype, spec_arch, model.artifact), None
