"""Replacement rules: path syntax, matching, and the registry's per-type rules."""

from __future__ import annotations

import pytest

from mlops_infra.plan.rules import (
    COMPONENT,
    K8S_KINDS,
    PROVIDERS,
    RULES,
    UNKNOWN_AWS,
    UNKNOWN_TYPE,
    PathMatcher,
    format_path,
    matcher,
    parse_path,
    rule_for,
)


@pytest.mark.parametrize(("text", "tokens"), [
    ("productionVariants[0].instanceType", ("productionVariants", 0, "instanceType")),
    ("productionVariants[*].instanceType", ("productionVariants", "*", "instanceType")),
    ('tags["mlops-infra/system"]', ("tags", "mlops-infra/system")),
    ('metadata.annotations["pulumi.com/autonamed"]', ("metadata", "annotations", "pulumi.com/autonamed")),
    ("*", ("*",)),
    ("spec.template", ("spec", "template")),
])
def test_parse_path(text: str, tokens: tuple) -> None:
    assert parse_path(text) == tokens


@pytest.mark.parametrize("path", [("a", 0, "b"), ("tags", "team/x"), ("x", "a.b", 3), ("policy", "Statement", 0)])
def test_format_then_parse_round_trips(path: tuple) -> None:
    assert parse_path(format_path(path)) == path


def test_format_path_uses_dots_and_indices() -> None:
    assert format_path(("productionVariants", 0, "instanceType")) == "productionVariants[0].instanceType"
    assert format_path(("tags", "mlops-infra/system")) == 'tags["mlops-infra/system"]'


def test_touches_is_same_branch_and_covers_is_under() -> None:
    m = PathMatcher(["productionVariants[*].instanceType"])
    assert m.touches(("productionVariants", 3, "instanceType"))
    assert m.touches(("productionVariants", 1))  # a whole added variant contains the field
    assert m.touches(("productionVariants", 0, "instanceType", "x"))
    assert not m.touches(("productionVariants", 0, "initialInstanceCount"))
    assert m.covers(("productionVariants", 0, "instanceType"))
    assert not m.covers(("productionVariants", 0))
    assert not PathMatcher([])
    everything = PathMatcher(["*"])
    assert everything.touches(("anything",)) and everything.covers(("a", 1))


def test_sagemaker_model_and_config_replace_on_everything_but_tags() -> None:
    for token in ("aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        rule = rule_for(token)
        assert matcher(rule.replace).touches(("primaryContainer", "image"))
        assert matcher(rule.keep).covers(("tags", "team"))


def test_identity_fields_force_replacement() -> None:
    cases = {
        "aws:s3/bucket:Bucket": ("bucket",),
        "aws:kms/key:Key": ("customerMasterKeySpec",),
        "aws:iam/role:Role": ("name",),
        "aws:sns/topic:Topic": ("name",),
        "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
        "aws:sagemaker/endpoint:Endpoint": ("name",),
    }
    for token, path in cases.items():
        assert matcher(rule_for(token).replace).touches(path), token
    contract = rule_for("aws:s3/bucketObjectv2:BucketObjectv2")  # the drift job's contract file: content updates
    assert contract.known and matcher(contract.replace).touches(("key",))
    assert not matcher(contract.replace).touches(("content",))
    assert not matcher(rule_for("aws:sagemaker/endpoint:Endpoint").replace).touches(("endpointConfigName",))
    assert not matcher(rule_for("aws:kms/key:Key").replace).touches(("description",))


def test_kubernetes_rules_merge_identity_and_kind_specific_fields() -> None:
    job = rule_for("kubernetes:batch/v1:Job")
    m = matcher(job.replace)
    assert m.touches(("metadata", "name")) and m.touches(("metadata", "namespace"))
    assert m.touches(("spec", "template", "spec", "containers", 0, "image"))
    assert not m.touches(("spec", "backoffLimit"))
    pvc = matcher(rule_for("kubernetes:core/v1:PersistentVolumeClaim").replace)
    assert pvc.touches(("spec", "storageClassName"))
    assert not pvc.touches(("spec", "resources", "requests", "storage"))
    assert matcher(rule_for("kubernetes:core/v1:Service").replace).touches(("spec", "clusterIP"))
    crd = matcher(rule_for("kubernetes:serving.kserve.io/v1beta1:InferenceService").replace)
    assert crd.touches(("apiVersion",)) and crd.touches(("kind",))
    assert not crd.touches(("spec", "predictor"))
    secret = rule_for("kubernetes:core/v1:Secret")
    assert matcher(secret.sensitive).covers(("stringData", "token"))


def test_provider_and_component_rules() -> None:
    aws = rule_for("pulumi:providers:aws")
    assert aws is PROVIDERS["aws"] and aws.stringify
    # pulumi-aws 7 dropped the provider's region cascade (pulumi/pulumi-aws#5656): no key replaces by itself
    # (closing-43a-2; this line asserted pulumi-aws 6's ``region`` key before)
    assert aws.replace == () and not matcher(aws.replace).touches(("region",))
    assert matcher(aws.sensitive).covers(("secretKey",))
    assert rule_for("pulumi:providers:random").stringify
    assert rule_for("mlops:serving:Endpoint", custom=False) is COMPONENT
    assert not matcher(COMPONENT.replace)
    unknown = rule_for("aws:glue/job:Job")  # an AWS type: its provider-filled region forces a replace (REGION)
    assert unknown is UNKNOWN_AWS and not unknown.known and unknown.replace == ("region",)
    assert unknown.ignore == UNKNOWN_TYPE.ignore and unknown.why == UNKNOWN_TYPE.why
    assert rule_for("random:index/randomId:RandomId") is UNKNOWN_TYPE and not UNKNOWN_TYPE.replace


def test_every_rule_explains_itself_and_parses() -> None:
    rules = [*RULES.values(), *K8S_KINDS.values(), *PROVIDERS.values()]
    for rule in rules:
        assert rule.why, rule
        for path in (*rule.replace, *rule.keep, *rule.sensitive, *rule.ignore):
            assert parse_path(path), path
