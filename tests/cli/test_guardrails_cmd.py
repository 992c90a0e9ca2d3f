"""Guardrails through the console entry point: validate, plan and the PR comment (docs/guardrails.md).

A mandatory rule that fails makes ``validate`` and ``plan`` exit 1 with the rule, the finding and the
fix at file:line (never a traceback); an advisory one is a warning and exits 0. ``plan`` shows the
failing rules in every format, so the PR comment carries them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.guardrails import GUARDED, edit

NO_CAPTURE = ("    capture: {sample_percent: 10}\n", "")
PROD = "    promote_from: staging\n"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(text)
    return str(path)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_system_that_meets_every_guardrail_validates_quietly(tmp_path: Path) -> None:
    result = run_cli("validate", write(tmp_path, GUARDED))
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.startswith("ok: guarded:")


def test_a_mandatory_violation_fails_validate_at_the_line_to_change(tmp_path: Path) -> None:
    text = edit(GUARDED, NO_CAPTURE)
    path = write(tmp_path, text)
    result = run_cli("validate", path)
    assert result.code == 1 and "Traceback" not in result.output
    where = f"{path}:{line_of(text, '  - name: api')}:"
    assert f"{where}5: error: Guardrail capture (mandatory in prod): endpoints.api captures no requests in prod" \
        in result.stderr
    assert "Add capture: {sample_percent: 10}" in result.stderr
    assert "environments.prod.guardrails.rules.capture sets its level" in result.stderr
    assert "1 error, 0 warnings" in result.stderr
    found = json.loads(run_cli("validate", path, "--format", "json").stdout)["diagnostics"]
    assert [(d["code"], d["severity"], d["address"], d["line"]) for d in found] == [
        ("guardrail-capture", "error", "endpoints.api", line_of(text, "  - name: api"))]


def test_an_advisory_level_makes_the_same_violation_a_warning(tmp_path: Path) -> None:
    text = edit(GUARDED, NO_CAPTURE, (PROD, PROD + "    guardrails: {rules: {capture: advisory}}\n"))
    result = run_cli("validate", write(tmp_path, text))
    assert result.code == 0
    assert ": warning: Guardrail capture (advisory in prod)" in result.stderr


def test_rules_outside_production_are_advisory_by_default(tmp_path: Path) -> None:
    text = edit(GUARDED, ("alerts:\n  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}\n",
                          "alerts: []\n"))
    path = write(tmp_path, text)
    staging = run_cli("validate", path, "--env", "staging")
    assert staging.code == 0
    assert "warning: Guardrail endpoint_alerts (advisory in staging): endpoints.api has no alert" in staging.stderr
    prod = run_cli("validate", path, "--env", "prod")
    assert prod.code == 1 and "error: Guardrail endpoint_alerts (mandatory in prod)" in prod.stderr
    everywhere = run_cli("validate", path)  # all environments: one finding in each
    assert everywhere.code == 1
    assert [e in everywhere.stderr for e in ("(advisory in dev)", "(advisory in staging)", "(mandatory in prod)")] \
        == [True, True, True]


def test_a_violation_an_override_causes_points_at_the_override(tmp_path: Path) -> None:
    text = edit(GUARDED, (PROD, PROD + "    overrides:\n      endpoints.api.rollout: {strategy: all_at_once}\n"))
    path = write(tmp_path, text)
    result = run_cli("validate", path)
    assert result.code == 1
    assert (f"{path}:{line_of(text, 'endpoints.api.rollout')}:7: error: Guardrail progressive_rollout (mandatory in "
            "prod): endpoints.api rolls out all at once in prod") in result.stderr


def test_a_cap_violation_points_at_the_cap(tmp_path: Path) -> None:
    text = edit(GUARDED, (PROD, PROD + "    guardrails:\n      max_gpus: 4\n"))
    path = write(tmp_path, text)
    result = run_cli("validate", path)
    assert result.code == 1
    assert f"{path}:{line_of(text, 'max_gpus: 4')}:17: error: Guardrail max_gpus (mandatory in prod): prod uses 12 GPUs" \
        in result.stderr


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stack state here: plans as for a first apply
    return tmp_path


def test_plan_exits_1_after_showing_the_failing_guardrails(here: Path) -> None:
    text = edit(GUARDED, NO_CAPTURE)
    path = write(here, text)
    result = run_cli("plan", path, "--env", "prod")
    assert result.code == 1 and "Traceback" not in result.output
    assert "Guardrails of prod: 1 mandatory rule fails" in result.stdout
    assert "  FAIL capture (mandatory): endpoints.api captures no requests in prod" in result.stdout
    assert f"{path}:{line_of(text, '  - name: api')}:5: error: Guardrail capture" in result.stderr
    assert "error: 1 mandatory guardrail(s) fail in prod: capture" in result.stderr
    staging = run_cli("plan", path, "--env", "staging")  # not production: capture is not a rule there
    assert staging.code == 0 and "Guardrails" not in staging.stdout


def test_apply_refuses_a_mandatory_violation_before_anything_runs(here: Path) -> None:
    path = write(here, edit(GUARDED, NO_CAPTURE))
    result = run_cli("apply", path, "--env", "prod", "--yes")
    assert result.code == 1 and "Traceback" not in result.output
    assert "FAIL capture (mandatory)" in result.stdout  # the plan it would apply, guardrails shown
    assert "error: 1 mandatory guardrail(s) fail in prod: capture" in result.stderr
    assert "Pulumi CLI is not installed" not in result.output  # refused before pulumi is looked for


def test_plan_json_carries_the_failing_rules_and_stays_pure_json(here: Path) -> None:
    path = write(here, edit(GUARDED, NO_CAPTURE))
    result = run_cli("plan", path, "--env", "prod", "--format", "json")
    assert result.code == 1
    (rule,) = json.loads(result.stdout)["guardrails"]
    assert (rule["rule"], rule["level"], rule["status"]) == ("capture", "mandatory", "fail")
    assert rule["findings"][0]["address"] == "endpoints.api" and rule["findings"][0]["field"] == "capture"
    clean = json.loads(run_cli("plan", write(here, GUARDED), "--env", "prod", "--format", "json").stdout)
    assert "guardrails" not in clean  # only failing rules are kept


def test_the_pr_comment_shows_mandatory_and_advisory_rules(here: Path) -> None:
    text = edit(GUARDED, NO_CAPTURE,
                ("alerts:\n  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}\n",
                 "alerts: []\n"),
                (PROD, PROD + "    guardrails: {rules: {endpoint_alerts: advisory}}\n"))
    result = run_cli("plan", write(here, text), "--env", "prod", "--format", "markdown")
    assert result.code == 1
    comment = result.stdout
    assert "### Guardrails\n1 mandatory rule fails (exit 1: fix before applying), 1 advisory rule warns" in comment
    assert "| **fail** | `capture` (mandatory) | endpoints.api captures no requests in prod |" in comment
    assert "| warn | `endpoint_alerts` (advisory) | endpoints.api has no alert that notifies a channel |" in comment
    assert comment.index("### Guardrails") < comment.index("### Cost")
    advisory_only = edit(text, ("    guardrails: {rules: {endpoint_alerts: advisory}}\n",
                                "    guardrails: {enforcement: advisory}\n"))
    warned = run_cli("plan", write(here, advisory_only), "--env", "prod", "--format", "markdown")
    assert warned.code == 0 and "| warn | `capture` (advisory) |" in warned.stdout


def test_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    path = write(tmp_path, edit(GUARDED, NO_CAPTURE))
    backend = {"PULUMI_BACKEND_URL": f"file://{tmp_path}"}  # an empty file backend: a first apply
    for args in (("validate", path), ("plan", path, "--env", "prod")):
        result = run_cli_subprocess(*args, env=backend)
        assert result.code == 1 and "Traceback" not in result.output, result.output
        assert "error: Guardrail capture (mandatory in prod)" in result.stderr


def test_a_mandatory_guardrail_of_dst_refuses_the_promotion_and_leaves_the_file_byte_identical(tmp_path: Path) -> None:
    from tests.support.promotion import DIGEST_V14, prod_view, promoted_to_staging, write_view

    file, registries = promoted_to_staging(tmp_path)
    gates = "    gates: [model_approved, no_drift, progressive_rollout, alerts_routed]\n"
    file.write_text(edit(file.read_text(), (gates, gates + "    guardrails: {max_gpus: 8}\n")))
    write_view(tmp_path / "registry-prod.json", prod_view({1: "sha256:" + "13" * 32, 2: DIGEST_V14}))
    before = file.read_bytes()
    args = ("promote", str(file), "--to", "prod", "--skip-gate", "no_drift", "--reason", "checked nightly", *registries)
    result = run_cli(*args, "--write")
    assert result.code == 1 and "Traceback" not in result.output
    assert "PASS    model_approved" in result.stdout  # the gates pass: the guardrail alone refuses
    assert "FAIL max_gpus (mandatory): prod uses 52 GPUs at full scale, over its cap of 8" in result.stdout
    assert "the promotion into prod is refused: mandatory guardrail(s) fail there: max_gpus" in result.stderr
    assert "Nothing was written; FILE is unchanged." in result.stderr
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()
    comment = run_cli(*args, "--format", "markdown").stdout
    assert "| **fail** | `max_gpus` (mandatory) | prod uses 52 GPUs at full scale" in comment
