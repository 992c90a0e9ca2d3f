"""``mlops-infra apply`` refuses a protected data source's shortened retention, and goes on once the
lifecycle is unprotected (audit datasources-1; plan/retention.py, cli/commands/apply.refuse_blocked_changes).

S3 applies a lifecycle rule to the objects already stored, so ``retention: 400d -> 30d`` deletes what is older
than 30 days, as a delete of the store would; the refusal is the protected delete's, and so is the way out
(``pulumi state unprotect`` of the lifecycle, plan, apply). The engine is faked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.cli import run_cli
from tests.support.removals import REFERENCE_TEXT, graph_of
from tests.support.text_edits import edit

SHORTER = edit(REFERENCE_TEXT, "    retention: 400d\n", "    retention: 30d\n")


@pytest.fixture
def calls(monkeypatch) -> list:
    from mlops_infra.cli.commands import apply as command

    made: list = []
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(engine, "up", lambda *args, **kwargs: made.append((args, kwargs)))
    monkeypatch.setattr(command, "_verify", lambda out, graph: None)  # no SageMaker here
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return made


def _apply(tmp_path: Path, checkpoint: dict):
    (tmp_path / "mlsystem.yaml").write_text(SHORTER, encoding="utf-8")
    (tmp_path / "prior.json").write_text(dumps(checkpoint), encoding="utf-8")
    return run_cli("apply", str(tmp_path / "mlsystem.yaml"), "--env", "prod", "--state", str(tmp_path / "prior.json"),
                   "--yes", "--stack-dir", str(tmp_path / "stack"))


def test_a_shortened_retention_of_a_protected_store_is_refused_before_pulumi_up(tmp_path, calls):
    result = _apply(tmp_path, applied_state(graph_of(REFERENCE_TEXT, "prod")))
    assert result.code == 1 and "Traceback" not in result.output
    assert calls == []  # nothing applied
    assert "0 to change, 0 to replace, 0 to destroy, 1 blocked." in result.stdout
    assert "Warning: data_sources.transactions: retention 400 days -> 30 days deletes data already stored" in result.stdout
    assert "pulumi state unprotect" in result.stdout and "transactions-lifecycle'" in result.stdout
    assert "1 resource change(s) in prod are blocked: transactions-lifecycle" in result.stderr
    assert "A blocked retention change (transactions-lifecycle): S3 deletes the stored objects older than" in result.stderr
    assert "Pulumi refuses to delete" not in result.stderr and "pulumi state delete" not in result.stderr


def test_once_the_lifecycle_is_unprotected_the_apply_goes_on_with_the_warning(tmp_path, calls):
    checkpoint = edit_resource(applied_state(graph_of(REFERENCE_TEXT, "prod")),
                               lambda r: r["urn"].endswith("::transactions-lifecycle"), lambda r: r.pop("protect"))
    result = _apply(tmp_path, checkpoint)
    assert result.code == 0, result.output
    assert "Warning: data_sources.transactions: retention 400 days -> 30 days deletes data already stored" in result.stdout
    assert "1 to change" in result.stdout and "blocked" not in result.stdout
    assert len(calls) == 1
