"""``mlops-infra test-alerts``: writes rules, rule tests and Alertmanager routing; runs promtool/amtool."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
EXPECTED = {"rules.yml", "tests-serving.yml", "tests-drift-60s.yml", "tests-notify-failures.yml",
            "tests-training-failures.yml", "tests-rollback.yml", "alertmanager.yml"}  # training: 177895f


def test_writes_the_files_and_runs_promtool_and_amtool(tmp_path: Path) -> None:
    require("promtool", "amtool")
    out = tmp_path / "alerts"
    result = run_cli_subprocess("test-alerts", str(FRAUD), "--env", "dev", "--out", str(out))
    assert result.code == 0, result.output
    assert {p.name for p in out.iterdir()} == EXPECTED
    for line in ("promtool check rules rules.yml: ok", "promtool test rules tests-serving.yml: ok",
                 "promtool test rules tests-drift-60s.yml: ok", "promtool test rules tests-notify-failures.yml: ok",
                 "promtool test rules tests-rollback.yml: ok", "promtool test rules tests-training-failures.yml: ok",
                 "amtool check-config alertmanager.yml: ok"):
        assert line in result.stdout
    # 25 = 19 + three sparse-traffic cases for each of the two serving alerts (6d2c44b, rule_tests._sparse_tests);
    # 33 = 25 + the notify-failure cases (rule_tests.notify_failure_tests): two per channel (oncall, ml-team),
    # one per integration (slack, email), counters that do not grow, no Alertmanager series;
    # 36 = 33 + the three cases of the scorer's rollback alert (rule_tests.rollback_tests, tests-rollback.yml);
    # 40 = 36 + two for the retrain trigger's receiver, one for the webhook integration it adds, one for the runner
    # 43 = 40 + the three cases of training_failed_retrain (rule_tests.training_failure_tests, 177895f)
    # 45 = 43 + "another namespace" of fraud-drift and of rolled_back_scorer (audit k8smon-3)
    assert "(45 rule tests, 3 alerts)" in result.stdout
    routes = yaml.safe_load((out / "alertmanager.yml").read_text())["route"]["routes"]
    assert {r["receiver"] for r in routes} == {"fraud-dev/channel-oncall/oncall", "fraud-dev/channel-ml-team/ml-team",
                                               "fraud-dev/retrain-retrain/retrain-retrain"}


def test_without_promtool_the_files_are_written_and_the_user_told_how_to_run_them(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run_cli("test-alerts", str(FRAUD), "--env", "dev", "--out", str(tmp_path / "out"))
    assert result.code == 0, result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == EXPECTED
    assert "note: promtool is not on PATH" in result.stderr
    assert "promtool test rules tests-drift-60s.yml tests-notify-failures.yml tests-rollback.yml tests-serving.yml" in result.stderr
    assert "note: amtool is not on PATH" in result.stderr


def test_a_failing_rule_test_exits_1_with_promtool_output(tmp_path: Path, monkeypatch) -> None:
    require("promtool")
    fake = tmp_path / "bin"
    fake.mkdir()
    promtool = fake / "promtool"  # a promtool whose rule tests fail, in front of the real one
    promtool.write_text("#!/bin/sh\nif [ \"$1\" = test ]; then echo 'FAILED: scorer-latency'; exit 1; fi\n"
                        "exec /usr/bin/promtool \"$@\"\n")
    promtool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = run_cli("test-alerts", str(FRAUD), "--env", "dev", "--out", str(tmp_path / "out"))
    assert result.code == 1
    assert "promtool test rules tests-serving.yml: FAILED" in result.stdout
    assert "FAILED: scorer-latency" in result.stderr


def test_an_aws_environment_is_refused_with_the_environments_that_have_rules(tmp_path: Path) -> None:
    result = run_cli("test-alerts", str(FRAUD), "--env", "prod", "--out", str(tmp_path))
    assert result.code == 1
    assert "environment prod targets aws: its alerts are CloudWatch alarms" in result.stderr
    assert "try --env dev" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_document_prints_diagnostics_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FRAUD.read_text().replace("threshold: 250ms", "threshold: 250"))
    result = run_cli("test-alerts", str(bad), "--env", "dev", "--out", str(tmp_path / "out"))
    assert result.code == 1
    assert "bad.yaml:" in result.stderr and "latency_p99 is a time" in result.stderr
    assert not (tmp_path / "out").exists()
