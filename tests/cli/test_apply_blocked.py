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


# Audit closing-32b-2 and -3: the refusal's `pulumi state delete` line lists only the blocked URNs,
# and works against the prior state or is preceded by the order that does.

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "removed-protected-data-source-is-blocked"


def _pulumi_state_dependents(records: list, urns: set) -> set:
    """What pulumi/pulumi ``pkg/resource/edit/operations.go`` ``DeleteResource`` refuses on, replayed
    on the state file's own records (``graph.OnlyDependsOn``: parent, ``dependencies``,
    ``propertyDependencies``, ``deletedWith``, transitively): the resources outside ``urns`` that depend
    on them."""
    found, grew = set(urns), True
    while grew:
        grew = False
        for record in records:
            edges = {record.get("parent"), record.get("deletedWith"), *record.get("dependencies", []),
                     *(u for deps in record.get("propertyDependencies", {}).values() for u in deps)}
            if record["urn"] not in found and edges & found:
                found.add(record["urn"])
                grew = True
    return found - urns


def _state_delete_lines(stderr: str) -> list[list[str]]:
    return [[u.strip("'") for u in line.split("--force ", 1)[1].split()]
            for line in stderr.splitlines() if "pulumi state delete" in line]


def _check_refusal(stderr: str, plan, prior_text: str) -> None:
    """Every printed URN is a blocked change of ``plan``; a line whose URNs others in the prior state
    depend on is preceded by the two-step order naming them."""
    import json

    blocked = {c.urn for c in plan.changes if c.blocked}
    records = json.loads(prior_text)["checkpoint"]["latest"]["resources"]
    lines = _state_delete_lines(stderr)
    assert lines
    for urns in lines:
        assert set(urns) <= blocked, sorted(set(urns) - blocked)
        users = _pulumi_state_dependents(records, set(urns))
        if users:
            assert f": {len(users)} resource(s) in the state depend on it (" in stderr, stderr
            assert "so the state delete fails now" in stderr
            assert "First apply with" in stderr and "those uses removed; then remove it and run:" in stderr


def _plan_of(desired: str, env: str, prior_text: str):
    from mlops_infra.plan.planner import make_plan
    from mlops_infra.state.pulumi_state import parse_state

    return make_plan(graph_of(desired, env), parse_state(prior_text, "prior"))


def test_the_scenario_s_refusal_prints_only_blocked_urns_and_the_order_that_works(tmp_path, calls):
    """removed-protected-data-source-is-blocked: retrain-pipeline depends on the bucket in the state, so
    the state delete alone fails (ResourceHasDependenciesError); the refusal says to apply without the
    job's use first, with the data source still in the spec."""
    prior = (SCENARIO / "prior.json").read_text(encoding="utf-8")
    desired = (SCENARIO / "mlsystem.yaml").read_text(encoding="utf-8")
    result = run_cli("apply", str(SCENARIO / "mlsystem.yaml"), "--env", "prod", "--state", str(SCENARIO / "prior.json"),
                     "--yes", "--stack-dir", str(tmp_path / "stack"))
    assert result.code == 1 and "Traceback" not in result.output and calls == []
    _check_refusal(result.stderr, _plan_of(desired, "prod", prior), prior)
    # 11: the pipeline and what hangs on it, the failed-run EventBridge rule and its target (421c885) included
    [named] = [line for line in result.stderr.splitlines() if "data_sources.feature-snapshots: 11 resource(s)" in line]
    assert "(retrain-pipeline, " in named and "retrain.failed" in named
    assert "First apply with data_sources.feature-snapshots still in the spec" in result.stderr
    [urns] = _state_delete_lines(result.stderr)
    assert len(urns) == 6 and urns[-1].endswith("::feature-snapshots-bucket")


def _without_serving(text: str) -> str:
    """``text`` without endpoints, monitors and alerts ("stop serving"), and without what names them
    (overrides of endpoints, the gates that need an endpoint or an alert)."""
    import yaml

    doc = yaml.safe_load(text)
    doc["endpoints"], doc["monitors"], doc["alerts"] = [], [], []
    for env in doc["environments"].values():
        env["overrides"] = {k: v for k, v in (env.get("overrides") or {}).items() if not k.startswith("endpoints.")}
        if "gates" in env:
            env["gates"] = [g for g in env["gates"] if g not in ("progressive_rollout", "alerts_routed", "no_drift")]
    for job in doc["training_jobs"]:
        (job.get("triggers") or {}).pop("on_alerts", None)
    return yaml.safe_dump(doc, sort_keys=False)


def test_removing_the_last_endpoint_where_nothing_captured_is_applied(tmp_path, calls, monkeypatch):
    """closing-32b-2 (b): the staging endpoint never captured, so no capture bucket was ever desired;
    stopping serving deletes the endpoint and the rollout runner with nothing blocked (as on b093fad)."""
    from mlops_infra.apply import forgotten
    from mlops_infra.cli.commands import apply as command
    from tests.support.removals import without_capture

    monkeypatch.setattr(command, "_verify", lambda out, graph: None)  # no SageMaker here
    monkeypatch.setattr(forgotten, "after_up", lambda *args: None)  # nor for the retained model and config
    before = without_capture()
    (tmp_path / "mlsystem.yaml").write_text(_without_serving(before), encoding="utf-8")
    (tmp_path / "prior.json").write_text(dumps(applied_state(graph_of(before, "staging"))), encoding="utf-8")
    result = run_cli("apply", str(tmp_path / "mlsystem.yaml"), "--env", "staging", "--state",
                     str(tmp_path / "prior.json"), "--yes", "--stack-dir", str(tmp_path / "stack"))
    assert result.code == 0 and "are blocked" not in result.stderr, result.output
    assert "- rollout-runner (aws:lambda/function:Function)" in result.stdout and len(calls) == 1
    assert "capture-bucket" not in {r.name for r in graph_of(before, "staging").resources}  # never desired


def test_removing_the_last_capturing_endpoint_lists_only_the_capture_urns(tmp_path, calls):
    """closing-32b-2 (a): the platform item also deletes the rollout runner, which the state delete
    must not drop (it would run unmanaged every minute); and the endpoint configs that captured depend on
    the capture bucket in the state, so the line is preceded by the order and the capture note."""
    prior = dumps(applied_state(graph_of(REFERENCE_TEXT, "staging")))
    desired = _without_serving(REFERENCE_TEXT)
    (tmp_path / "mlsystem.yaml").write_text(desired, encoding="utf-8")
    (tmp_path / "prior.json").write_text(prior, encoding="utf-8")
    result = run_cli("apply", str(tmp_path / "mlsystem.yaml"), "--env", "staging", "--state",
                     str(tmp_path / "prior.json"), "--yes", "--stack-dir", str(tmp_path / "stack"))
    assert result.code == 1 and "Traceback" not in result.output and calls == []
    [urns] = _state_delete_lines(result.stderr)
    assert sorted(u.rsplit("::", 1)[1] for u in urns) == [
        "capture-bucket", "capture-encryption", "capture-lifecycle", "capture-public-access-block",
        "capture-tls-only", "capture-versioning"]
    _check_refusal(result.stderr, _plan_of(desired, "staging", prior), prior)
    assert "  platform: " in result.stderr and "so the state delete fails now" in result.stderr and "scorer-endpoint-config" in result.stderr
    assert "copy them out (`aws s3 sync`)" in result.stderr
