"""What is known about a model's size: parameters, bytes by dtype and, when known, its architecture.

A :class:`ModelSize` comes from the spec (``parameters`` + ``dtype``, optionally ``architecture``)
or from a checkpoint file (:mod:`mlops_infra.ml.checkpoints`, exact counts and bytes). The memory
formulas (:mod:`mlops_infra.ml.memory`) read only this, never the spec.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mlops_infra.ml.dtypes import bytes_per_element

GIB = 1024**3

# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_COUNT_RE = r"(?i)([0-9]+(?:\.[0-9]+)?)\s*([KMBT]?)"
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
PARAMETER_COUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*[KMBTkmbt]?$"
"""How a parameter count is written: a number with an optional K, M, B or T (``7B``, ``125M``, ``1.5B``)."""


def parse_parameter_count(text: str) -> int:
    """``7B`` -> 7_000_000_000; ``125M`` -> 125_000_000; raise ValueError with a fix otherwise."""
    match = re.fullmatch(_COUNT_RE, text.strip())
    if not match:
        raise ValueError(f'"{text}" is not a parameter count; write a number with an optional K, M, B or T '
                         "(for example 7B, 125M, 1.5B or 350000000)")
    value = float(match.group(1)) * _SCALE[match.group(2).upper()]
    if value < 1:
        raise ValueError(f'"{text}" is less than one parameter')
    return round(value)


def human_count(n: int) -> str:
    """8_030_261_248 -> ``8.03B``; 124_439_808 -> ``124M``; 4_096 -> ``4096``."""
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            value = n / size
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(n)


def gib(n_bytes: float) -> float:
    return n_bytes / GIB


@dataclass(frozen=True, slots=True)
class Architecture:
    """The transformer shape that sizes a KV cache and activations.

    ``kv_heads`` < ``attention_heads`` is grouped-query attention (1 is multi-query);
    ``head_dim`` is usually ``hidden_size / attention_heads``.
    """

    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, layers: int, hidden_size: int, attention_heads: int, kv_heads: int | None = None,
           head_dim: int | None = None) -> Architecture:
        return cls(layers, hidden_size, attention_heads, kv_heads or attention_heads,
                   head_dim or hidden_size // attention_heads)


@dataclass(frozen=True, slots=True)
class ModelSize:
    """A model's size.

    Fields:
        parameters: number of parameters (elements of all tensors that hold weights).
        weight_bytes: bytes of those weights as stored/served.
        dtype: the dtype holding most bytes (``bf16``), the serving dtype of the weights.
        bytes_by_dtype: canonical dtype -> bytes, sorted by dtype (one entry for the spec form).
        parameters_by_dtype: canonical dtype -> parameters, same keys.
        architecture: layers, heads, hidden size when the spec or a config.json beside the
            checkpoint says so, else None (no KV cache or activation estimate then).
        source: where the facts come from (``spec`` or the artifact as written in the spec).
    """

    parameters: int
    weight_bytes: int
    dtype: str
    bytes_by_dtype: tuple[tuple[str, int], ...] = ()
    parameters_by_dtype: tuple[tuple[str, int], ...] = ()
    architecture: Architecture | None = None
    source: str = "spec"

    @classmethod
    def from_count(cls, parameters: int, dtype: str, architecture: Architecture | None = None) -> ModelSize:
        """The spec form: ``parameters`` all of ``dtype``."""
        weight = math.ceil(parameters * bytes_per_element(dtype))
        return cls(parameters, weight, dtype, ((dtype, weight),), ((dtype, parameters),), architecture)

    def describe(self) -> str:
        """``8.03B parameters, bf16, 14.96 GiB of weights``."""
        return f"{human_count(self.parameters)} parameters, {self.dtype}, {gib(self.weight_bytes):.2f} GiB of weights"
