"""``mlops-infra apply`` refuses a plan holding a blocked resource change before any ``pulumi up``
(audit finding removal-1).

Pulumi refuses a protected resource's delete only when its step runs, after the deletes of what
depends on it (pulumi step_generator.go ``ScheduleDeletes``, step.go ``DeleteStep.Apply``), and the
Automation API's ``up`` skips the preview: applied, the plan would strip the kept bucket's public
access block, TLS-only policy, encryption, lifecycle and versioning, then fail, and every later apply
would fail the same way. The engine is faked: it must never be called.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.removals import REFERENCE_TEXT, graph_of, without_feature_snapshots


@pytest.fixture
def calls(monkeypatch) -> list:
    made: list = []
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(engine, "up", lambda *args, **kwargs: made.append((args, kwargs)))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return made


def _apply(tmp_path: Path, desired: str):
    (tmp_path / "mlsystem.yaml").write_text(desired, encoding="utf-8")
    (tmp_path / "prior.json").write_text(dumps(applied_state(graph_of(REFERENCE_TEXT, "prod"))), encoding="utf-8")
    return run_cli("apply", str(tmp_path / "mlsystem.yaml"), "--env", "prod", "--state", str(tmp_path / "prior.json"),
                   "--yes", "--stack-dir", str(tmp_path / "stack"))


def test_a_plan_with_a_blocked_delete_is_refused_before_pulumi_up(tmp_path, calls):
    result = _apply(tmp_path, without_feature_snapshots())
    assert result.code == 1 and "Traceback" not in result.output
    assert calls == []  # nothing applied
    assert "0 to destroy, 6 blocked." in result.stdout  # the plan was shown first
    assert "6 resource change(s) in prod are blocked: " in result.stderr
    assert "feature-snapshots-bucket" in result.stderr and str(tmp_path / "mlsystem.yaml") in result.stderr
    [command] = [line.strip() for line in result.stderr.splitlines() if "pulumi state delete" in line]
    urns = command.split("--force ", 1)[1].split()
    assert len(urns) == 6 and all("feature-snapshots-" in u for u in urns)
    assert urns[-1].endswith("::feature-snapshots-bucket'")  # the bucket after what depends on it
    assert command.startswith("pulumi state delete --stack prod --force 'urn:pulumi:prod::")
    assert "pulumi state unprotect" in result.stderr and str(tmp_path / "stack") in result.stderr


def test_a_plan_without_blocked_changes_goes_on_to_pulumi_up(tmp_path, calls, monkeypatch):
    from mlops_infra.cli.commands import apply as command

    monkeypatch.setattr(command, "_verify", lambda out, graph: None)  # no SageMaker here
    desired = REFERENCE_TEXT.replace("    retention: 90d\n", "    retention: 120d\n", 1)  # a protected lifecycle: updated
    result = _apply(tmp_path, desired)
    assert result.code == 0, result.output
    assert "feature-snapshots-lifecycle" in result.stdout and "0 to destroy." in result.stdout
    assert len(calls) == 1 and "are blocked" not in result.stderr, result.output
