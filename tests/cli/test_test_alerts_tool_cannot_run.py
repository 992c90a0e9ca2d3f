"""``test-alerts`` with a ``promtool`` on PATH that is no program of this machine (another platform's binary:
``execve(2)`` fails with ``ENOEXEC``, "Exec format error"): a failed check naming the tool, exit 1, no
"internal error" (audit robust-2)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"


def test_a_promtool_that_cannot_run_is_a_failed_check(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "bin"
    bad.mkdir()
    promtool = bad / "promtool"
    promtool.write_bytes(bytes(range(128, 228)))  # not an ELF file, no #! line
    promtool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bad}{os.pathsep}{os.environ['PATH']}")
    result = run_cli("test-alerts", str(FRAUD), "--env", "dev", "--out", str(tmp_path / "out"))
    assert result.code == 1, result.output
    assert "internal error" not in result.output
    assert "promtool check rules rules.yml: FAILED" in result.stdout
    assert f"error: promtool on PATH ({promtool}) cannot run: Exec format error" in result.stderr
