"""The small Python Lambdas mlops-infra ships (alarm forwarders, retrain gates, the rollout runner).

Contract: :func:`add_function` adds, for one function, the log group Lambda writes to
(``/aws/lambda/<function name>``, kept :data:`LOG_RETENTION_DAYS` days: a group created by Lambda
itself never expires), a role Lambda assumes with the caller's statements plus ``WriteOwnLogs``
(``logs:CreateLogStream`` and ``logs:PutLogEvents`` on that group only), and the function: arm64,
:data:`RUNTIME`, JSON logs into that group, created after its role's policy so its first invocation
can write. The caller's ``props`` give the rest (handler, code, timeout, memory, environment...).
Sources: AWS Lambda Developer Guide, "Working with Amazon CloudWatch Logs" (the log group name,
advanced logging controls ``LoggingConfig``) and "Lambda execution role".

Every function added here is invoked asynchronously (SNS, EventBridge rules, EventBridge Scheduler),
so each caller passes :class:`~lambda_failures.Failures`: its failed invocations are retried as the
caller chose, kept in a failure queue when asked (its role may then send to that queue) and raise an
Errors alarm, and a dropped event (or one the queue could not keep) a dropped alarm, both telling the
caller's audience (:mod:`lambda_failures`). A function without it would lose a failed event after
Lambda's two retries, silently.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.aws import arns, iam, lambda_failures, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import ref

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RUNTIME = "python3.12"
LOG_RETENTION_DAYS = 30


def add_function(aws: AwsContext, logical: str, function_name: str, spec: iam.RoleSpec, statements: list,
                 props: dict[str, Any], *, parent: str, address: str, role: str, log_role: str,
                 failures: lambda_failures.Failures) -> tuple[str, str]:
    """Log group ``<logical>-logs``, role ``spec``, function ``logical`` and the handling of its
    failures (see the module contract); returns (function URN, role URN)."""
    log_group = f"/aws/lambda/{function_name}"
    queue = (lambda_failures.add_queue(aws, logical, function_name, parent=parent, address=address)
             if failures.keep else None)
    logs = aws.add(LOG_GROUP, f"{logical}-logs", {"name": log_group, "retentionInDays": LOG_RETENTION_DAYS},
                   parent=parent, address=address, role=log_role)
    role_urn = iam.add_role(aws, spec, [
        *statements,
        *(lambda_failures.keep_statements(aws, function_name) if queue else ()),
        policies.allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                       arns.log_group_arns(aws.region, aws.account, log_group)),
    ], parent=parent, address=address)
    function = aws.add(FUNCTION, logical, {
        "name": function_name, "runtime": RUNTIME, "architectures": ["arm64"], "role": ref(role_urn, "arn"),
        **props, "loggingConfig": {"logFormat": "JSON", "logGroup": ref(logs, "name")},
    }, parent=parent, address=address, role=role, depends_on=[iam.policy_urn(aws, spec, parent)])
    lambda_failures.add_handling(aws, logical, function, function_name, failures, queue, parent=parent,
                                 address=address, policy=iam.policy_urn(aws, spec, parent))
    return function, role_urn
