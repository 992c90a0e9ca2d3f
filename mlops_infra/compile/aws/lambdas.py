"""The small Python Lambdas mlops-infra ships (alarm forwarders, retrain gates, the rollout runner).

Contract: :func:`add_function` adds, for one function, the log group Lambda writes to
(``/aws/lambda/<function name>``, kept :data:`LOG_RETENTION_DAYS` days: a group created by Lambda
itself never expires), a role Lambda assumes with the caller's statements plus ``WriteOwnLogs``
(``logs:CreateLogStream`` and ``logs:PutLogEvents`` on that group only), and the function: arm64,
:data:`RUNTIME`, JSON logs into that group, created after its role's policy so its first invocation
can write. The caller's ``props`` give the rest (handler, code, timeout, memory, environment...).
Sources: AWS Lambda Developer Guide, "Working with Amazon CloudWatch Logs" (the log group name,
advanced logging controls ``LoggingConfig``) and "Lambda execution role".
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.aws import arns, iam, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import ref

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RUNTIME = "python3.12"
LOG_RETENTION_DAYS = 30


def add_function(aws: AwsContext, logical: str, function_name: str, spec: iam.RoleSpec, statements: list,
                 props: dict[str, Any], *, parent: str, address: str, role: str, log_role: str) -> tuple[str, str]:
    """Log group ``<logical>-logs``, role ``spec`` and function ``logical`` (see the module contract);
    returns (function URN, role URN)."""
    log_group = f"/aws/lambda/{function_name}"
    logs = aws.add(LOG_GROUP, f"{logical}-logs", {"name": log_group, "retentionInDays": LOG_RETENTION_DAYS},
                   parent=parent, address=address, role=log_role)
    role_urn = iam.add_role(aws, spec, [
        *statements,
        policies.allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                       arns.log_group_arns(aws.region, aws.account, log_group)),
    ], parent=parent, address=address)
    function = aws.add(FUNCTION, logical, {
        "name": function_name, "runtime": RUNTIME, "architectures": ["arm64"], "role": ref(role_urn, "arn"),
        **props, "loggingConfig": {"logFormat": "JSON", "logGroup": ref(logs, "name")},
    }, parent=parent, address=address, role=role, depends_on=[iam.policy_urn(aws, spec, parent)])
    return function, role_urn
