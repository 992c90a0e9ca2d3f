"""Retrain gates (finding B11.2): a training job's triggers start its pipeline through a Lambda that
starts a run only when none is active, so a trigger fires at most once while a run is active, as on
the Kubernetes target (its launcher skips while a run is active).

Contract of :func:`add_gate` (one per training job with triggers), under the job's component:
- a log group ``/aws/lambda/<function>`` (30 days), a role for ``lambda.amazonaws.com`` allowing
  exactly ``sagemaker:DescribePipeline``, ``sagemaker:ListPipelineExecutions`` and
  ``sagemaker:StartPipelineExecution`` on the job's pipeline and writing its own logs;
- the function (python3.12, arm64, ``retrain_gate.handler``, the source of :mod:`retrain_gate`) with
  ``PIPELINE_NAME``. Two triggers at once start one run through the idempotency of
  ``StartPipelineExecution`` (:mod:`retrain_gate`), not through a lock. **It reserves no
  concurrency.** It used to reserve 1 (``reservedConcurrentExecutions: 1``, so that Lambda ran one
  invocation at a time), and a reservation needs room: Lambda keeps part of the account's
  concurrency unreserved ("You can reserve up to the Unreserved account concurrency value that is
  shown, minus 100", "Configuring reserved concurrency",
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and "New AWS
  accounts have reduced concurrency and memory quotas" ("Lambda quotas"). In such an account
  ``PutFunctionConcurrency`` refuses even 1 ("decreases account's UnreservedConcurrentExecution
  below its minimum value of [...]", a user's report), so the first ``pulumi up`` of any system with
  a triggered training job failed there. A gate applied with the reservation is updated in place:
  without the input the provider sets its default, "``-1`` removes any concurrency limitations"
  (pulumi_aws ``lambda.Function`` ``reserved_concurrent_executions``).
- **The inputs' freshness** (finding contract-2; :mod:`retrain_gate`): ``FRESHNESS``, a JSON
  ``{"owner": <account>, "inputs": [[<data source>, <bucket>, <prefix>, <seconds>], ...]}`` of the
  job's inputs whose data source has ``contract.freshness`` (:func:`freshness_inputs`; the prefix is
  empty: a training channel reads the whole bucket, ``training._channels``), and the role may
  ``s3:ListBucket`` exactly those buckets (``ListObjectsV2``: "You must have permission to perform
  the ``s3:ListBucket`` action", botocore ``s3``; limited to the prefix by an ``s3:prefix`` condition
  when there is one). Listing reads no object, so no ``s3:GetObject`` and no key grant. The timeout is
  :data:`TIMEOUT_SECONDS`, room for the bounded listing (``retrain_gate.LIST_PAGES``). **The
  environment stays within Lambda's 4 KB**: "Function environment variables: 4 KB, for all
  environment variables associated with the function, in aggregate" ("Lambda quotas",
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). An input is at most
  four short fields (names and buckets of at most 63 characters) and a job has at most 20 inputs on
  AWS (``spec.limits.SAGEMAKER_INPUT_CHANNELS_MAX``, refused by validate), under 3 KB (2,978 bytes with 63-character names and 10-digit freshnesses);
  :func:`gate_environment` still measures the variables and refuses more than
  :data:`ENVIRONMENT_BYTES`.
Its failures (retrain_gate.py: a start SageMaker refuses, a stale input) are retried twice by Lambda, then kept
in its failure queue, and its Errors alarm tells the channels of the job's ``on_alerts`` alerts, or
the system's (:mod:`lambda_failures`, :func:`~mlops_infra.spec.lambda_failures.gate_audience`).
Schedules invoke it as the scheduler role (which may invoke the gates, ``platform.py``; EventBridge
Scheduler needs no resource policy on the function for that); alarm rules invoke it through a
``lambda:InvokeFunction`` permission for ``events.amazonaws.com`` scoped to the rule.

**The permissions fit the function's policy.** Each permission is one statement of the function's
resource-based policy, which Lambda caps at 20 KB ("Lambda quotas",
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: "Function resource-based
policy: 20 KB", not adjustable; ``AddPermission`` past it fails with
``PolicyLengthExceededException``, botocore ``lambda``). One statement per (job, alert) rule passes it
at about 50 alerts. :func:`rule_permissions_fit` writes the policy those statements make, as
``GetPolicy`` returns it (the statement layout is inferred from its documented output, so the count
is an estimate; :data:`POLICY_BUDGET` keeps a margin); when it does not fit, the job's rules share
one permission (:func:`allow_rules`) whose ``sourceArn`` is the rules' common name prefix and ``*``:
Lambda writes ``SourceArn`` as an ``ArnLike`` condition, where ``*`` matches any characters
(IAM User Guide, "ARN condition operators"; the pattern AWS documents for API Gateway permissions,
``arn:aws:execute-api:...:api-id/*/GET/path``). It lets any rule of this environment whose name
starts with that prefix invoke the gate, which only a rule that targets the gate does: the job's own.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from mlops_infra.compile.aws import arns, iam, lambda_failures, lambdas, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.naming import common_prefix, short_hash
from mlops_infra.graph import ResourceOptions, archive, ref
from mlops_infra.spec.lambda_failures import gate_audience

PERMISSION = "aws:lambda/permission:Permission"
GATE_ACTIONS = ("sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution")
"""What the gate calls on its pipeline (:func:`retrain_gate.handler`), and all it may call."""
FRESHNESS_ACTIONS = ("s3:ListBucket",)
"""What the gate calls on its inputs' buckets (``ListObjectsV2``), and all it may call there."""
TIMEOUT_SECONDS = 120
"""The gate's timeout: its SageMaker calls and up to ``retrain_gate.LIST_PAGES`` listing pages per input."""
ENVIRONMENT_BYTES = 4 * 1024
"""Lambda's cap on a function's environment variables, keys and values together (module contract)."""
POLICY_BYTES = 20 * 1024
"""Lambda's cap on a function's resource-based policy (module contract)."""
POLICY_BUDGET = POLICY_BYTES * 7 // 8
"""What the compiler lets the rules' statements take of :data:`POLICY_BYTES`: the statement layout is
inferred, not documented, so an eighth is kept spare."""


