"""docs/diagnostics.md and docs/spec.md say what a credential in a free-form field gives: the severity
``validate`` emits, and no promise that the platform hands a stored secret to a job (stop 38's secrets audit,
finding secrets-3: both said "warning", and the error's text promised a file or variable nothing fills)."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_infra.spec import parse_system
from tests.support.removals import REFERENCE_TEXT
from tests.support.text_edits import edit

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _emitted_severity() -> str:
    text = edit(REFERENCE_TEXT, "learning_rate: 0.001}", "learning_rate: 0.001, db_password: hunter2}")
    (d,) = [d for d in parse_system(text).diagnostics if d.code == "plaintext-secret"]
    return d.severity


def test_the_diagnostics_row_gives_the_severity_validate_emits_for_hyperparameters():
    (row,) = re.findall(r"^\| `plaintext-secret` \|(.*)$", (DOCS / "diagnostics.md").read_text(), re.M)
    assert _emitted_severity() == "error"
    assert "warning" not in row and "hyperparameters" in row and row.strip().startswith("error:")
    assert "mlops-object-store" in row and "only the alert forwarders may read Secrets Manager" in row


def test_spec_md_says_error_for_credentials_in_hyperparameters_and_what_a_job_can_reach():
    spec = (DOCS / "spec.md").read_text()
    (row,) = re.findall(r"^\| `hyperparameters` \|(.*)$", spec, re.M)
    assert "is an error (`plaintext-secret`)" in row and "warning" not in row
    secrets = spec[spec.index("\n## Secrets\n"):]
    secrets = secrets[:secrets.index("\n## ", 1)]
    assert "give a warning" not in secrets and "is the same error" in secrets
    assert "nothing mlops-infra compiles hands a stored secret to a training job" in secrets
