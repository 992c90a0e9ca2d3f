"""Retrain gate: the source of the Lambda that starts a training pipeline at most once at a time.

This file is shipped as the Lambda's code (``retrain_gate.handler``, python3.12); the compiler reads
its text (:mod:`mlops_infra.compile.aws.gates`), mlops-infra never imports it at compile time.

Why (finding B11.2): SageMaker Pipelines has no limit on concurrent executions of one pipeline
(``ParallelismConfiguration`` bounds the steps of one execution only: "The max number of steps that
can be executed in parallel", botocore ``ParallelismConfiguration.MaxParallelExecutionSteps``), and
EventBridge starts a target on every ALARM transition, so a flapping alarm, or an alarm and the
schedule together, would start overlapping runs. The Kubernetes target starts a run only when none
is active (``compile/kubernetes/scripts/launcher.py``); this gate gives AWS the same meaning.

Contract of :func:`handler`:
- configuration: ``PIPELINE_NAME`` (environment);
- the event is the constant input its triggers send, ``{"triggeredBy": "schedule"}`` (the
  schedule) or ``{"triggeredBy": "alert:<alert>"}`` (the alarm rule's target); a raw "CloudWatch
  Alarm State Change" event (``alert:<alarm name>``) and anything else (``manual``) work too;
- it lists the pipeline's most recent executions (``ListPipelineExecutions``, newest first) and,
  when one is ``Executing`` or ``Stopping``, starts nothing and says which; otherwise it starts one
  (``StartPipelineExecution`` with the ``TriggeredBy`` parameter). The function runs with a reserved
  concurrency of 1, so two triggers never check and start at the same time.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

ACTIVE = ("Executing", "Stopping")
"""Pipeline execution statuses of a run still going (botocore ``PipelineExecutionStatus``)."""
RECENT = 20


def triggered_by(event: dict[str, Any]) -> str:
    """``schedule``, ``alert:<alarm name>`` or ``manual``: the pipeline's TriggeredBy parameter."""
    if isinstance(event.get("triggeredBy"), str):
        return event["triggeredBy"][:256]
    alarm = (event.get("detail") or {}).get("alarmName")
    return f"alert:{alarm}"[:256] if alarm else "manual"


def handler(event: dict[str, Any], context: Any = None, client: Any = None) -> dict[str, Any]:
    """Start the pipeline unless a run of it is active (see the module contract)."""
    if client is None:
        import boto3  # available in the Lambda runtime; imported here so tests can pass a client

        client = boto3.client("sagemaker")
    pipeline = os.environ["PIPELINE_NAME"]
    reason = triggered_by(event)
    recent = client.list_pipeline_executions(PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending",
                                             MaxResults=RECENT).get("PipelineExecutionSummaries") or []
    active = [e["PipelineExecutionArn"] for e in recent if e.get("PipelineExecutionStatus") in ACTIVE]
    if active:
        print(f"{pipeline}: run {active[0]} is still active; not starting another ({reason})", flush=True)
        return {"started": None, "active": active[0], "triggeredBy": reason}
    started = client.start_pipeline_execution(
        PipelineName=pipeline, ClientRequestToken=uuid.uuid4().hex,
        PipelineParameters=[{"Name": "TriggeredBy", "Value": reason}])["PipelineExecutionArn"]
    print(f"{pipeline}: started {started} ({reason})", flush=True)
    return {"started": started, "active": None, "triggeredBy": reason}
