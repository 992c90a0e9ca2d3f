"""CloudWatch Logs log groups: the pure ``map_*`` mapper, the ``_read_*`` reader and its :data:`READERS`
entry.

A log group (``aws:cloudwatch/logGroup:LogGroup``, a function's ``/aws/lambda/<name>``) is read with
``DescribeLogGroups(logGroupNamePrefix=<name>)`` (botocore ``logs`` ``DescribeLogGroupsRequest``; the
answer's ``LogGroup`` carries ``retentionInDays`` and ``kmsKeyId``), its pages followed until the exact
name is found; none is a deleted group (the API has no not-found answer for a prefix). pulumi-aws keeps
the group's name as its id. A deleted group matters: the compiled execution roles may only
``logs:CreateLogStream`` and ``logs:PutLogEvents`` (compile/aws, RolePolicy ``WriteOwnLogs``), so Lambda
cannot create it again and the function's logs are lost. Drift compares the retention
(``retentionInDays``: pulumi-aws's default 0, "never expire", when neither side sets it) and the KMS key
(when the state sets one) and the tags, read with ``ListTagsForResource`` by the group's ``logGroupArn``
in the same read (botocore ``logs`` ``LogGroup.logGroupArn``: "This version of the ARN doesn't include a
trailing ``:*`` ... Use this version to refer to the ARN in ... the ``resourceArn`` field in tagging
APIs"; one more call per group, as ECR repositories do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext, paginate
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_log_group(group: Mapping[str, Any]) -> Reading:
    """One ``DescribeLogGroups`` entry -> ``aws:cloudwatch/logGroup:LogGroup``."""
    inputs = drop_none({"name": group.get("logGroupName"), "retentionInDays": group.get("retentionInDays"),
                        "kmsKeyId": group.get("kmsKeyId")})
    return Reading(inputs, drop_none({"arn": group.get("logGroupArn") or group.get("arn")}))


def _read_log_group(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    name = str(res.inputs.get("name") or res.id)
    for group in paginate(client, "describe_log_groups", "logGroups", logGroupNamePrefix=name):
        if group.get("logGroupName") == name:
            reading = map_log_group(group)
            arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
            tags = client.list_tags_for_resource(resourceArn=arn).get("tags") or {}  # a map (botocore ``Tags``)
            return Reading({**reading.inputs, "tags": {str(k): str(v) for k, v in tags.items()}}, reading.outputs)
    return None


READERS: dict[str, Reader] = {
    "aws:cloudwatch/logGroup:LogGroup": Reader("logs", Tracking("log group", (
        T("retentionInDays", "retention", default=0), T("kmsKeyId", "KMS key", computed=True), TAGS,
    )), read_one=_read_log_group),
}
