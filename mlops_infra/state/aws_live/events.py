"""EventBridge rules and targets: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS`
entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext, paginate
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_event_rule(rule: Mapping[str, Any]) -> Reading:
    """``DescribeRule`` -> ``aws:cloudwatch/eventRule:EventRule``."""
    inputs = drop_none({
        "name": rule.get("Name"),
        "eventBusName": rule.get("EventBusName"),
        "eventPattern": rule.get("EventPattern"),
        "scheduleExpression": rule.get("ScheduleExpression"),
        "state": rule.get("State"),
        "description": rule.get("Description"),
        "roleArn": rule.get("RoleArn"),
    })
    return Reading(inputs, drop_none({"arn": rule.get("Arn")}))


_TARGET_RENAMES = {"Id": "targetId", "SageMakerPipelineParameters": "sagemakerPipelineTarget",
                   "PipelineParameterList": "pipelineParameterLists", "InputPathsMap": "inputPaths",
                   "EcsParameters": "ecsTarget", "BatchParameters": "batchTarget",
                   "KinesisParameters": "kinesisTarget", "SqsParameters": "sqsTarget",
                   "HttpParameters": "httpTarget", "RedshiftDataParameters": "redshiftTarget",
                   "AppSyncParameters": "appsyncTarget"}

_TARGET_OPAQUE = ("InputPathsMap", "HeaderParameters", "QueryStringParameters")


def map_event_target(target: Mapping[str, Any], rule: str, bus: str | None) -> dict[str, Any]:
    """One ``ListTargetsByRule`` entry -> ``aws:cloudwatch/eventTarget:EventTarget`` inputs."""
    inputs = pulumi_shape(dict(target), renames=_TARGET_RENAMES, opaque=_TARGET_OPAQUE)
    inputs["rule"] = rule
    if bus and bus != "default":
        inputs["eventBusName"] = bus
    return inputs


def _bus_and_name(res: StateResource) -> tuple[str | None, str]:
    """An event rule's bus and name from its inputs, else from its id (``<bus>/<name>``)."""
    name = res.inputs.get("name")
    bus = res.inputs.get("eventBusName")
    if isinstance(name, str):
        return (bus if isinstance(bus, str) else None), name
    left, _, right = (res.id or "").rpartition("/")
    return (left or None), right


def _read_event_rule(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    """``DescribeRule`` (no tags: botocore ``DescribeRuleResponse``) and the rule's tags from
    ``ListTagsForResource`` ("In EventBridge, rules and event buses can be tagged"). One call per
    rule, not the Resource Groups Tagging API (:mod:`.tagging`), which moto does not answer for
    rules (``moto/events/models.py`` ``iter_tagged_resources``: event buses only), so that read
    could not be tested here; a system has one rule per triggered job."""
    bus, name = _bus_and_name(res)
    reading = map_event_rule(client.describe_rule(Name=name, **({"EventBusName": bus} if bus else {})))
    tags = tag_map(client.list_tags_for_resource(ResourceARN=reading.outputs["arn"]).get("Tags"))
    return Reading({**reading.inputs, "tags": tags}, reading.outputs)


def _read_event_target(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    rule, target_id, bus = res.inputs.get("rule"), res.inputs.get("targetId"), res.inputs.get("eventBusName")
    kwargs = {"Rule": rule, **({"EventBusName": bus} if isinstance(bus, str) else {})}
    targets = paginate(client, "list_targets_by_rule", "Targets", **kwargs)
    found = [t for t in targets if t.get("Id") == target_id]
    return Reading(map_event_target(found[0], rule, bus)) if found else None


READERS: dict[str, Reader] = {
    "aws:cloudwatch/eventRule:EventRule": Reader("events", Tracking("event rule", (
        T("eventPattern", "event pattern", "json"), T("scheduleExpression", "schedule"),
        T("state", "state", default="ENABLED"), T("description", "description", computed=True),
        T("roleArn", "role"), TAGS,
    )), read_one=_read_event_rule),
    "aws:cloudwatch/eventTarget:EventTarget": Reader("events", Tracking("event target", (
        T("arn", "target"), T("input", "input", "json"), T("inputPath", "input path"), T("roleArn", "role"),
        T("sagemakerPipelineTarget.pipelineParameterLists", "pipeline parameters", "keyed:name"),
    ), gone="removed"), read_one=_read_event_target),
}
