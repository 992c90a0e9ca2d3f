"""The retrain gate (finding B11.2): a training job's triggers start at most one run at a time.

SageMaker Pipelines does not limit concurrent executions of a pipeline (botocore
``ParallelismConfiguration`` bounds the steps of one execution), and EventBridge starts a target on
every ALARM transition; the Kubernetes launcher starts a run only when none is active. The gate gives
AWS that meaning. Its calls are checked against botocore's SageMaker service model (``Stubber``
validates every request and response shape) and run for real against a moto server on 127.0.0.1.

Two triggers at once: the gate reserves no concurrency (a new AWS account refuses the reservation),
so two invocations can both list no active run. They send the same idempotency token, derived from
the history they saw, and ``StartPipelineExecution`` "completes no more than once" with it. The
moto server does that (patch 12) and lists newest first (patch 11), each with a test of its own
here; the race itself is forced: every invocation lists before any starts.
"""

from __future__ import annotations

import datetime
import json
import threading

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlops_infra.compile.aws import retrain_gate
from tests.compile.aws.cases import REFERENCE, compiled, of_type, one
from tests.support import fixtures
from tests.support.moto_server import DUMMY_CREDENTIALS, REGION, shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
PIPELINE = "fraud-detection-prod-train-retrain"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/abc123def456"
ALARM_EVENT = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
               "detail": {"alarmName": "fraud-detection-prod-fraud-drift", "state": {"value": "ALARM"}}}


def _client():
    import boto3

    return boto3.client("sagemaker", region_name=REGION, **DUMMY_CREDENTIALS)


def _listed(*statuses: str) -> dict:
    return {"PipelineExecutionSummaries": [{"PipelineExecutionArn": f"{ARN}{i}", "PipelineExecutionStatus": s}
                                           for i, s in enumerate(statuses)]}


LIST = {"PipelineName": PIPELINE, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": retrain_gate.RECENT}
CREATED = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.UTC)
DESCRIBED = {"PipelineArn": f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}", "CreationTime": CREATED}


def _started(token: str, reason: str = "schedule") -> dict:
    return {"PipelineName": PIPELINE, "ClientRequestToken": token,
            "PipelineParameters": [{"Name": "TriggeredBy", "Value": reason}]}


def test_an_active_run_means_no_new_run(monkeypatch):
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", _listed("Executing", "Succeeded"), LIST)
        result = retrain_gate.handler(ALARM_EVENT, client=client)
        stub.assert_no_pending_responses()
    assert result == {"started": None, "active": f"{ARN}0", "triggeredBy": "alert:fraud-detection-prod-fraud-drift"}


@pytest.mark.parametrize("statuses", [(), ("Succeeded", "Failed", "Stopped")])
def test_with_no_active_run_one_run_starts_saying_why(monkeypatch, statuses):
    """The token is the one :func:`retrain_gate.request_token` derives from the pipeline's creation
    time and the newest execution listed (none: the pipeline's first run)."""
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _client()
    newest = f"{ARN}0" if statuses else None
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", _listed(*statuses), LIST)
        stub.add_response("describe_pipeline", DESCRIBED, {"PipelineName": PIPELINE})
        stub.add_response("start_pipeline_execution", {"PipelineExecutionArn": ARN},
                          _started(retrain_gate.request_token(PIPELINE, CREATED, newest)))
        assert retrain_gate.handler({"triggeredBy": "schedule"}, client=client)["started"] == ARN
        stub.assert_no_pending_responses()