@cache
def gate_source() -> str:
    """The retrain gate's source text (a file shipped in this package), read once per process (as
    ``alerting.forwarder_source``): every training job with triggers ships it."""
    return resources.files("mlops_infra.compile.aws").joinpath("retrain_gate.py").read_text(encoding="utf-8")


def gate_name(aws: AwsContext, job: str) -> str:
    """The physical name of training job ``job``'s retrain gate."""
    return aws.name("retrain", job, max_len=64)


def freshness_inputs(aws: AwsContext, job: str) -> list[tuple[str, str, str, int]]:
    """``(data source, bucket, prefix, freshness seconds)`` of each input of training job ``job`` whose
    data source has ``contract.freshness``, in the job's order (module contract)."""
    item = aws.ctx.system.item("training_jobs", job)
    out = []
    for name in item.inputs if item else ():
        source = aws.ctx.system.item("data_sources", name)
        if source and source.contract and source.contract.freshness and name in aws.buckets:
            out.append((name, aws.buckets[name], "", int(source.contract.freshness.seconds)))
    return out


def freshness_statements(aws: AwsContext, inputs: list[tuple[str, str, str, int]]) -> list:
    """``s3:ListBucket`` on exactly the inputs' buckets, each limited to its prefix when it has one."""
    whole = sorted({arns.bucket_arn(aws.region, bucket) for _, bucket, prefix, _ in inputs if not prefix})
    statements = [policies.allow("ListFreshnessInputs", FRESHNESS_ACTIONS, whole)]
    for index, (bucket, prefix) in enumerate(sorted({(b, p) for _, b, p, _ in inputs if p})):
        statements.append(policies.allow(f"ListFreshnessInputs{index}", FRESHNESS_ACTIONS,
                                         [arns.bucket_arn(aws.region, bucket)], {"StringLike": {"s3:prefix": [f"{prefix}*"]}}))
    return [s for s in statements if s]


def gate_environment(aws: AwsContext, job: str, pipeline_name: str,
                     inputs: list[tuple[str, str, str, int]]) -> dict[str, str]:
    """The gate's environment variables, within :data:`ENVIRONMENT_BYTES` (module contract)."""
    variables = {"PIPELINE_NAME": pipeline_name}
    if inputs:
        variables["FRESHNESS"] = json.dumps({"owner": aws.account, "inputs": [list(i) for i in inputs]},
                                            separators=(",", ":"))
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > ENVIRONMENT_BYTES:
        raise ValueError(f"training job {job}'s retrain gate environment takes {size} bytes, over Lambda's "
                         f"{ENVIRONMENT_BYTES}: validate must keep a job's inputs within 20 (this is a bug in mlops-infra)")
    return variables


def add_gate(aws: AwsContext, job: str, pipeline: str, pipeline_name: str, *, parent: str, address: str) -> str:
    """The retrain gate of training job ``job`` starting ``pipeline``; returns the function URN."""
    spec = iam.RoleSpec(f"{job}-gate", ("retrain", job), ("lambda.amazonaws.com",),
                        f"Starts training job {job}'s pipeline unless a run of it is active.")
    inputs = freshness_inputs(aws, job)
    function, _ = lambdas.add_function(aws, f"{job}-gate", gate_name(aws, job), spec, [
        policies.allow("StartOneRunAtATime", GATE_ACTIONS, [ref(pipeline, "arn")]),
        *freshness_statements(aws, inputs),
    ], {
        "description": (f"mlops-infra: starts {pipeline_name} unless a run of it is active"
                        + (" or an input is stale" if inputs else "")),
        "handler": "retrain_gate.handler", "code": archive({"retrain_gate.py": gate_source()}),
        "timeout": TIMEOUT_SECONDS, "memorySize": 128,
        "environment": {"variables": gate_environment(aws, job, pipeline_name, inputs)},
    }, parent=parent, address=address, role="retrain-gate", log_role="log-group",
        failures=lambda_failures.Failures(gate_audience(aws.ctx.system, aws.ctx.system.item("training_jobs", job)),
                                          retries=2, max_age=lambda_failures.MAX_EVENT_AGE_SECONDS, keep=True,
                                          severity="warning", what=f"starts training job {job}'s runs"))
    aws.gates.append(function)
    return function


