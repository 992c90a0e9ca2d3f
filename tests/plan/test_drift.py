"""Drift between prior state and live state: pure rules, then out-of-band changes on moto."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mlops_infra.plan.drift import DriftItem, find_drift
from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, UNKNOWN, LiveState, PriorState, StateResource
from tests.support import fixtures
from tests.support.fixtures import SeededStack
from tests.support.moto_server import shared_session

moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
TARGET = "aws:appautoscaling/target:Target"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:do-not-print"}


def sr(type_: str, name: str, inputs: dict[str, Any], id_: str | None = None, outputs: dict[str, Any] | None = None,
       **kwargs: Any) -> StateResource:
    return StateResource(urn=f"urn:pulumi:dev::fraud::{type_}::{name}", type=type_, id=id_ or name,
                         inputs=inputs, outputs=outputs or {}, **kwargs)


def prior_of(*resources: StateResource) -> PriorState:
    return PriorState("test", 3, "0" * 64, "fraud", "dev", {r.urn: r for r in resources})


def live_of(*resources: StateResource, missing: tuple[str, ...] = ()) -> LiveState:
    return LiveState({r.urn: r for r in resources}, frozenset(missing))


def drift(before: StateResource, after: StateResource, *others: StateResource) -> list[DriftItem]:
    return find_drift(prior_of(before, *others), live_of(after))


# ------------------------------------------------------------------------------------------
# Pure rules
# ------------------------------------------------------------------------------------------


def test_equal_modulo_pulumi_normalisation_is_no_drift() -> None:
    before = sr(SSE, "data-encryption", {"__defaults": [], "bucket": "data", "rules": [{
        "__defaults": [], "bucketKeyEnabled": True,
        "applyServerSideEncryptionByDefault": {"__defaults": [], "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}]},
        id_="data")
    after = sr(SSE, "data-encryption", {"bucket": "data", "rules": [{
        "bucketKeyEnabled": True,
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN.rsplit("/")[-1]}}]},
        id_="data")
    assert drift(before, after) == []


def test_changed_property_reports_path_values_and_ml_summary() -> None:
    before = sr(VERSIONING, "data-versioning", {"versioningConfiguration": {"status": "Enabled"}}, id_="ml-data")
    after = sr(VERSIONING, "data-versioning", {"versioningConfiguration": {"status": "Suspended"}}, id_="ml-data")
    [item] = drift(before, after)
    assert item == DriftItem(before.urn, VERSIONING, "changed",
                             (("versioningConfiguration.status", "Enabled", "Suspended"),),
                             "bucket ml-data: versioning Enabled -> Suspended changed outside Pulumi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.kind = "deleted"  # type: ignore[misc]


def test_deleted_resources_are_worded_per_type() -> None:
    sse = sr(SSE, "data-encryption", {"bucket": "ml-data"}, id_="ml-data")
    alarm = sr(ALARM, "latency-p99", {"name": "fraud-latency-p99"})
    unknown = sr("aws:ec2/vpc:Vpc", "vpc", {})
    items = find_drift(prior_of(sse, alarm, unknown), live_of(missing=(sse.urn, alarm.urn, unknown.urn)))
    assert [(i.kind, i.summary) for i in items] == [
        ("deleted", "alarm latency-p99 deleted outside Pulumi"),
        ("deleted", "Vpc vpc deleted outside Pulumi"),
        ("deleted", "bucket ml-data: encryption removed outside Pulumi"),
    ]
    assert [i.urn for i in items] == sorted(i.urn for i in items)


def test_unread_resources_are_not_drift() -> None:
    alarm = sr(ALARM, "latency", {"threshold": 1})
    assert find_drift(prior_of(alarm), LiveState({}, frozenset(), {alarm.urn: "AccessDenied: no"})) == []


def test_secrets_and_unknowns_are_never_compared_nor_printed() -> None:
    model = "aws:sagemaker/model:Model"
    before = sr(model, "scorer", {"primaryContainer": {"image": "img:1", "environment": {"TOKEN": SECRET}},
                                  "executionRoleArn": SECRET})
    after = sr(model, "scorer", {"primaryContainer": {"image": "img:2", "environment": {"TOKEN": "plain-live-value"}},
                                 "executionRoleArn": "arn:aws:iam::1:role/other"})
    [item] = drift(before, after)
    assert item.changes == (("primaryContainer.image", "img:1", "img:2"),)
    text = repr(item)
    assert "do-not-print" not in text and "plain-live-value" not in text and SECRET_SIG not in text
    unknown = sr(model, "scorer", {"primaryContainer": {"image": UNKNOWN, "environment": SECRET},
                                   "executionRoleArn": "arn:aws:iam::1:role/other"})
    assert drift(unknown, after) == []


def test_sensitive_values_are_compared_but_never_shown() -> None:
    model = "aws:sagemaker/model:Model"
    before = sr(model, "scorer", {"primaryContainer": {"environment": {"MODEL_VERSION": "3"}}})
    after = sr(model, "scorer", {"primaryContainer": {"environment": {"MODEL_VERSION": "3", "HF_TOKEN": "hf_live"}}})
    [item] = drift(before, after)
    assert item.changes == (("primaryContainer.environment.HF_TOKEN", "<sensitive>", "<sensitive>"),)
    assert item.summary == "model scorer: container environment HF_TOKEN changed outside Pulumi"


def test_computed_properties_are_compared_only_when_prior_sets_them_and_defaults_apply() -> None:
    key = "aws:kms/key:Key"
    before = sr(key, "data-key", {"deletionWindowInDays": 30})
    same = sr(key, "data-key", {"description": "set by console", "policy": "{}", "isEnabled": True,
                                "enableKeyRotation": False})
    assert drift(before, same) == []
    rotated = sr(key, "data-key", {"isEnabled": True, "enableKeyRotation": True})
    [item] = drift(before, rotated)
    assert item.changes == (("enableKeyRotation", False, True),)
    assert item.summary == "KMS key data-key: key rotation false -> true changed outside Pulumi"


def test_tags_compare_against_tags_all_and_ignore_aws_reserved_keys() -> None:
    bucket = "aws:s3/bucket:Bucket"
    before = sr(bucket, "data", {"tags": {"team": "ml"}}, outputs={"tagsAll": {"team": "ml", "env": "dev"}})
    after = sr(bucket, "data", {"tags": {"team": "ml", "env": "dev", "aws:cloudformation:stack-name": "x"}})
    assert drift(before, after) == []
    edited = sr(bucket, "data", {"tags": {"team": "fraud", "env": "dev", "owner": "bob"}})
    [item] = drift(before, edited)
    assert item.changes == (("tags.owner", None, "bob"), ("tags.team", "ml", "fraud"))


def test_policies_compare_by_meaning_not_text() -> None:
    policy_type = "aws:s3/bucketPolicy:BucketPolicy"
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                                                   "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "x"}]}
    reordered = json.loads(json.dumps(doc))
    reordered["Statement"][0]["Action"].reverse()
    reordered["Statement"][0]["Resource"] = ["x"]
    before = sr(policy_type, "p", {"policy": json.dumps(doc, indent=2)}, id_="ml-data")
    assert drift(before, sr(policy_type, "p", {"policy": json.dumps(reordered)}, id_="ml-data")) == []
    reordered["Statement"][0]["Effect"] = "Allow"
    [item] = drift(before, sr(policy_type, "p", {"policy": json.dumps(reordered)}, id_="ml-data"))
    assert item.summary == "bucket ml-data: bucket policy changed outside Pulumi"


def test_keyed_lists_match_elements_by_key() -> None:
    def config(variants: list[dict[str, Any]]) -> StateResource:
        return sr(CONFIG, "scorer-config", {"productionVariants": variants})

    a = {"variantName": "a", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2, "initialVariantWeight": 1}
    b = {"variantName": "b", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 1, "initialVariantWeight": 1.0}
    assert drift(config([a, b]), config([dict(b), dict(a, volumeSizeInGb=30)])) == []
    [item] = drift(config([a, b]), config([a, dict(b, instanceType="ml.g6.xlarge")]))
    assert item.changes == (("productionVariants[b].instanceType", "ml.g5.xlarge", "ml.g6.xlarge"),)
    assert item.summary == ("endpoint config scorer-config: variants[b] instanceType ml.g5.xlarge -> ml.g6.xlarge "
                            "changed outside Pulumi")


def test_encryption_reset_to_the_s3_default_is_a_change() -> None:
    """Real S3 answers SSE-S3 after DeleteBucketEncryption (moto answers not found)."""
    before = sr(SSE, "data-encryption", {"rules": [{"bucketKeyEnabled": True, "applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}]}, id_="ml-data")
    after = sr(SSE, "data-encryption", {"rules": [{"bucketKeyEnabled": False, "applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "AES256"}}]}, id_="ml-data")
    [item] = drift(before, after)
    assert item.kind == "changed"
    assert item.summary.startswith("bucket ml-data: encryption ")
    assert "encryption sseAlgorithm aws:kms -> AES256" in item.summary
    assert "encryption bucketKeyEnabled true -> false" in item.summary


def endpoint_pair(count: int, weight: float, *, config: str = "cfg-1") -> tuple[StateResource, StateResource]:
    before = sr(ENDPOINT, "scorer", {"name": "fraud-scorer", "endpointConfigName": "cfg-1"}, id_="fraud-scorer")
    after = sr(ENDPOINT, "scorer", {"name": "fraud-scorer", "endpointConfigName": config}, id_="fraud-scorer",
               outputs={"productionVariants": [{"variantName": "primary", "currentInstanceCount": count,
                                                "desiredInstanceCount": count, "currentWeight": weight,
                                                "desiredWeight": weight}]})
    return before, after


CONFIG_1 = sr(CONFIG, "scorer-config", {"name": "cfg-1", "productionVariants": [{
    "variantName": "primary", "initialInstanceCount": 2, "initialVariantWeight": 1, "instanceType": "ml.g5.xlarge"}]},
    id_="cfg-1")


def test_endpoint_capacity_changed_outside_pulumi() -> None:
    before, after = endpoint_pair(5, 0.5)
    [item] = drift(before, after, CONFIG_1)
    assert item.changes == (("productionVariants[primary].instanceCount", 2, 5),
                            ("productionVariants[primary].weight", 1, 0.5))
    assert item.summary == "endpoint scorer: instance count 2 -> 5, traffic weight 1 -> 0.5 changed outside Pulumi"
    assert drift(*endpoint_pair(2, 1.0), CONFIG_1) == []


def test_autoscaled_counts_within_range_are_not_drift() -> None:
    scaling = sr(TARGET, "scorer-scaling", {"resourceId": "endpoint/fraud-scorer/variant/primary",
                                            "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
                                            "minCapacity": 1, "maxCapacity": 4})
    assert drift(*endpoint_pair(4, 1.0), CONFIG_1, scaling) == []
    [item] = drift(*endpoint_pair(6, 1.0), CONFIG_1, scaling)
    assert item.summary == "endpoint scorer: instance count 2 -> 6 (autoscaling range 1-4) changed outside Pulumi"


def test_endpoint_on_another_config_reports_the_config_not_the_counts() -> None:
    [item] = drift(*endpoint_pair(9, 0.1, config="cfg-rolled-back"), CONFIG_1)
    assert item.changes == (("endpointConfigName", "cfg-1", "cfg-rolled-back"),)
    assert item.summary == "endpoint scorer: endpoint config cfg-1 -> cfg-rolled-back changed outside Pulumi"


def test_a_config_left_to_the_rollout_controller_is_not_drift() -> None:
    """A canary endpoint's config is switched by the rollout controller at every rollout and ignored
    by Pulumi (``ignore_changes``), so the state keeps the config it was created with: what the graph
    leaves alone (``left``) is never drift, anything else on the endpoint still is."""
    before, after = endpoint_pair(9, 0.1, config="fraud-scorer-rollout-v13-4ad2c2a5")
    prior, live = prior_of(before, CONFIG_1), live_of(after)
    assert find_drift(prior, live, left={before.urn: ("endpointConfigName",)}) == []
    assert find_drift(prior, live, left={"urn:pulumi:other": ("endpointConfigName",)})  # another resource's
    same_config = endpoint_pair(5, 0.5)  # on the config the state has: its counts are still compared
    [item] = find_drift(prior_of(same_config[0], CONFIG_1), live_of(same_config[1]),
                        left={before.urn: ("endpointConfigName",)})
    assert item.changes[0] == ("productionVariants[primary].instanceCount", 2, 5)


def test_a_canary_endpoint_after_a_rollout_is_compared_with_the_config_it_runs() -> None:
    """After a finished rollout the endpoint runs the version's final config, which ``pulumi up``
    created (the state holds it) while the endpoint's own state still names the config it was created
    with (``ignore_changes``): its counts and weights are compared with the config it runs. On a
    rollout config the controller made (not in the state) nothing is compared."""
    final = sr(CONFIG, "scorer-config-v13", {"name": "cfg-13", "productionVariants": [{
        "variantName": "primary", "initialInstanceCount": 3, "initialVariantWeight": 1,
        "instanceType": "ml.g5.xlarge"}]}, id_="cfg-13")
    left = {endpoint_pair(3, 1.0)[0].urn: ("endpointConfigName",)}
    before, after = endpoint_pair(3, 1.0, config="cfg-13")
    assert find_drift(prior_of(before, CONFIG_1, final), live_of(after), left=left) == []
    before, after = endpoint_pair(7, 1.0, config="cfg-13")
    [item] = find_drift(prior_of(before, CONFIG_1, final), live_of(after), left=left)
    assert item.changes == (("productionVariants[primary].instanceCount", 3, 7),)
    assert item.summary == "endpoint scorer: instance count 3 -> 7 changed outside Pulumi"
    before, after = endpoint_pair(7, 0.5, config="fraud-scorer-rollout-v14-4ad2c2a5")
    assert find_drift(prior_of(before, CONFIG_1, final), live_of(after), left=left) == []


def test_left_alone_is_every_canary_endpoints_config() -> None:
    """:func:`left_alone` of a compiled system: the canary endpoints' ``endpointConfigName`` (the
    controller's) and each model package group's description (written once, at creation: audit
    replace-1), nothing else."""
    from mlops_infra.compile import compile_system
    from mlops_infra.plan.drift import left_alone
    from mlops_infra.spec import load_system
    from tests.support.promotion import REFERENCE

    loaded = load_system(REFERENCE, "prod")
    graph = compile_system(loaded.system, "prod")
    left = left_alone(graph)
    canary = {e.name for e in loaded.system.endpoints if e.rollout.strategy == "canary"}
    endpoints = {r.urn for r in graph.resources if r.type == ENDPOINT and r.address.split(".")[-1] in canary}
    groups = {r.urn for r in graph.resources if r.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup"}
    assert canary and endpoints and groups and set(left) == endpoints | groups
    assert {left[u] for u in endpoints} == {("endpointConfigName",)}
    assert {left[u] for u in groups} == {("modelPackageGroupDescription",)}


def test_two_variant_endpoint_names_the_variant() -> None:
    config = sr(CONFIG, "scorer-config", {"name": "cfg-1", "productionVariants": [
        {"variantName": "blue", "initialInstanceCount": 2, "initialVariantWeight": 0.9},
        {"variantName": "green", "initialInstanceCount": 1, "initialVariantWeight": 0.1}]}, id_="cfg-1")
    before, after = endpoint_pair(2, 0.5)
    after = dataclasses.replace(after, outputs={"productionVariants": [
        {"variantName": "blue", "desiredInstanceCount": 2, "desiredWeight": 0.5},
        {"variantName": "green", "desiredInstanceCount": 1, "desiredWeight": 0.5}]})
    [item] = drift(before, after, config)
    assert item.summary == ("endpoint scorer: variant blue traffic weight 0.9 -> 0.5, "
                            "variant green traffic weight 0.1 -> 0.5 changed outside Pulumi")


# ------------------------------------------------------------------------------------------
# Out-of-band changes on a real moto server
# ------------------------------------------------------------------------------------------


def scan(stack: SeededStack) -> LiveState:
    # the deadline (tested in tests/faults) far beyond a loaded CI machine's worst case: this is about drift
    return scan_aws(stack.prior.resources.values(), region="us-east-1", session_factory=shared_session,
                    endpoint_url=stack.url, retry=RetryPolicy(botocore_max_attempts=1), deadline=600)


def change_out_of_band(stack: SeededStack) -> None:
    s3, sm, cw, sns = (stack.client(s) for s in ("s3", "sagemaker", "cloudwatch", "sns"))
    sm.update_endpoint_weights_and_capacities(EndpointName=stack.endpoint, DesiredWeightsAndCapacities=[
        {"VariantName": "primary", "DesiredWeight": 0.5, "DesiredInstanceCount": 5}])
    s3.delete_bucket_encryption(Bucket=stack.data_bucket)
    s3.put_bucket_versioning(Bucket=stack.data_bucket, VersioningConfiguration={"Status": "Suspended"})
    cw.delete_alarms(AlarmNames=[stack.alarms[0]])
    alarm = cw.describe_alarms(AlarmNames=[stack.alarms[1]])["MetricAlarms"][0]
    keep = ("AlarmName", "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods",
            "ComparisonOperator", "AlarmActions", "OKActions", "TreatMissingData")
    cw.put_metric_alarm(**{k: alarm[k] for k in keep}, Threshold=50.0)
    s3.delete_bucket(Bucket=stack.artifacts_bucket)
    sns.unsubscribe(SubscriptionArn=stack.subscription_arn)


@pytest.mark.moto
def test_freshly_applied_stack_has_no_drift(seeded: SeededStack) -> None:
    live = scan(seeded)
    assert not live.errors and not live.missing
    assert find_drift(seeded.prior, live) == []


@pytest.mark.moto
def test_out_of_band_changes_are_found_with_kind_and_summary(seeded: SeededStack) -> None:
    change_out_of_band(seeded)
    live = scan(seeded)
    assert not live.errors
    found = {(i.type, i.urn.rsplit("::", 1)[-1]): (i.kind, i.summary) for i in find_drift(seeded.prior, live)}
    key_id = seeded.prior.resources[seeded.urn("aws:kms/key:Key", "data-key")].id
    assert found == {
        (ENDPOINT, "scorer"): (
            "changed",
            "endpoint scorer: instance count 2 -> 5 (autoscaling range 2-4), traffic weight 1 -> 0.5 "
            "changed outside Pulumi"),
        # DeleteBucketEncryption resets the bucket to SSE-S3 (botocore s3 DeleteBucketEncryption): a change
        (SSE, "data-encryption"): (
            "changed", f"bucket fraud-dev-data: encryption kmsMasterKeyId {key_id} -> (none), encryption "
            "sseAlgorithm aws:kms -> AES256, encryption bucketKeyEnabled true -> false changed outside Pulumi"),
        (VERSIONING, "data-versioning"): (
            "changed", "bucket fraud-dev-data: versioning Enabled -> Suspended changed outside Pulumi"),
        (ALARM, "scorer-latency-p99"): ("deleted", "alarm scorer-latency-p99 deleted outside Pulumi"),
        (ALARM, "scorer-5xx"): ("changed", "alarm scorer-5xx: threshold 5 -> 50 changed outside Pulumi"),
        ("aws:s3/bucket:Bucket", "artifacts"): ("deleted", "bucket artifacts deleted outside Pulumi"),
        (VERSIONING, "artifacts-versioning"): (
            "deleted", "bucket fraud-dev-artifacts: versioning configuration removed outside Pulumi"),
        (SSE, "artifacts-encryption"): ("deleted", "bucket fraud-dev-artifacts: encryption removed outside Pulumi"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "artifacts-public-access"): (
            "deleted", "bucket fraud-dev-artifacts: public access block removed outside Pulumi"),
        ("aws:sns/topicSubscription:TopicSubscription", "alerts-oncall"): (
            "deleted", "alert subscription alerts-oncall removed outside Pulumi"),
    }
