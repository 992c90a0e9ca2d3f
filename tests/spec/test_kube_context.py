"""A Kubernetes target's ``context`` is one line of printable text (spec/environments.py,
KubernetesTarget): it is printed in the plan's target line and the PR comment's table, where a line
break ends the row and can open a code block (audit prcomment-4). Kubernetes itself asks only for a
non-empty name (client-go clientcmd ``validateContext``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from tests.support.cli import run_cli

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
CONTEXT = "context: kind-mlops,"


def with_context(value: str) -> str:
    text = QUICKSTART.read_text(encoding="utf-8")
    assert text.count(CONTEXT) >= 1, "the quickstart's dev target names kind-mlops"
    return text.replace(CONTEXT, f"context: {value},", 1)


@pytest.mark.parametrize(("value", "code"), [('"kind-mlops\\n\\n```\\nb"', "U+000A"), ('"kind\\tmlops"', "U+0009"),
                                             ('"kind\\u2028mlops"', "U+2028")])
def test_a_context_with_a_line_break_or_control_character_is_refused(value: str, code: str) -> None:
    loaded = parse_system(with_context(value), "mlsystem.yaml", "dev")
    [diagnostic] = [d for d in loaded.diagnostics if d.severity == "error"]
    assert diagnostic.code == "invalid-value" and diagnostic.summary == 'Invalid "context"'
    assert code in diagnostic.detail and "kubectl config rename-context" in diagnostic.detail


def test_ordinary_context_names_are_accepted() -> None:
    for value in ("kind-mlops", "arn:aws:eks:eu-west-1:111111111111:cluster/ml", "gke_proj_europe-west1_ml",
                  '"admin@ml cluster"'):
        loaded = parse_system(with_context(value), "mlsystem.yaml", "dev")
        assert loaded.ok, (value, [d.summary for d in loaded.diagnostics])


def test_validate_names_the_line_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mlsystem.yaml").write_text(with_context('"kind-mlops\\nx"'))
    monkeypatch.chdir(tmp_path)
    result = run_cli("validate", "mlsystem.yaml")
    assert result.code == 1
    line = next(i for i, text in enumerate(with_context('"kind-mlops\\nx"').splitlines(), 1) if "kind-mlops\\n" in text)
    assert f"mlsystem.yaml:{line}:" in result.stderr and 'Invalid "context"' in result.stderr
    assert "Traceback" not in result.output