def test_the_token_names_the_history_the_gate_saw():
    """The same history gives the same token; a new newest execution, or the pipeline created again
    under its name (another ``CreationTime``), a new one; 64 characters, within botocore
    ``IdempotencyToken``'s 32 to 128."""
    token = retrain_gate.request_token(PIPELINE, CREATED, f"{ARN}0")
    assert token == retrain_gate.request_token(PIPELINE, CREATED, f"{ARN}0") and len(token) == 64
    others = {retrain_gate.request_token(PIPELINE, CREATED, f"{ARN}1"), retrain_gate.request_token(PIPELINE, CREATED, None),
              retrain_gate.request_token(PIPELINE, CREATED + datetime.timedelta(seconds=1), f"{ARN}0"),
              retrain_gate.request_token(PIPELINE + "-2", CREATED, f"{ARN}0")}
    assert token not in others and len(others) == 4
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("IdempotencyToken")
    assert shape.metadata["min"] <= len(token) <= shape.metadata["max"]


@pytest.mark.parametrize("code", ["ConflictException", "ValidationException"])
def test_a_start_refused_after_a_concurrent_start_reports_that_run(monkeypatch, code):
    """What SageMaker answers the second of two equal tokens with other parameters is not documented:
    when the start fails and a newer execution than the one seen is listed, that run is reported."""
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _client()
    token = retrain_gate.request_token(PIPELINE, CREATED, f"{ARN}0")
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", _listed("Succeeded"), LIST)
        stub.add_response("describe_pipeline", DESCRIBED, {"PipelineName": PIPELINE})
        stub.add_client_error("start_pipeline_execution", code, "token in use", 400,
                              expected_params=_started(token, "alert:fraud-detection-prod-fraud-drift"))
        stub.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": [
            {"PipelineExecutionArn": f"{ARN}9", "PipelineExecutionStatus": "Executing"},
            {"PipelineExecutionArn": f"{ARN}0", "PipelineExecutionStatus": "Succeeded"}]}, LIST)
        result = retrain_gate.handler(ALARM_EVENT, client=client)
        stub.assert_no_pending_responses()
    assert result == {"started": None, "active": f"{ARN}9", "triggeredBy": "alert:fraud-detection-prod-fraud-drift"}


def test_a_start_refused_with_nothing_newer_is_raised(monkeypatch):
    """Any other failure is the invocation's: Lambda reports it and EventBridge retries."""
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", _listed("Failed"), LIST)
        stub.add_response("describe_pipeline", DESCRIBED, {"PipelineName": PIPELINE})
        stub.add_client_error("start_pipeline_execution", "ResourceLimitExceeded", "too many", 400)
        stub.add_response("list_pipeline_executions", _listed("Failed"), LIST)
        with pytest.raises(ClientError, match="ResourceLimitExceeded"):
            retrain_gate.handler({"triggeredBy": "schedule"}, client=client)


