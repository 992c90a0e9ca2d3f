"""``cli.inputs.load_environment`` keeps the document (positions for later diagnostics: guardrails, the
Kubernetes preflights) without the line lists and pieces that placing its own diagnostics made:
``plan --state`` holds it while it reads the state and compiles (issue 14's 10,000-endpoint peak)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from rich.console import Console

from mlops_infra.cli.inputs import load_environment

REPO = Path(__file__).resolve().parents[2]


def test_a_loaded_environment_keeps_no_line_lists(tmp_path: Path) -> None:
    sys.path[:0] = [str(REPO / "benchmarks")]
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(generate(3))  # one warning per AWS environment, printed with its source line
    err = io.StringIO()
    loaded = load_environment(spec, "prod", Console(file=err, width=400))
    assert "warning" in err.getvalue() and " | " in err.getvalue()  # a source line was quoted
    document = loaded.document
    assert document._lines is None and document._positions is None and document._pieces._sections is None
    assert document.source_line(4) == "metadata:"
