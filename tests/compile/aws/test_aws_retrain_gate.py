"""The retrain gate (finding B11.2): a training job's triggers start at most one run at a time.

SageMaker Pipelines does not limit concurrent executions of a pipeline (botocore
``ParallelismConfiguration`` bounds the steps of one execution), and EventBridge starts a target on
every ALARM transition; the Kubernetes launcher starts a run only when none is active. The gate gives
AWS that meaning. Its calls are checked against botocore's SageMaker service model (``Stubber``
validates every request and response shape) and run for real against a moto server on 127.0.0.1.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY, Stubber

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
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", _listed(*statuses), LIST)
        stub.add_response("start_pipeline_execution", {"PipelineExecutionArn": ARN},
                          {"PipelineName": PIPELINE, "ClientRequestToken": ANY,
                           "PipelineParameters": [{"Name": "TriggeredBy", "Value": "schedule"}]})
        assert retrain_gate.handler({"triggeredBy": "schedule"}, client=client)["started"] == ARN
        stub.assert_no_pending_responses()


@pytest.mark.moto
def test_the_gate_starts_the_pipeline_on_a_moto_server(moto_url, monkeypatch):
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    client = shared_session().client("sagemaker", endpoint_url=moto_url)
    client.create_pipeline(PipelineName=PIPELINE, RoleArn="arn:aws:iam::123456789012:role/pipelines",
                           PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
    started = retrain_gate.handler({"triggeredBy": "schedule"}, client=client)["started"]
    (execution,) = client.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionArn"] == started


def test_every_trigger_of_a_training_job_goes_through_its_gate():
    """The reference's retrain has a schedule and an alert trigger: both invoke the gate, which runs
    one invocation at a time (reserved concurrency 1) and may only list and start its own pipeline."""
    graph = compiled(REFERENCE, "prod")
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")
    assert gate.inputs["reservedConcurrentExecutions"] == 1
    assert gate.inputs["environment"]["variables"]["PIPELINE_NAME"] == PIPELINE
    schedules = [s for s in of_type(graph, "aws:scheduler/schedule:Schedule") if s.address == "training_jobs.retrain"]
    assert schedules and all(s.inputs["target"]["arn"]["$ref"] == gate.urn for s in schedules)
    assert all(json.loads(s.inputs["target"]["input"]) == {"triggeredBy": "schedule"} for s in schedules)
    (target,) = [t for t in of_type(graph, "aws:cloudwatch/eventTarget:EventTarget") if t.address == "training_jobs.retrain"]
    assert target.inputs["arn"]["$ref"] == gate.urn
    assert json.loads(target.inputs["input"]) == {"triggeredBy": "alert:fraud-drift"}
    (permission,) = [p for p in of_type(graph, "aws:lambda/permission:Permission") if p.address == "training_jobs.retrain"]
    assert permission.inputs["principal"] == "events.amazonaws.com"
    (policy,) = [p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p.name == "retrain-gate-policy"]
    (start,) = [s for s in policy.inputs["policy"]["$json"]["Statement"] if s["Sid"] == "StartOneRunAtATime"]
    assert start["Action"] == ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"]
    assert start["Resource"] == [{"$ref": one(graph, "aws:sagemaker/pipeline:Pipeline", "training_jobs.retrain").urn,
                                  "output": "arn"}]
