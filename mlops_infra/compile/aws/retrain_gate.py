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
- it lists the pipeline's most recent executions (``ListPipelineExecutions`` sorted by
  ``CreationTime``, newest first) and, when one is ``Executing`` or ``Stopping``, starts nothing and
  says which; otherwise it starts one (``StartPipelineExecution`` with the ``TriggeredBy``
  parameter).

**Two triggers at once start one run, without a lock.** Lambda runs invocations of one function
side by side, so two triggers can both list no active run. The gate does not serialise them (a
reserved concurrency of 1 did, until a new AWS account, which keeps all of its reduced concurrency
unreserved, refused the reservation and so the first ``pulumi up``: see :mod:`gates`). It makes
their starts the same request instead: ``StartPipelineExecution``'s ``ClientRequestToken`` is "A
unique, case-sensitive identifier that you provide to ensure the idempotency of the operation. An
idempotent operation completes no more than once" (SageMaker API reference,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html; botocore
``IdempotencyToken``: 32 to 128 characters). :func:`request_token` derives it from what the gate
saw: the pipeline (its name and ``CreationTime``, from ``DescribePipeline``: a pipeline deleted and
created again under the same name is a new one) and the newest execution listed (its ARN, which
ends in an id SageMaker draws for each execution). Two triggers that saw the same history send the
same token, so at most one run starts; once it is listed, the next trigger sees a new newest
execution, so a new token. A listing that lags a start (the token of the older history) meets the
same token again and starts nothing either. What SageMaker answers the second of two equal tokens
with different parameters (``TriggeredBy``) is not documented: when the start fails and a newer
execution than the one the gate saw is now listed, the gate reports that run as started by a
concurrent trigger instead of failing; any other failure is raised.

**A raised failure is retried by Lambda, not by EventBridge.** Schedules and alarm rules invoke the
gate asynchronously: their retry policies (botocore ``scheduler`` ``RetryPolicy``, ``events``
``Target.RetryPolicy``) cover the delivery of the event to Lambda, which accepts it at once; a
function error is Lambda's to retry, "two more times, with a one-minute wait between the first two
attempts, and two minutes between the second and third", after which the event is discarded unless
a destination keeps it ("How Lambda handles errors and retries with asynchronous invocation",
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). Three minutes
heal a throttled call (``ThrottlingException``; botocore's own retries come first), but not
``ResourceLimitExceeded`` from ``StartPipelineExecution`` (SageMaker's quota on concurrent pipeline
executions of the account: the other pipelines' runs hold it for hours), and a longer
``maximumEventAgeInSeconds`` does not help: it bounds how long an event may wait in Lambda's queue
(throttled invocations, Lambda's own errors), not how often a function error is retried (at most 2,
botocore ``PutFunctionEventInvokeConfig``). So the gate's failed event is kept in its failure queue
(14 days) and its Errors alarm tells the job's people (``compile/aws/lambda_failures.py``,
``gates.py``); a redrive sends the record's ``requestPayload`` to the gate again, which still starts
nothing while a run is active.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from botocore.exceptions import ClientError

ACTIVE = ("Executing", "Stopping")
"""Pipeline execution statuses of a run still going (botocore ``PipelineExecutionStatus``)."""
RECENT = 20


def triggered_by(event: dict[str, Any]) -> str:
    """``schedule``, ``alert:<alarm name>`` or ``manual``: the pipeline's TriggeredBy parameter."""
    if isinstance(event.get("triggeredBy"), str):
        return event["triggeredBy"][:256]
    alarm = (event.get("detail") or {}).get("alarmName")
    return f"alert:{alarm}"[:256] if alarm else "manual"


def request_token(pipeline: str, created: Any, newest: str | None) -> str:
    """The ``ClientRequestToken`` of the run that follows execution ``newest`` (None: the pipeline's
    first) of the pipeline ``pipeline`` created at ``created``: 64 hex characters (module contract)."""
    return hashlib.sha256(f"{pipeline}\n{created}\n{newest or ''}".encode()).hexdigest()


def recent_executions(client: Any, pipeline: str) -> list[dict[str, Any]]:
    """The pipeline's :data:`RECENT` newest execution summaries, newest first."""
    return client.list_pipeline_executions(PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending",
                                           MaxResults=RECENT).get("PipelineExecutionSummaries") or []


def _newest(executions: list[dict[str, Any]]) -> str | None:
    return executions[0]["PipelineExecutionArn"] if executions else None


def handler(event: dict[str, Any], context: Any = None, client: Any = None) -> dict[str, Any]:
    """Start the pipeline unless a run of it is active (see the module contract)."""
    if client is None:
        import boto3  # available in the Lambda runtime; imported here so tests can pass a client

        client = boto3.client("sagemaker")
    pipeline = os.environ["PIPELINE_NAME"]
    reason = triggered_by(event)
    recent = recent_executions(client, pipeline)
    active = [e["PipelineExecutionArn"] for e in recent if e.get("PipelineExecutionStatus") in ACTIVE]
    if active:
        print(f"{pipeline}: run {active[0]} is still active; not starting another ({reason})", flush=True)
        return {"started": None, "active": active[0], "triggeredBy": reason}
    seen = _newest(recent)
    created = client.describe_pipeline(PipelineName=pipeline)["CreationTime"]
    try:
        started = client.start_pipeline_execution(
            PipelineName=pipeline, ClientRequestToken=request_token(pipeline, created, seen),
            PipelineParameters=[{"Name": "TriggeredBy", "Value": reason}])["PipelineExecutionArn"]
    except ClientError as error:
        newer = _newest(recent_executions(client, pipeline))
        if newer is None or newer == seen:
            raise
        print(f"{pipeline}: a concurrent trigger started {newer}; not starting another ({reason}; "
              f"{error.response.get('Error', {}).get('Code', 'error')})", flush=True)
        return {"started": None, "active": newer, "triggeredBy": reason}
    print(f"{pipeline}: started {started} ({reason})", flush=True)
    return {"started": started, "active": None, "triggeredBy": reason}
