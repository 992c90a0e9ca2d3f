"""``mlops-infra validate``: exit codes, text and JSON output, streams, and the error boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.reference import REFERENCE_WARNINGS
from tests.support.text_edits import edit

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "examples" / "quickstart" / "mlsystem.yaml")
FRAUD = str(ROOT / "examples" / "fraud-detection" / "mlsystem.yaml")
BAD = str(ROOT / "tests" / "spec" / "corpus" / "bad" / "training-job-unknown-cluster.yaml")


def test_valid_document_prints_a_one_line_summary() -> None:
    result = run_cli("validate", FRAUD)
    assert result.code == 0
    assert result.stdout == ("ok: fraud-detection: 2 data sources, 1 cluster, 1 training job, 1 model, 1 endpoint, "
                             "3 monitors, 3 alerts, 2 channels; environments dev, staging, prod (production: prod)\n")
    # B3 (a us-east-1 image, prod in eu-west-1) twice, gpu-train's budget the shipped catalog cannot price in
    # prod and staging (budget-unchecked, bcd6774), and the image's registry account (123456789012) pulled from
    # by staging's and prod's roles (image-in-other-account, audit iam-6): the reference's own
    # (tests/support/reference.py)
    assert result.stderr.endswith(f"0 errors, {len(REFERENCE_WARNINGS)} warnings\n") and len(REFERENCE_WARNINGS) == 7
    found = json.loads(run_cli("validate", FRAUD, "--format", "json").stdout)["diagnostics"]
    assert [(d["code"], d["severity"], d["address"]) for d in found] == REFERENCE_WARNINGS


def test_warnings_are_printed_but_do_not_fail_validation(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    # staging (AWS) shrinks the cluster below the job: a warning there (on Kubernetes it is an error, B7)
    spec.write_text(edit(Path(FRAUD).read_text(), "      endpoints.scorer.model.version: 13\n",
                         "      endpoints.scorer.model.version: 13\n      clusters.gpu-train.nodes: {min: 0, max: 1}\n"))
    result = run_cli("validate", str(spec))
    assert result.code == 0
    assert "warning: Training job \"retrain\" needs 2 nodes" in result.stderr
    assert f"0 errors, {1 + len(REFERENCE_WARNINGS)} warnings" in result.stderr  # and the reference's own


def test_env_option_validates_one_environment() -> None:
    result = run_cli("validate", FRAUD, "--env", "prod")
    assert result.code == 0
    assert result.stdout.endswith("; environment prod (production)\n")
    # prod's share of the reference's own: the two images (B3), the unpriced budget, the image's account (iam-6),
    # and python -m fraud.train's one process per node of 4 GPUs (k8strain-1; every environment)
    assert result.stderr.count(": warning: ") == 5 and "environment prod is in eu-west-1" in result.stderr
    assert result.stderr.count("is not checked in environment prod") == 1
    assert result.stderr.count("is in account 123456789012, environment prod runs in account 222222222222") == 1
    staging = run_cli("validate", FRAUD, "--env", "staging")
    # staging's: its unpriced budget, the image's account and the one process per node
    assert staging.code == 0 and staging.stderr.count(": warning: ") == 3
    assert 'budget of $60.00/h is not checked in environment staging' in staging.stderr
    assert "is in account 123456789012, environment staging runs in account 111111111111" in staging.stderr


def test_unknown_env_fails_with_a_suggestion() -> None:
    result = run_cli("validate", FRAUD, "--env", "prdo")
    assert result.code == 1
    assert 'No environment "prdo"' in result.stderr
    assert 'Did you mean "prod"?' in result.stderr


def test_text_diagnostic_is_compiler_style_with_source_and_caret() -> None:
    result = run_cli("validate", BAD)
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f'{BAD}:44:14: error: Unknown cluster "gpu-trian"'
    assert 'Did you mean "gpu-train"?' in lines[1]
    assert lines[2] == "   44 |     cluster: gpu-trian"
    assert lines[3] == " " * (len("   44 | ") + 13) + "^"
    # and the reference's own image warnings (tests/support/reference.py): two of region, two of account
    assert lines[-1] == "1 error, 4 warnings"


def test_json_output_shape() -> None:
    result = run_cli("validate", BAD, "--format", "json")
    assert result.code == 1
    assert result.stderr == ""
    payload = json.loads(result.stdout)
    assert set(payload) == {"version", "valid", "file", "env", "summary", "diagnostics"}
    assert payload["version"] == 1 and payload["valid"] is False and payload["summary"] is None
    assert payload["file"] == BAD and payload["env"] is None
    [first] = [d for d in payload["diagnostics"] if d["severity"] == "error"]
    assert set(first) == {"severity", "code", "summary", "detail", "file", "line", "column", "path", "address"}
    assert first["code"] == "unknown-reference"
    assert (first["line"], first["column"]) == (44, 14)
    assert first["path"] == ["training_jobs", "0", "cluster"]
    assert first["address"] == "training_jobs.retrain"


def test_json_output_of_a_valid_document() -> None:
    result = run_cli("validate", QUICKSTART, "--format", "json", "--env", "dev")
    assert result.code == 0
    payload = json.loads(result.stdout)
    assert payload["valid"] is True
    assert payload["diagnostics"] == []
    assert payload["summary"].startswith("ok: churn-quickstart: 1 data source, 1 model, 1 endpoint")


def test_missing_file() -> None:
    result = run_cli("validate", "no/such/file.yaml")
    assert result.code == 1
    assert "no/such/file.yaml:1:1: error: No such file" in result.stderr


def test_bad_format_option_is_a_usage_error() -> None:
    result = run_cli("validate", QUICKSTART, "--format", "xml")
    assert result.code != 0
    assert "Traceback" not in result.output


def test_internal_error_is_reported_as_a_bug_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlops_infra.cli.commands.validate as command

    def boom(*_a, **_k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(command, "load_system", boom)
    monkeypatch.delenv("MLOPS_INFRA_DEBUG", raising=False)
    result = run_cli("validate", QUICKSTART)
    assert result.code == 1
    assert "internal error" in result.stderr and "kaboom" in result.stderr
    assert "bug in mlops-infra" in result.stderr
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlops_infra.cli.commands.validate as command

    def boom(*_a, **_k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(command, "load_system", boom)
    monkeypatch.setenv("MLOPS_INFRA_DEBUG", "1")
    result = run_cli("validate", QUICKSTART)
    assert result.code == 1
    assert "Traceback" in result.stderr and "RuntimeError: kaboom" in result.stderr


def test_debug_traceback_passes_the_redaction_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlops_infra.cli.commands.validate as command

    def boom(*_a, **_k):
        raise RuntimeError("token AKIAIOSFODNN7EXAMPLE in a library message")

    monkeypatch.setattr(command, "load_system", boom)
    for debug in ("1", "0"):
        monkeypatch.setenv("MLOPS_INFRA_DEBUG", debug)
        result = run_cli("validate", QUICKSTART)
        assert result.code == 1
        assert "AKIAIOSFODNN7EXAMPLE" not in result.output
        assert "<redacted: an AWS access key id>" in result.stderr


def test_real_process_valid_and_invalid() -> None:
    ok = run_cli_subprocess("validate", QUICKSTART)
    assert ok.code == 0, ok.output
    assert ok.stdout.startswith("ok: churn-quickstart:")
    bad = run_cli_subprocess("validate", BAD, "--format", "json")
    assert bad.code == 1
    assert json.loads(bad.stdout)["valid"] is False
    assert "Traceback" not in bad.output


def test_real_process_in_debug_mode_a_user_mistake_is_still_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xff\xfe")
    result = run_cli_subprocess("validate", str(path), env={"MLOPS_INFRA_DEBUG": "1"})
    assert result.code == 1
    assert f"{path}:1:1: error: File is not valid UTF-8" in result.stderr
    assert "Traceback" not in result.output


def test_json_carries_every_name_a_shortened_warning_leaves_out(tmp_path: Path) -> None:
    """100 repositories in another account (the bench system's shape): the text names six and how many more, the
    JSON diagnostic carries all 100 in ``names`` for a script (docs/diagnostics.md)."""
    from tests.spec.test_image_accounts import many_repositories

    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(many_repositories(100), encoding="utf-8")
    text = run_cli("validate", str(spec), "--env", "prod")
    assert text.code == 0 and "repo-005 and 94 more (" in text.stderr and "repo-006" not in text.stderr
    payload = json.loads(run_cli("validate", str(spec), "--env", "prod", "--format", "json").stdout)
    [found] = [d for d in payload["diagnostics"] if d["code"] == "image-in-other-account"]
    assert found["names"]["repositories"] == [f"repo-{i:03}" for i in range(100)]
    assert "repo-006" not in found["detail"] and "and 94 more" in found["detail"]