def allow_rule(aws: AwsContext, logical: str, function: str, rule: str, *, parent: str, address: str) -> str:
    """The permission letting EventBridge rule ``rule`` invoke the gate."""
    return _permission(aws, logical, function, ref(rule, "arn"), {}, parent=parent, address=address)


def _permission(aws: AwsContext, logical: str, function: str, source: Any, scope: dict[str, str], *, parent: str,
                address: str) -> str:
    """A ``lambda:InvokeFunction`` permission for ``events.amazonaws.com`` from ``source`` (an ARN, a
    ref or a pattern), with ``scope`` (e.g. ``sourceAccount``) beside it."""
    taken = aws.statement_ids.setdefault(function, set())
    sid = statement_id(logical, taken)
    taken.add(sid)
    return aws.add(PERMISSION, f"{logical}-invoke", {
        "action": "lambda:InvokeFunction", "function": ref(function, "name"), "principal": "events.amazonaws.com",
        "sourceArn": source, **scope, "statementId": sid,
    }, parent=parent, address=address, role="function-permission",
        options=ResourceOptions(delete_before_replace=True))


STATEMENT_ID_MAX = 100
"""botocore lambda ``AddPermissionRequest.StatementId``: ``{"max": 100, "min": 1, "pattern": "([a-zA-Z0-9-_]+)"}``."""


def statement_id(logical: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The ``statementId`` of permission ``logical`` on a function whose permissions so far have the ids
    ``taken``: ``Allow-<logical>`` cut at :data:`STATEMENT_ID_MAX`, and when that cut is taken already, a
    shorter cut ending with a hash of the whole (:func:`~mlops_infra.compile.naming.short_hash`), so two
    long logical names never share an id on one function (audit limits-6).

    The id "differentiates the statement from others in the same policy" (botocore ``StatementId``), and
    AddPermission refuses one the function's policy already has ("ResourceConflictException: The statement id
    (...) provided already exists", 409; hashicorp/terraform-provider-aws#3312): the bare cut gave a
    63-character job's two ``on_alerts`` permissions of alerts sharing their first 27 characters one id, and
    the second failed mid-apply. Only the colliding one changes: every id a stack could apply before (all
    unique on their function) is kept, so no permission of an existing stack is replaced (audit
    closing-39a-2: hashing every cut id replaced working permissions, delete first)."""
    text = f"Allow-{logical}"
    cut = text[:STATEMENT_ID_MAX]
    if cut not in taken:
        return cut
    digest = short_hash(text, 7)
    return f"{text[: STATEMENT_ID_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def rule_arn(aws: AwsContext, name: str) -> str:
    """An EventBridge rule's ARN on the default bus: ``arn:aws:events:<region>:<account>:rule/<name>``."""
    return arns.arn(aws.region, aws.account, "events", f"rule/{name}")


def rule_permissions_fit(aws: AwsContext, function_name: str, rules: dict[str, str]) -> bool:
    """Whether one permission per rule (``rules``: permission logical name -> rule name) keeps the gate's
    policy within :data:`POLICY_BUDGET`, written as ``GetPolicy`` returns it (module contract)."""
    function_arn = arns.arn(aws.region, aws.account, "lambda", f"function:{function_name}")
    statements = [{"Sid": statement_id(logical), "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                   "Action": "lambda:InvokeFunction", "Resource": function_arn,
                   "Condition": {"ArnLike": {"AWS:SourceArn": rule_arn(aws, name)}}}
                  for logical, name in rules.items()]
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    return len(json.dumps(policy, separators=(",", ":")).encode()) <= POLICY_BUDGET


def rules_pattern(aws: AwsContext, names: list[str], prefix: str) -> str:
    """The rule ARN pattern that matches every rule of ``names``: ``prefix`` and ``*`` when every name
    starts with it (the job's own prefix: the pattern stays the same as alerts come and go), else
    their longest common prefix and ``*`` (a name cut to its length limit may have lost part of
    ``prefix``; module contract)."""
    if all(name.startswith(prefix) for name in names):
        return rule_arn(aws, prefix + "*")
    return rule_arn(aws, common_prefix(names) + "*")


def allow_rules(aws: AwsContext, logical: str, function: str, names: list[str], prefix: str, *, parent: str,
                address: str) -> str:
    """One permission letting every EventBridge rule of ``names`` invoke the gate, through
    :func:`rules_pattern` (module contract)."""
    return _permission(aws, logical, function, rules_pattern(aws, names, prefix), {"sourceAccount": aws.account},
                       parent=parent, address=address)
