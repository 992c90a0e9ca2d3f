"""The README's spec tour is a real, valid system, and its two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_infra.spec import parse_system

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_the_spec_tour_validates_in_every_environment():
    block = re.search(r"```yaml\n(.*?)```", README, re.S)
    assert block, "the README has a yaml block"
    result = parse_system(block.group(1), "README.md")
    assert result.ok, [f"{d.location}: {d.summary}" for d in result.diagnostics]
    assert sorted(result.system.environments) == ["dev", "prod"]


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert len(commands) == 2, "exactly two set-up commands"
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[1].strip() in ci
    # CI installs nothing the README's command does not: it reproduces CI (constraints, pulumi-policy) alone
    installs = [line.strip() for line in ci.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs == [commands[1].strip()]
    assert "PIP_CONSTRAINT=constraints.txt" in commands[1] and "--no-deps pulumi-policy" in commands[1]
    assert "mlops-infra plan" in commands[0]
