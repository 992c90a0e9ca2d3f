"""SageMaker limits the compiled schedules and training jobs meet at run time (plan/quotas.py, audit scale45).

scale45-1: the pipelines the graph's schedules start at once (one cron minute; the rate schedules one ``up``
creates) against "Maximum number of concurrent pipeline executions allowed per account" (20): 21 drift
monitors on ``rate(1 hour)``, or 21 training jobs on one cron through their retrain gates, warn; 20 do not,
nor do crons of different minutes; rate schedules of one ``up`` are one group whatever their intervals
(closing-45b-1). With ``--refresh`` the account's applied value decides. scale45-2: a Training step's
``InstanceCount`` against "Maximum number of instances per [spot] training job" (20). The reference and
the examples stay quiet; the reference with ``nodes: 24`` warns through ``plan``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.graph import DesiredGraph, DesiredResource, json_of, make_urn
from mlops_infra.plan.quotas import (
    CONCURRENT_EXECUTIONS,
    PER_JOB,
    execution_warnings,
    per_job_warnings,
    pipeline_starts,
    quota_warnings,
    sagemaker_limit_warnings,
)
from tests.support.cli import run_cli
from tests.support.shared_files import reference_at_nodes

AWS = {"cloud": "aws", "region": "eu-west-1", "account": "222222222222"}
SCHEDULE, PIPELINE, FUNCTION = ("aws:scheduler/schedule:Schedule", "aws:sagemaker/pipeline:Pipeline",
                                "aws:lambda/function:Function")
RETRY = {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}


def _resource(type_: str, name: str, address: str, inputs: dict) -> DesiredResource:
    return DesiredResource(urn=make_urn("prod", "q", [type_], name), type=type_, name=name, custom=True, parent=None,
                           inputs=inputs, address=address)


def _steps(nodes: int = 1, spot: bool = False) -> dict:
    return json_of({"Version": "2020-12-01", "Steps": [{"Name": "train", "Type": "Training", "Arguments": {
        "ResourceConfig": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": nodes, "VolumeSizeInGB": 100},
        **({"EnableManagedSpotTraining": True} if spot else {})}}]})


def _drift(name: str, expression: str, *, dlq: bool = False) -> list[DesiredResource]:
    """A drift monitor as compiled: a pipeline its schedule starts itself."""
    pipeline = _resource(PIPELINE, f"{name}-pipeline", f"monitors.{name}",
                         {"pipelineName": f"m-{name}", "pipelineDefinition": "{}"})
    target = {"arn": {"$ref": pipeline.urn, "output": "arn"}, "retryPolicy": dict(RETRY),
              "sagemakerPipelineParameters": {"pipelineParameters": []},
              **({"deadLetterConfig": {"arn": "arn:aws:sqs:eu-west-1:222222222222:dlq"}} if dlq else {})}
    return [pipeline, _resource(SCHEDULE, f"{name}-schedule", f"monitors.{name}",
                                {"scheduleExpression": expression, "target": target})]


def _training(name: str, expression: str, nodes: int = 2, spot: bool = False) -> list[DesiredResource]:
    """A training job as compiled: its schedule invokes the retrain gate, which starts the pipeline by name."""
    pipeline = _resource(PIPELINE, f"{name}-pipeline", f"training_jobs.{name}",
                         {"pipelineName": f"t-{name}", "pipelineDefinition": _steps(nodes, spot)})
    gate = _resource(FUNCTION, f"{name}-gate", f"training_jobs.{name}",
                     {"environment": {"variables": {"PIPELINE_NAME": f"t-{name}"}}})
    target = {"arn": {"$ref": gate.urn, "output": "arn"}, "input": '{"triggeredBy": "schedule"}',
              "retryPolicy": dict(RETRY)}
    return [pipeline, gate, _resource(SCHEDULE, f"{name}-schedule", f"training_jobs.{name}",
                                      {"scheduleExpression": expression, "target": target})]


def _graph(*items: list[DesiredResource], metadata: dict | None = None) -> DesiredGraph:
    made = tuple(sorted((r for item in items for r in item), key=lambda r: r.urn))
    return DesiredGraph("q", "prod", made, {}, dict(AWS if metadata is None else metadata), {})


def _monitors(count: int, expression: str = "rate(1 hour)", prefix: str = "d", **kw) -> list[list[DesiredResource]]:
    return [_drift(f"{prefix}{i:02d}", expression, **kw) for i in range(count)]


def test_twenty_one_hourly_drift_monitors_pass_the_concurrent_executions_and_twenty_do_not() -> None:
    assert execution_warnings(_graph(*_monitors(20))) == []
    (warning,) = execution_warnings(_graph(*_monitors(21)))
    assert warning.startswith("SageMaker quota: 21 pipelines start at once (monitors.d00, monitors.d01, ")
    assert "and 15 more): their rate(1 hour) schedules, created by one `pulumi up` without a start date" in warning
    assert ("a new AWS account allows 20 ('Maximum number of concurrent pipeline executions allowed per account', "
            "Service Quotas L-F88776CD), unless the quota of account 222222222222 in eu-west-1 was raised") in warning
    assert "Each start past 20 fails at StartPipelineExecution (ResourceLimitExceeded)" in warning
    # what happens to the refused start is read from the schedule's target as compiled
    assert ("EventBridge Scheduler retries the start 2 times within 3,600 s, then drops it (the schedule has no "
            "dead-letter queue: the run never happens)") in warning
    assert "--quota-code L-F88776CD`, field Adjustable), or run fewer drift monitors" in warning
    (kept,) = execution_warnings(_graph(*_monitors(21, dlq=True)))
    assert "retries the start 2 times within 3,600 s, then hands it to its dead-letter queue." in kept
    (mixed,) = execution_warnings(_graph(*_monitors(11), *_monitors(10, prefix="k", dlq=True)))
    assert "retries the start 2 times within 3,600 s, then hands it to its dead-letter queue where it has one" in mixed


def test_training_jobs_on_one_cron_start_through_their_gates_in_the_same_minute() -> None:
    monday = "cron(0 3 ? * MON *)"
    assert execution_warnings(_graph(*[_training(f"t{i:02d}", monday) for i in range(20)])) == []
    (warning,) = execution_warnings(_graph(*[_training(f"t{i:02d}", monday) for i in range(21)]))
    assert warning.startswith("SageMaker quota: 21 pipelines start at once (training_jobs.t00, ")
    assert f"their schedule {monday} (UTC) starts them in the same minute" in warning
    assert "a retrain gate whose start is refused fails: Lambda retries it twice, then keeps the event" in warning
    assert "or give the training jobs' schedules different minutes (stagger the crons)." in warning
    staggered = [_training(f"t{i:02d}", monday if i % 2 else "cron(30 3 ? * MON *)") for i in range(21)]
    assert execution_warnings(_graph(*staggered)) == []


def test_rate_schedules_of_one_up_start_together_whatever_their_intervals() -> None:
    """Each fires at its creation and then every interval: 30 min and 1 h meet every hour, 90 min and 1 h every 3 h
    (audit closing-45b-1: the test asserted before that 90 min and 1 h never meet, which the cited rule contradicts)."""
    together = _graph(*_monitors(11, "rate(30 minutes)", "h"), *_monitors(10, "rate(1 hour)"))
    (group,) = pipeline_starts(together)
    assert (group.when, group.count) == ("rate(30 minutes) and rate(1 hour)", 21)
    assert len(execution_warnings(together)) == 1
    common_multiple = _graph(*_monitors(11, "rate(90 minutes)", "n"), *_monitors(10, "rate(1 hour)"))
    assert [(g.when, g.count) for g in pipeline_starts(common_multiple)] == [("rate(1 hour) and rate(90 minutes)", 21)]
    (warning,) = execution_warnings(common_multiple)
    assert "and again at every common multiple of their intervals" in warning  # review45-b-4: "every interval"


def test_a_cron_and_a_rate_are_separate_groups_and_other_targets_start_no_pipeline() -> None:
    runner = _resource(FUNCTION, "runner", "platform", {"environment": {"variables": {}}})
    tick = _resource(SCHEDULE, "runner-schedule", "platform", {"scheduleExpression": "rate(1 minute)", "target": {
        "arn": {"$ref": runner.urn, "output": "arn"}}})
    graph = _graph(*_monitors(15), *[_training(f"t{i}", "cron(0 3 * * ? *)") for i in range(15)], [runner, tick])
    assert sorted((g.when, g.count, len(g.gated)) for g in pipeline_starts(graph)) == [
        ("cron(0 3 * * ? *)", 15, 15), ("rate(1 hour)", 15, 0)]
    assert execution_warnings(graph) == []


def test_with_refresh_the_accounts_applied_value_decides() -> None:
    graph = _graph(*_monitors(21))
    assert execution_warnings(graph, {CONCURRENT_EXECUTIONS: 50.0}) == []
    (warning,) = execution_warnings(_graph(*_monitors(11)), {CONCURRENT_EXECUTIONS: 10.0})
    assert ("'Maximum number of concurrent pipeline executions allowed per account' is 10 in account 222222222222 "
            "in eu-west-1 (Service Quotas L-F88776CD). Each start past 10 fails") in warning
    # A table without the quota's name (renamed, or another region's list) is judged by the default, saying so
    # (audit closing-45b-4: this asserted no warning at all before, so --refresh checked nothing).
    (default,) = execution_warnings(graph, {"ml.m5.large for processing job usage": 4.0})
    assert ("a new AWS account allows 20 ('Maximum number of concurrent pipeline executions allowed per account', "
            "Service Quotas L-F88776CD), unless the quota of account 222222222222 in eu-west-1 was raised (the Service "
            "Quotas list of account 222222222222 in eu-west-1 names no 'Maximum number of concurrent pipeline "
            "executions allowed per account')") in default
    (job,) = per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24)), {"unrelated": 1.0})
    assert "a new AWS account allows 20 ('Maximum number of instances per training job'" in job


def test_a_training_job_past_the_instances_per_job_warns_on_its_own_quota() -> None:
    assert per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=20))) == []
    (warning,) = per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24)))
    assert warning.startswith("SageMaker quota: every run of training_jobs.big asks 24 instances "
                              "(ResourceConfig.InstanceCount, its nodes) for one training job; a new AWS account "
                              "allows 20 ('Maximum number of instances per training job', Service Quotas L-622CFD70)")
    assert "expect CreateTrainingJob to refuse the run" in warning and warning.endswith("lower nodes to at most 20.")
    (spot,) = per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24, spot=True)))
    assert "for one spot training job; a new AWS account allows 20 ('Maximum number of instances per spot " in spot
    applied = {PER_JOB["training job"]: 32.0, PER_JOB["spot training job"]: 16.0}
    assert per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24)), applied) == []
    (low,) = per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24, spot=True)), applied)
    assert "'Maximum number of instances per spot training job' is 16 in account 222222222222" in low
    (unlisted,) = per_job_warnings(_graph(_training("big", "cron(0 3 * * ? *)", nodes=24)), {})  # closing-45b-4
    assert "names no 'Maximum number of instances per training job'" in unlisted  # was: no warning


def test_the_plans_quota_warnings_carry_the_limits_unless_the_caller_judges_them_itself() -> None:
    graph = _graph(*_monitors(21), _training("big", "cron(0 3 * * ? *)", nodes=24))
    assert quota_warnings(graph) == sagemaker_limit_warnings(graph) and len(quota_warnings(graph)) == 2
    assert quota_warnings(graph, sagemaker_limits=False) == []


def test_a_kubernetes_graph_and_the_examples_meet_no_limit() -> None:
    from tests.compile.aws.cases import CASES, compiled

    assert sagemaker_limit_warnings(_graph(*_monitors(30), metadata={"cloud": "kubernetes"})) == []
    for _, path, env in CASES:
        assert sagemaker_limit_warnings(compiled(path, env)) == [], (path, env)


@pytest.fixture
def nodes24(tmp_path: Path) -> Path:
    """The reference with the GPU cluster and its training job at 24 nodes (audit scale45-2's reproduction)."""
    return reference_at_nodes(tmp_path, 24)


def test_plan_warns_about_a_24_node_training_job(nodes24: Path) -> None:
    data = json.loads(run_cli("plan", str(nodes24), "--env", "prod", "--format", "json").stdout)
    (warning,) = [w for w in data["warnings"] if w.startswith("SageMaker quota:")]
    assert "every run of training_jobs.retrain asks 24 instances" in warning
