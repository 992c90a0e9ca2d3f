"""The benchmarks' generated system (benchmarks/bench_validate.py) stays valid and warning-free.

Every benchmark of validate, plan and graph times that document; a check added later that finds
something in it (cross-region images, a mandatory guardrail) turns them into benchmarks of the
error path (positions, rendering), as happened twice.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.benchmarks import benchmark_module
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_benchmark_system_validates_without_a_diagnostic(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(benchmark_module("bench_validate").generate(60))
    result = run_cli("validate", str(spec))
    assert result.code == 0 and result.stderr == "", result.stderr[-3000:]
    assert "environments dev, staging, prod" in result.stdout
