"""Every shipped example passes ``validate`` as a user runs it: the command's own checks included
(the guardrails, which ``load_system`` alone does not evaluate), so a new mandatory rule cannot
leave an example that fails its user's first command (examples/llm-platform's reranker captured no
requests in prod once the ``capture`` guardrail became mandatory there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/mlsystem.yaml"))


def test_there_are_examples() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"fraud-detection", "llm-platform", "quickstart"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_each_example_validates_with_no_error(path: Path) -> None:
    result = run_cli("validate", str(path))
    assert result.code == 0, result.output
    assert ": error:" not in result.output and "ok: " in result.stdout, result.output
