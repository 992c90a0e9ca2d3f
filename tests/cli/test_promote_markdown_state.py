"""closing-36c-2: a cut ``promote --format markdown --state FILE`` quotes the command that prints
DST's full plan with the same ``--state`` (docs/plan.md "Formats": "with the same ``--env`` and
``--state``"), the one ``plan`` itself quotes (``cli/commands/plan.py`` ``full_plan_command``):
without it the quoted plan reads the backend's state, or none, and shows another plan."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps
from tests.support.benchmarks import benchmark_module
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_a_cut_promotion_quotes_the_full_plan_command_with_its_state(tmp_path: Path) -> None:
    folder = tmp_path / "dir with space"
    folder.mkdir()
    text = benchmark_module("bench_validate").generate(300)
    file = folder / "mlsystem.yaml"
    file.write_text(text)
    registries = benchmark_module("bench_promote").registry_reads(text, folder)
    state = folder / "committed-prod.json"
    state.write_text(dumps(applied_state(compile_file(file, "prod"))))
    body = run_cli("promote", str(file), "--to", "prod", *registries, "--skip-gate", "no_drift",
                   "--reason", "test: offline", "--state", str(state), "--format", "markdown")
    assert body.code == 0, body.output[-3000:]
    command = shlex.join(["mlops-infra", "plan", str(file), "--env", "prod", "--state", str(state), "--format", "text"])
    assert f"`{command}`" in body.stdout, [line for line in body.stdout.splitlines() if "mlops-infra plan " in line]
