"""Audit closing-37b-1: dtype-unsupported-by-gpu tells what vLLM really does with bf16 weights below 8.0.

vLLM's default ``--dtype auto`` falls back to float16 there (vllm ``vllm/config.py`` ``_get_and_verify_dtype``:
"Falling back to torch.float16 for compatibility"); only an explicit ``--dtype bfloat16`` refuses. The warning
said vLLM refuses to start, unconditionally, and its "set dtype: fp16" fix did not say it only changes sizing.
"""

from __future__ import annotations

from pathlib import Path

from tests.spec.test_fit_dtype import _validate


def test_bf16_on_t4_warning_says_what_vllm_does_with_auto_and_explicit_dtype(tmp_path: Path) -> None:
    code, found = _validate(tmp_path, "{type: T4, count: 4}\n    tensor_parallel: true")
    assert code == 0
    [warned] = [d for d in found if d["code"] == "dtype-unsupported-by-gpu"]
    detail = warned["detail"]
    assert "refuses to start otherwise" not in detail
    assert "with --dtype bfloat16 refuses to start" in detail
    assert "with its default --dtype auto it falls back to float16" in detail
    assert "set dtype: fp16 on model chat (that changes only how mlops-infra sizes the weights" in detail
