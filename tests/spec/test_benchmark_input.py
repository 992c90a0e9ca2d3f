"""The benchmarks' generated system (benchmarks/bench_validate.py) stays valid, with only the warnings it is known to get.

Every benchmark of validate, plan and graph times that document; a check added later that finds
something in it (cross-region images, a mandatory guardrail) turns them into benchmarks of the
error path (positions, rendering), as happened twice. Its training images are in a shared registry
account (123456789012) that staging (111111111111) and prod (222222222222) pull from: validate warns
``image-in-other-account`` once per AWS environment, naming every job repository (audit iam-6), exactly that.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.benchmarks import benchmark_module
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_benchmark_system_validates_with_only_its_registry_account_warnings(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    text = benchmark_module("bench_validate").generate(60)
    spec.write_text(text)
    result = run_cli("validate", str(spec))
    jobs = text.count("    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/train-")
    assert jobs == 6
    warned = [line for line in result.stderr.splitlines() if ": warning: " in line]
    repositories = ", ".join(f"train-{i:03}" for i in range(jobs))
    assert [w.split(": warning: ")[1].split(": ", 1)[1] for w in warned] == [
        f"the image repositories train-000, train-001, train-002 and 3 more are in account 123456789012, environment "
        f"{env} runs in account {account}" for env, account in (("prod", "222222222222"), ("staging", "111111111111"))
    ], result.stderr[-3000:]
    assert result.stderr.count(f"each of its {jobs} repositories {repositories} (") == 2
    assert result.code == 0 and ": error: " not in result.stderr
    assert result.stderr.endswith("0 errors, 2 warnings\n"), result.stderr[-3000:]
    assert "environments dev, staging, prod" in result.stdout
