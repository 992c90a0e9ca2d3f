"""Rollout steps are percents 1..100 for canary and rolling alike (docs/spec.md "each 1..100"), refused by
``validate`` with the line and a fix, and published with the same bounds in the schema (audit schemas-6:
``rolling`` took ``[-5, 1000]`` and the AWS compiler clamped it silently to a 5% batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from tests.support.cli import assert_clear_error, run_cli
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text()
ROLLOUT = "      strategy: canary\n      steps: [10, 100]\n"


def _rollout(strategy: str, steps: str) -> str:
    text = edit(QUICKSTART, ROLLOUT, f"      strategy: {strategy}\n      steps: {steps}\n")
    return text.replace("      rollback_on: [churn-api-slow]\n", "") if strategy != "canary" else text


@pytest.mark.parametrize(("strategy", "steps", "bad"), [
    ("rolling", "[-5, 1000]", "-5"), ("rolling", "[0]", "0"), ("rolling", "[101]", "101"),
    ("canary", "[0, 100]", "0"), ("canary", "[10, 101]", "101"),
])
def test_a_step_outside_1_to_100_is_refused_at_its_line_with_a_fix(strategy: str, steps: str, bad: str) -> None:
    text = _rollout(strategy, steps)
    errors = [d for d in parse_system(text).diagnostics if d.is_error]
    assert [d.code for d in errors] == ["invalid-value"]
    message = f"{errors[0].summary} {errors[0].detail}"
    assert f"from 1 to 100; {bad} is not" in message
    assert "for example steps: [" in message
    assert errors[0].location is not None
    assert errors[0].location.line == line_of(text, f"      steps: {steps}")


@pytest.mark.parametrize("steps", ["[1]", "[25]", "[50, 100]", "[100]"])
def test_rolling_steps_within_1_to_100_are_accepted(steps: str) -> None:
    assert parse_system(_rollout("rolling", steps)).ok


def test_validate_prints_the_file_and_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "mlsystem.yaml"
    text = _rollout("rolling", "[-5, 1000]")
    path.write_text(text)
    assert_clear_error(run_cli("validate", str(path)),
                       f"mlsystem.yaml:{line_of(text, '      steps: [-5, 1000]')}", "for example steps: [25]")