def _pipeline(moto_url: str, name: str = PIPELINE):
    client = shared_session().client("sagemaker", endpoint_url=moto_url)
    client.create_pipeline(PipelineName=name, RoleArn="arn:aws:iam::123456789012:role/pipelines",
                           PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
    return client


@pytest.mark.moto
def test_the_gate_starts_the_pipeline_on_a_moto_server(moto_url, monkeypatch):
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _pipeline(moto_url)
    started = retrain_gate.handler({"triggeredBy": "schedule"}, client=client)["started"]
    (execution,) = client.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionArn"] == started


@pytest.mark.moto
def test_the_stand_in_lists_newest_first_in_pages(moto_url):
    """Patch 11: ``ListPipelineExecutions`` honours ``SortBy``, ``SortOrder``, ``MaxResults`` and
    ``NextToken`` (botocore ``ListPipelineExecutionsRequest``); moto lists in start order, all at once."""
    client = _pipeline(moto_url)
    arns = [client.start_pipeline_execution(PipelineName=PIPELINE, ClientRequestToken=f"{i:032d}")["PipelineExecutionArn"]
            for i in range(5)]

    def listed(**kwargs):
        return [e["PipelineExecutionArn"] for e in
                client.list_pipeline_executions(PipelineName=PIPELINE, **kwargs)["PipelineExecutionSummaries"]]

    assert listed(SortBy="CreationTime", SortOrder="Descending") == arns[::-1]
    assert listed(SortBy="CreationTime", SortOrder="Ascending") == arns
    assert listed(SortBy="PipelineExecutionArn", SortOrder="Ascending") == sorted(arns)
    page = client.list_pipeline_executions(PipelineName=PIPELINE, SortOrder="Descending", MaxResults=2)
    assert [e["PipelineExecutionArn"] for e in page["PipelineExecutionSummaries"]] == arns[:2:-1][:2]
    rest = client.list_pipeline_executions(PipelineName=PIPELINE, SortOrder="Descending", MaxResults=3,
                                           NextToken=page["NextToken"])
    assert [e["PipelineExecutionArn"] for e in rest["PipelineExecutionSummaries"]] == arns[2::-1]
    assert "NextToken" not in rest


@pytest.mark.moto
def test_the_stand_in_starts_once_per_token(moto_url):
    """Patch 12: a ``ClientRequestToken`` already used for an execution of the pipeline gives that
    execution and starts nothing ("An idempotent operation completes no more than once")."""
    client = _pipeline(moto_url)
    first = client.start_pipeline_execution(PipelineName=PIPELINE, ClientRequestToken="a" * 32)["PipelineExecutionArn"]
    again = client.start_pipeline_execution(PipelineName=PIPELINE, ClientRequestToken="a" * 32,
                                            PipelineParameters=[{"Name": "TriggeredBy", "Value": "other"}])
    other = client.start_pipeline_execution(PipelineName=PIPELINE, ClientRequestToken="b" * 32)["PipelineExecutionArn"]
    assert again["PipelineExecutionArn"] == first and other != first
    assert len(client.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]) == 2


@pytest.mark.moto
def test_triggers_one_after_another_each_start_a_run(moto_url, monkeypatch):
    """moto's executions end at once (``Succeeded``), so no run is ever active: every trigger starts
    one, each with the token of a new history (the newest execution it saw is the last one started)."""
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _pipeline(moto_url)
    started = [retrain_gate.handler({"triggeredBy": f"alert:a{i}"}, client=client)["started"] for i in range(4)]
    assert None not in started and len(set(started)) == 4
    listed = client.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in listed] == started[::-1]


class _ListsThenWaits:
    """A SageMaker client whose first ``list_pipeline_executions`` returns only once every invocation
    has listed: the interleaving a lock used to prevent (two invocations check, then both start)."""

    def __init__(self, client, barrier: threading.Barrier) -> None:
        self._client, self._barrier, self._listed = client, barrier, False

    def __getattr__(self, name):
        return getattr(self._client, name)

    def list_pipeline_executions(self, **kwargs):
        answer = self._client.list_pipeline_executions(**kwargs)
        if not self._listed:
            self._listed = True
            self._barrier.wait(timeout=30)
        return answer


@pytest.mark.moto
@pytest.mark.parametrize("history", [0, 2])
def test_triggers_at_the_same_moment_start_one_run(moto_url, monkeypatch, history):
    """Four invocations (the schedule and three alerts) that all list before any starts: one run starts,
    on a new pipeline and after earlier runs; each invocation returns it, as started or as active."""
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    seed = _pipeline(moto_url)
    for i in range(history):
        retrain_gate.handler({"triggeredBy": f"alert:earlier{i}"}, client=seed)
    reasons = ["schedule", "alert:drift", "alert:latency", "alert:errors"]
    barrier = threading.Barrier(len(reasons))
    clients = [_ListsThenWaits(shared_session().client("sagemaker", endpoint_url=moto_url), barrier) for _ in reasons]
    results: list = [None] * len(reasons)

    def invoke(i: int) -> None:
        results[i] = retrain_gate.handler({"triggeredBy": reasons[i]}, client=clients[i])

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(len(reasons))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    listed = seed.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert len(listed) == history + 1
    newest = listed[0]["PipelineExecutionArn"]
    assert all(r is not None and newest in (r["started"], r["active"]) for r in results), results


