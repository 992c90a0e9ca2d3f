"""A scaling policy's custom-metric dimensions are a Terraform set: read back in the set's hash order they
are not drift (plan/drift.py ``_sets_aligned``; audit typesets44-4, whose reproduction this follows).

terraform-provider-aws internal/service/appautoscaling/policy.go: ``"dimensions": {Type: schema.TypeSet}``;
``expandCustomizedMetricSpecification`` sends ``v.List()``, the members in the order of their hash codes sorted as
strings (terraform-plugin-sdk helper/schema/set.go ``listCode``), a code being crc32 of
``name:<name>;value:<value>;`` (serialize.go ``SerializeResourceForHash``)."""

from __future__ import annotations

import zlib

from mlops_infra.plan.drift import find_drift
from mlops_infra.state.aws_live.appautoscaling import map_scaling_policy
from mlops_infra.state.model import LiveState, PriorState, StateResource

ENDPOINT = "churn-quickstart-staging-churn-api"  # its EndpointName member hashes after VariantName's
URN = "urn:pulumi:staging::churn::aws:appautoscaling/policy:Policy::churn-api-scaling"
TYPE = "aws:appautoscaling/policy:Policy"


def _in_set_order(dimensions: list[dict]) -> list[dict]:
    return sorted(dimensions, key=lambda d: str(zlib.crc32(f"name:{d['name']};value:{d['value']};".encode())))


def _drift(compiled: list[dict], sent: list[dict]) -> list:
    spec = {"metricName": "CPUUtilization", "namespace": "/aws/sagemaker/Endpoints", "statistic": "Average",
            "unit": "Percent", "dimensions": compiled}
    inputs = {"name": "churn-api-scaling", "policyType": "TargetTrackingScaling", "serviceNamespace": "sagemaker",
              "resourceId": f"endpoint/{ENDPOINT}/variant/primary",
              "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
              "targetTrackingScalingPolicyConfiguration": {
                  "targetValue": 60.0, "scaleInCooldown": 300, "scaleOutCooldown": 60,
                  "customizedMetricSpecification": spec}}
    prior = StateResource(urn=URN, type=TYPE, id="churn-api-scaling", inputs=inputs, outputs={})
    api = {"PolicyName": "churn-api-scaling", "PolicyType": "TargetTrackingScaling", "ServiceNamespace": "sagemaker",
           "ResourceId": inputs["resourceId"], "ScalableDimension": inputs["scalableDimension"],
           "TargetTrackingScalingPolicyConfiguration": {
               "TargetValue": 60.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
               "CustomizedMetricSpecification": {
                   "MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Average",
                   "Unit": "Percent", "Dimensions": [{"Name": d["name"], "Value": d["value"]} for d in sent]}}}
    reading = map_scaling_policy(api)
    live = StateResource(urn=URN, type=TYPE, id=prior.id, inputs=reading.inputs, outputs=reading.outputs)
    return find_drift(PriorState("t", 3, "0" * 64, "churn", "staging", {URN: prior}), LiveState({URN: live}, frozenset()))


COMPILED = [{"name": "EndpointName", "value": ENDPOINT}, {"name": "VariantName", "value": "primary"}]


def test_the_dimensions_read_back_in_set_order_are_not_drift():
    sent = _in_set_order(COMPILED)
    assert [d["name"] for d in sent] == ["VariantName", "EndpointName"]  # the case: another order than compiled
    assert _drift(COMPILED, sent) == []


def test_a_changed_dimension_is_still_drift_and_named_where_it_differs():
    sent = _in_set_order([{"name": "EndpointName", "value": "someone-elses-endpoint"},
                          {"name": "VariantName", "value": "primary"}])
    items = _drift(COMPILED, sent)
    assert len(items) == 1
    changes = list(items[0].changes)
    assert changes == [("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.dimensions[0].value",
                        ENDPOINT, "someone-elses-endpoint")], changes


def test_set_patterns_are_read_as_the_planner_reads_them(monkeypatch):
    """drift reads a rule's ``sets`` with rules.parse_path, as plan/normalize does: a pattern written with ``[*]``
    was split on dots and never aligned (review44-core-4)."""
    import dataclasses

    from mlops_infra.plan import drift
    from mlops_infra.plan.rules import RULES

    dims = [{"name": "EndpointName", "value": "e"}, {"name": "VariantName", "value": "v"}]
    prior, live = {"cfg": [{"dimensions": dims}]}, {"cfg": [{"dimensions": dims[::-1]}]}
    for pattern in ("cfg[*].dimensions", "cfg[0].dimensions"):
        monkeypatch.setitem(RULES, TYPE, dataclasses.replace(RULES[TYPE], sets=(pattern,)))
        assert drift._sets_aligned(TYPE, "cfg", prior["cfg"], live["cfg"]) == prior["cfg"], pattern
