"""The scan's pattern triggers (not literal anchors) are compiled when a hit or window first needs them, not
at import: a clean ``validate`` compiles none of them (:func:`mlops_infra.secrets.scan._by_pattern`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from mlops_infra.secrets.rules import RULES
from mlops_infra.secrets.scan import _rules_of_hit

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
PATTERN_TRIGGERS = sorted({t.encode() for r in RULES if not (r.anchors and not r.trigger) for t in r.triggers})


def _compiled_in(*args: str) -> tuple[subprocess.CompletedProcess, list[bytes]]:
    """Run ``main(args)`` in a fresh interpreter (``re.compile`` recorded from before the import): which of
    :data:`PATTERN_TRIGGERS` it compiled."""
    probe = ("import re, sys\nseen = []\ncompile = re.compile\n"
             "def recording(pattern, flags=0):\n    seen.append(pattern)\n    return compile(pattern, flags)\n"
             "re.compile = recording\nfrom mlops_infra.cli.main import main\ncode = 0\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
             f"print('COMPILED', sorted(set(p for p in seen if p in {PATTERN_TRIGGERS!r})), file=sys.stderr)\n"
             "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
                          check=False)
    return proc, ast.literal_eval(proc.stderr.rsplit("COMPILED ", 1)[-1].strip())


def test_a_clean_validate_compiles_no_pattern_trigger():
    proc, compiled = _compiled_in("validate", str(FRAUD), "--env", "prod")

    assert proc.returncode == 0, proc.stderr
    assert len(PATTERN_TRIGGERS) >= 5 and compiled == [], compiled


def test_a_hit_of_a_pattern_trigger_finds_its_rules():
    """The control: a hit of the userinfo trigger (``user:…@``) is read with the compiled triggers."""
    kinds = {r.kind for r in _rules_of_hit(b"deploy:hunter2xyz@")}

    assert "a password in a URL or image reference" in kinds, kinds