def test_every_trigger_of_a_training_job_goes_through_its_gate():
    """The reference's retrain has a schedule and an alert trigger: both invoke the gate, which reserves
    no concurrency (a new account refuses a reservation) and may only describe its own pipeline, list
    its runs and start one."""
    graph = compiled(REFERENCE, "prod")
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")
    assert "reservedConcurrentExecutions" not in gate.inputs
    assert gate.inputs["environment"]["variables"]["PIPELINE_NAME"] == PIPELINE
    schedules = [s for s in of_type(graph, "aws:scheduler/schedule:Schedule") if s.address == "training_jobs.retrain"]
    assert schedules and all(s.inputs["target"]["arn"]["$ref"] == gate.urn for s in schedules)
    assert all(json.loads(s.inputs["target"]["input"]) == {"triggeredBy": "schedule"} for s in schedules)
    (target,) = [t for t in of_type(graph, "aws:cloudwatch/eventTarget:EventTarget")
                 if t.address == "training_jobs.retrain" and t.role == "alert-trigger-target"]  # not training_failures'

    assert target.inputs["arn"]["$ref"] == gate.urn
    assert json.loads(target.inputs["input"]) == {"triggeredBy": "alert:fraud-drift"}
    (permission,) = [p for p in of_type(graph, "aws:lambda/permission:Permission") if p.address == "training_jobs.retrain"]
    assert permission.inputs["principal"] == "events.amazonaws.com"
    (policy,) = [p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p.name == "retrain-gate-policy"]
    (start,) = [s for s in policy.inputs["policy"]["$json"]["Statement"] if s["Sid"] == "StartOneRunAtATime"]
    assert start["Action"] == ["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions",
                               "sagemaker:StartPipelineExecution"]
    assert start["Resource"] == [{"$ref": one(graph, "aws:sagemaker/pipeline:Pipeline", "training_jobs.retrain").urn,
                                  "output": "arn"}]


def test_a_gate_applied_with_a_reservation_is_updated_in_place_to_none(shared_dir):
    """A system applied before this change: its gate reserved 1. The plan updates it in place, nothing
    else changes and nothing is replaced. Without the input the provider sets its default,
    "``-1`` removes any concurrency limitations. Defaults to Unreserved Concurrency Limits ``-1``"
    (pulumi_aws ``lambda.Function`` ``reserved_concurrent_executions``), and a real state file stores
    that ``-1`` for a function without a reservation (fixtures/pulumi/stratify_sample-export.json)."""
    from mlops_infra.compile import compile_system
    from mlops_infra.plan.model import Action
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.spec import load_system
    from mlops_infra.state.pulumi_state import parse_state
    from tests.support.applied_state import applied_state, dumps, edit_resource

    stratify = json.loads((shared_dir / "fixtures/pulumi/stratify_sample-export.json").read_text())
    unreserved = [r["outputs"]["reservedConcurrentExecutions"] for r in stratify["deployment"]["resources"]
                  if r["type"] == "aws:lambda/function:Function"]
    assert unreserved and set(unreserved) == {-1}

    graph = compile_system(load_system(shared_dir / "spec/reference-mlsystem.yaml", "prod").system, "prod")
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")

    def reserved(record):
        for side in ("inputs", "outputs"):
            record[side]["reservedConcurrentExecutions"] = 1

    old = edit_resource(applied_state(graph), lambda r: r["urn"] == gate.urn, reserved)
    plan = make_plan(graph, parse_state(dumps(old), "applied"), options=PlanOptions(estimate_cost=False))
    (change,) = [c for c in plan.changes if c.action is not Action.NOOP]
    assert change.urn == gate.urn and change.action is Action.UPDATE
    assert [(a.path, a.before, a.after, a.forces_replacement) for a in change.changes] == [
        ("reservedConcurrentExecutions", 1, None, False)]
