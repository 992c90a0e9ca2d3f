"""The bad-document corpus: one defect per file, each caught by the real CLI at the right line.

Every file in ``corpus/bad/`` starts with a ``# Defect: ...`` comment and has a row in
:data:`EXPECTED` (diagnostic code, 1-based line). Each must exit 1 through ``mlops-infra
validate``, name the file and line, give a fix hint, and never print a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess

CORPUS = Path(__file__).parent / "corpus" / "bad"

EXPECTED: dict[str, tuple[str, int]] = {
    # references
    "training-job-unknown-cluster": ("unknown-reference", 44),
    "training-job-unknown-input": ("unknown-reference", 47),
    "training-job-unknown-output": ("unknown-reference", 48),
    "training-job-registers-unknown-model": ("unknown-reference", 52),
    "training-trigger-unknown-alert": ("unknown-reference", 55),
    "endpoint-unknown-model": ("unknown-reference", 65),
    "rollback-on-unknown-alert": ("unknown-reference", 73),
    "monitor-unknown-endpoint": ("unknown-reference", 84),
    "monitor-unknown-baseline": ("unknown-reference", 80),
    "alert-unknown-monitor": ("unknown-reference", 94),
    "alert-notifies-unknown-channel": ("unknown-reference", 102),
    "duplicate-monitor-name": ("duplicate-name", 83),
    # hardware
    "unknown-accelerator-type": ("unknown-accelerator", 66),
    "accelerator-count-not-on-aws": ("invalid-accelerator-count", 37),
    "endpoint-unknown-instance-type": ("unknown-instance-type", 66),
    "endpoint-training-only-instance-type": ("unsupported-instance-type", 66),
    "replicas-min-greater-than-max": ("invalid-value", 67),
    "training-nodes-exceed-cluster": ("too-many-nodes", 50),
    # rollouts and monitoring
    "canary-steps-not-increasing": ("invalid-value", 71),
    "canary-steps-not-ending-at-100": ("invalid-value", 71),
    "drift-monitor-without-capture": ("capture-required", 77),
    "feature-drift-without-baseline": ("baseline-required", 77),
    "latency-threshold-without-unit": ("invalid-threshold", 86),
    "error-rate-threshold-above-one": ("invalid-threshold", 90),
    "drift-threshold-as-percentage": ("invalid-threshold", 81),
    # environments, overrides, promotion, gates
    "override-unknown-item": ("unknown-override-path", 137),
    "override-unknown-field": ("unknown-override-path", 124),
    "override-invalid-value": ("invalid-value", 137),
    "override-wrong-type": ("wrong-type", 131),
    "promote-from-unknown-environment": ("unknown-environment", 134),
    "promote-from-itself": ("self-promotion", 134),
    "promotion-cycle": ("promotion-cycle", 123),
    "unknown-gate": ("unknown-gate", 135),
    "training-schedule-unsupported-on-aws": ("unsupported-schedule", 57),
    "progressive-gate-with-all-at-once-endpoint": ("gate-unsatisfiable", 69),
    "alerts-routed-gate-with-silent-alert": ("gate-unsatisfiable", 93),
    "alert-without-channel": ("alert-without-channel", 93),  # the alert (it has no notify key to point at)
    "aws-account-not-quoted": ("wrong-type", 133),
    # secrets and scalars
    "plaintext-secret-webhook": ("plaintext-secret", 112),
    "duration-without-unit-letter": ("invalid-value", 19),
    "cron-with-four-fields": ("invalid-value", 54),
    "quoted-number": ("wrong-type", 50),
    # structure
    "unknown-field-typo": ("unknown-field", 67),
    "endpoint-missing-replicas": ("missing-field", 64),
    "unsupported-api-version": ("unsupported-api-version", 2),
    "wrong-kind": ("unsupported-kind", 3),
    "invalid-item-name": ("invalid-format", 27),
    "invalid-channel-kind": ("invalid-value", 114),
    # YAML and loader limits
    "yaml-unclosed-bracket": ("yaml-syntax", 47),
    "yaml-tab-indentation": ("yaml-syntax", 60),
    "duplicate-key": ("duplicate-key", 52),
    "multiple-documents": ("multiple-documents", 1),
    "root-is-a-list": ("root-not-mapping", 1),
    "comment-only": ("empty-document", 1),
    "alias-bomb": ("alias-limit", 7),  # the alias whose expansion passes the limit (was 1:1, red-team M7)
    "python-object-tag": ("unsupported-tag", 5),
}
"""Corpus file (without .yaml) -> (expected diagnostic code, expected line)."""

FILES = sorted(p.stem for p in CORPUS.glob("*.yaml"))


def test_every_corpus_file_has_an_expectation_and_a_defect_comment() -> None:
    assert len(FILES) >= 30
    assert set(FILES) == set(EXPECTED)
    for name in FILES:
        first = (CORPUS / f"{name}.yaml").read_text().splitlines()[0]
        assert first.startswith("# Defect: "), name


@pytest.mark.parametrize("name", FILES)
def test_bad_document_fails_at_the_right_line_with_a_fix(name: str) -> None:
    code, line = EXPECTED[name]
    path = str(CORPUS / f"{name}.yaml")
    result = run_cli("validate", path, "--format", "json")
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    errors = [d for d in payload["diagnostics"] if d["severity"] == "error"]
    matching = [d for d in errors if d["code"] == code and d["line"] == line]
    assert matching, f"no {code} at line {line}; got {[(d['code'], d['line']) for d in errors]}"
    found = matching[0]
    assert found["file"] == path
    assert found["column"] >= 1
    assert found["detail"].strip(), "every error says how to fix it"


@pytest.mark.parametrize("name", FILES)
def test_bad_document_text_output_is_compiler_style(name: str) -> None:
    line = EXPECTED[name][1]
    path = str(CORPUS / f"{name}.yaml")
    result = run_cli("validate", path)
    assert result.code == 1
    assert "Traceback" not in result.output
    assert result.stdout == "", "text diagnostics go to stderr; stdout only carries the ok summary"
    assert f"{path}:{line}:" in result.stderr
    assert ": error: " in result.stderr
    assert result.stderr.rstrip().endswith("warnings") or result.stderr.rstrip().endswith("warning")


@pytest.mark.parametrize("name", ["training-job-unknown-cluster", "yaml-unclosed-bracket", "alias-bomb",
                                  "aws-account-not-quoted", "override-invalid-value"])
def test_bad_document_in_a_real_process_prints_no_traceback(name: str) -> None:
    line = EXPECTED[name][1]
    path = str(CORPUS / f"{name}.yaml")
    result = run_cli_subprocess("validate", path)
    assert result.code == 1
    assert "Traceback" not in result.output
    assert f"{path}:{line}:" in result.stderr
