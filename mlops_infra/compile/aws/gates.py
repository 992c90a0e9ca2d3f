"""Retrain gates (finding B11.2): a training job's triggers start its pipeline through a Lambda that
starts a run only when none is active, so a trigger fires at most once while a run is active, as on
the Kubernetes target (its launcher skips while a run is active).

Contract of :func:`add_gate` (one per training job with triggers), under the job's component:
- a log group ``/aws/lambda/<function>`` (30 days), a role for ``lambda.amazonaws.com`` allowing
  exactly ``sagemaker:ListPipelineExecutions`` and ``sagemaker:StartPipelineExecution`` on the job's
  pipeline and writing its own logs;
- the function (python3.12, arm64, ``retrain_gate.handler``, the source of :mod:`retrain_gate`) with
  ``PIPELINE_NAME`` and ``reservedConcurrentExecutions: 1``: Lambda then runs at most one invocation
  at a time ("Configuring reserved concurrency",
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so the check and the
  start of two triggers never interleave.
Schedules invoke it as the scheduler role (which may invoke the gates, ``platform.py``; EventBridge
Scheduler needs no resource policy on the function for that); alarm rules invoke it through a
``lambda:InvokeFunction`` permission for ``events.amazonaws.com`` scoped to the rule.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from mlops_infra.compile.aws import iam, lambdas, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import ResourceOptions, archive, ref

PERMISSION = "aws:lambda/permission:Permission"


@cache
def gate_source() -> str:
    """The retrain gate's source text (a file shipped in this package), read once per process (as
    ``alerting.forwarder_source``): every training job with triggers ships it."""
    return resources.files("mlops_infra.compile.aws").joinpath("retrain_gate.py").read_text(encoding="utf-8")


def add_gate(aws: AwsContext, job: str, pipeline: str, pipeline_name: str, *, parent: str, address: str) -> str:
    """The retrain gate of training job ``job`` starting ``pipeline``; returns the function URN."""
    spec = iam.RoleSpec(f"{job}-gate", ("retrain", job), ("lambda.amazonaws.com",),
                        f"Starts training job {job}'s pipeline unless a run of it is active.")
    function, _ = lambdas.add_function(aws, f"{job}-gate", aws.name("retrain", job, max_len=64), spec, [
        policies.allow("StartOneRunAtATime", ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
                       [ref(pipeline, "arn")]),
    ], {
        "description": f"mlops-infra: starts {pipeline_name} unless a run of it is active",
        "handler": "retrain_gate.handler", "code": archive({"retrain_gate.py": gate_source()}),
        "timeout": 30, "memorySize": 128, "reservedConcurrentExecutions": 1,
        "environment": {"variables": {"PIPELINE_NAME": pipeline_name}},
    }, parent=parent, address=address, role="retrain-gate", log_role="log-group")
    aws.gates.append(function)
    return function


def allow_rule(aws: AwsContext, logical: str, function: str, rule: str, *, parent: str, address: str) -> str:
    """The permission letting EventBridge rule ``rule`` invoke the gate."""
    return aws.add(PERMISSION, f"{logical}-invoke", {
        "action": "lambda:InvokeFunction", "function": ref(function, "name"), "principal": "events.amazonaws.com",
        "sourceArn": ref(rule, "arn"), "statementId": f"Allow-{logical}"[:100],
    }, parent=parent, address=address, role="function-permission",
        options=ResourceOptions(delete_before_replace=True))
