"""EventBridge Scheduler schedules: pure ``map_*`` mappers, ``_read_*`` readers and their
:data:`READERS` entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.aws_live.tracking import Tracking
from mlops_infra.state.model import StateResource

_SCHEDULE_RENAMES = {"SageMakerPipelineParameters": "sagemakerPipelineParameters",
                     "PipelineParameterList": "pipelineParameters",
                     "EventBridgeParameters": "eventbridgeParameters"}


def map_schedule(response: Mapping[str, Any]) -> Reading:
    """``GetSchedule`` -> ``aws:scheduler/schedule:Schedule``."""
    inputs = drop_none({
        "name": response.get("Name"),
        "groupName": response.get("GroupName"),
        "scheduleExpression": response.get("ScheduleExpression"),
        "scheduleExpressionTimezone": response.get("ScheduleExpressionTimezone"),
        "state": response.get("State"),
        "description": response.get("Description"),
        "flexibleTimeWindow": pulumi_shape(response.get("FlexibleTimeWindow")),
        "target": pulumi_shape(response.get("Target"), renames=_SCHEDULE_RENAMES),
        "kmsKeyArn": response.get("KmsKeyArn"),
    })
    return Reading(inputs, drop_none({"arn": response.get("Arn")}))


def _read_schedule(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    group, _, name = (res.id or "").rpartition("/")
    name = res.inputs.get("name") if isinstance(res.inputs.get("name"), str) else name
    group = res.inputs.get("groupName") if isinstance(res.inputs.get("groupName"), str) else (group or "default")
    return map_schedule(client.get_schedule(Name=name, GroupName=group))


READERS: dict[str, Reader] = {
    "aws:scheduler/schedule:Schedule": Reader("scheduler", Tracking("schedule", (
        T("scheduleExpression", "schedule"), T("scheduleExpressionTimezone", "timezone", default="UTC"),
        T("state", "state", default="ENABLED"), T("target.arn", "target"), T("target.roleArn", "role"),
        T("target.input", "input", "json"),
        T("target.sagemakerPipelineParameters.pipelineParameters", "pipeline parameters", "keyed:name"),
        T("flexibleTimeWindow.mode", "flexible window"),
    )), read_one=_read_schedule),
}
