"""Element sizes of the dtypes the spec and checkpoint files name.

The spec's dtype names (:data:`SPEC_DTYPES`) are the short names ML engineers write (``bf16``);
checkpoint files use their own spellings (safetensors ``BF16``, torch ``torch.bfloat16``), mapped
here by :func:`canonical` so bytes by dtype read the same whatever the source.
"""

from __future__ import annotations

from typing import Literal

SpecDtype = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]

BITS: dict[str, int] = {
    "fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int64": 64, "int32": 32, "int16": 16,
    "int8": 8, "uint8": 8, "int4": 4, "bool": 8, "complex64": 64, "complex128": 128, "uint16": 16,
    "uint32": 32, "uint64": 64, "fp4": 4,
}
"""Bits per element of each canonical dtype (int4 and fp4 are packed two per byte)."""

SPEC_DTYPES: tuple[str, ...] = ("fp32", "fp16", "bf16", "fp8", "int8", "int4")
"""The dtypes a spec may name for weights or a KV cache."""

_ALIASES: dict[str, str] = {
    # safetensors (https://github.com/huggingface/safetensors, Dtype enum)
    "F64": "fp64", "F32": "fp32", "F16": "fp16", "BF16": "bf16", "F8_E4M3": "fp8", "F8_E5M2": "fp8",
    "F8_E8M0": "fp8", "F4": "fp4", "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool", "C64": "complex64",
    # torch (str(torch.dtype) without the "torch." prefix)
    "float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
    "bfloat16": "bf16", "float8_e4m3fn": "fp8", "float8_e5m2": "fp8", "float8_e4m3fnuz": "fp8",
    "float8_e5m2fnuz": "fp8", "float8_e8m0fnu": "fp8", "int64": "int64", "long": "int64", "int32": "int32",
    "int": "int32", "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
    "complex64": "complex64", "complex128": "complex128", "uint16": "uint16", "uint32": "uint32",
    "uint64": "uint64", "quint4x2": "int4", "qint8": "int8", "quint8": "uint8",
}


def canonical(name: str) -> str | None:
    """The canonical dtype of a file's dtype name (``BF16``, ``torch.bfloat16``), or None if unknown."""
    name = name.removeprefix("torch.")
    if name in BITS:
        return name
    return _ALIASES.get(name)


def bytes_per_element(dtype: str) -> float:
    """Bytes per element of a canonical dtype (0.5 for 4-bit types)."""
    return BITS[dtype] / 8
