"""A string input holding JSON is compared as text, as terraform-provider-aws compares it, except where its
schema suppresses equivalent-JSON diffs (rules ``json_text``) and in a provider's own config (audit
typesets44-1: a reformatted EventTarget ``input`` planned "no change" and ``apply`` said "Nothing to apply"
while ``pulumi up`` would update it).

terraform-provider-aws: internal/service/events/target.go ``"input": {Type: schema.TypeString, ... ValidateFunc:
validation.All(validation.StringIsJSON, ...)}`` ("We could be normalizing the JSON here, but for built-in targets
input may not be JSON"); internal/service/scheduler/schedule.go ``target.input`` a plain TypeString; aws_s3_object
``content`` and aws_lambda_function ``environment.variables`` plain strings; internal/service/cloudwatch/dashboard.go
``dashboard_body``: ``DiffSuppressFunc: verify.SuppressEquivalentJSONDiffs``; a JSON document's nested strings are
compared exactly (internal/verify/json.go ``JSONBytesEqual``: unmarshal both, ``reflect.DeepEqual``)."""

from __future__ import annotations

import json

import pytest

from mlops_infra.graph import canonical_json
from mlops_infra.plan.normalize import RefValue, normalize_inputs
from mlops_infra.plan.rules import rule_for


def _lookup(urn: str, output: str) -> RefValue:
    return RefValue(value=f"x-{output}")


def _differs(type_token: str, desired: dict, prior: dict) -> bool:
    n = normalize_inputs({"__defaults": [], **prior}, desired, name="n", rule=rule_for(type_token), lookup=_lookup)
    return n.differs and n.prior != n.desired


TEXT_INPUTS = [
    ("aws:scheduler/schedule:Schedule",
     {"name": "s", "target": {"arn": "a", "roleArn": "r", "input": '{"triggeredBy": "schedule"}'}},
     {"name": "s", "target": {"arn": "a", "roleArn": "r", "input": '{"triggeredBy":"schedule"}'}}),
    ("aws:cloudwatch/eventTarget:EventTarget", {"rule": "r", "targetId": "t", "input": '{"a": 1, "b": 2}'},
     {"rule": "r", "targetId": "t", "input": '{"b":2,"a":1}'}),
    ("aws:s3/bucketObjectv2:BucketObjectv2", {"bucket": "b", "key": "c.json", "content": '{"version": 2}'},
     {"bucket": "b", "key": "c.json", "content": '{\n  "version": 2\n}'}),
    ("aws:lambda/function:Function", {"name": "f", "environment": {"variables": {"FRESHNESS": '{"a": 1.0}'}}},
     {"name": "f", "environment": {"variables": {"FRESHNESS": '{"a":1}'}}}),
]


@pytest.mark.parametrize(("type_token", "desired", "prior"), TEXT_INPUTS, ids=[c[0] for c in TEXT_INPUTS])
def test_a_reformatted_json_text_is_a_change(type_token, desired, prior):
    assert _differs(type_token, desired, prior)


def test_a_dashboard_body_reformatted_is_no_change():
    body = {"widgets": [{"type": "metric", "properties": {"title": "t", "region": "us-east-1"}}]}
    desired = {"dashboardName": "d", "dashboardBody": json.dumps(body)}
    prior = {"dashboardName": "d", "dashboardBody": json.dumps(body, indent=2, sort_keys=True)}
    assert not _differs("aws:cloudwatch/dashboard:Dashboard", desired, prior)
    prior["dashboardBody"] = json.dumps({**body, "periodOverride": "auto"})
    assert _differs("aws:cloudwatch/dashboard:Dashboard", desired, prior)


def test_a_json_documents_nested_json_text_is_compared_as_text():
    steps = [{"Name": "drift", "Arguments": {"Environment": {"METRIC_DIMENSIONS": '{"Endpoint":"e","Monitor":"drift"}'}}}]
    desired = {"name": "p", "pipelineDefinition": {"$json": {"Version": "2020-12-01", "Steps": steps}}}
    stored_steps = json.loads(json.dumps(steps))
    stored_steps[0]["Arguments"]["Environment"]["METRIC_DIMENSIONS"] = '{\n "Endpoint": "e",\n "Monitor": "drift"\n}'
    prior = {"name": "p", "pipelineDefinition": canonical_json({"Version": "2020-12-01", "Steps": stored_steps})}
    assert _differs("aws:sagemaker/pipeline:Pipeline", desired, prior)
    same = {"name": "p", "pipelineDefinition": canonical_json({"Version": "2020-12-01", "Steps": steps})}
    assert not _differs("aws:sagemaker/pipeline:Pipeline", desired, same)
