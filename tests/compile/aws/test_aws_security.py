"""Security posture the AWS compiler builds in: buckets, keys, least-privilege IAM, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile.aws import forwarder
from mlops_infra.graph import is_ref
from tests.compile.aws.cases import (
    CASES,
    REFERENCE,
    compile_text,
    compiled,
    of_type,
    one,
    policy_statements,
    system,
)
from tests.compile.aws.pulumi_schema import check_inputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDS = [c[0] for c in CASES]
PARAMS = [c[1:] for c in CASES]
KEY = "aws:kms/key:Key"
BUCKET_PARTS = {
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "encryption": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "block": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
}
DATA_SERVICES = ("s3:", "kms:", "sagemaker:", "secretsmanager:", "ecr:", "logs:", "iam:",
                 "lambda:", "application-autoscaling:",
                 "sqs:",  # lambda: the rollout runner, its schedule and the retrain gates (B11.2)
                 "sns:")  # sns: the rollout runner publishes rollback notices, to exactly their topics' ARNs
STAR_ALLOWED = {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken",
                # the rollout runner (compile/aws/rollout_runner.py): GetMetricData has no resource types;
                # a scalable target's ARN carries an ID AWS assigns, unknown at compile time; SageMaker Search
                # (a pass observes its endpoints 100 per call) has no resource types either
                "cloudwatch:GetMetricData", "sagemaker:Search", "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:PutScalingPolicy"}


def _parts_of(graph, bucket):
    parts = {}
    for name, type_ in BUCKET_PARTS.items():
        found = [r for r in of_type(graph, type_) if r.inputs["bucket"] == {"$ref": bucket.urn, "output": "bucket"}]
        assert len(found) == 1, (bucket.inputs["bucket"], name)
        parts[name] = found[0]
    return parts


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_every_bucket_is_versioned_encrypted_private_tls_only_and_expiring(path, env):
    graph = compiled(path, env)
    key = one(graph, KEY)
    specs = {ds.name: ds for ds in system(path, env).data_sources}
    for bucket in of_type(graph, "aws:s3/bucket:Bucket"):
        parts = _parts_of(graph, bucket)
        spec = specs.get(bucket.address.removeprefix("data_sources."))
        versioned = spec.versioning if spec else True
        assert parts["versioning"].inputs["versioningConfiguration"]["status"] == ("Enabled" if versioned else "Suspended")
        (rule,) = parts["encryption"].inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        if spec is None or spec.encryption == "kms":
            assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": {"$ref": key.urn, "output": "arn"}}
            assert rule["bucketKeyEnabled"] is True
        else:
            assert default == {"sseAlgorithm": "AES256"}
        block = parts["block"].inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                              "restrictPublicBuckets"))
        statements = parts["policy"].inputs["policy"]["$json"]["Statement"]
        tls = [s for s in statements if s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls and tls[0]["Effect"] == "Deny" and tls[0]["Principal"] == "*" and tls[0]["Action"] == "s3:*"
        name = bucket.inputs["bucket"]
        assert tls[0]["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        assert parts["block"].urn in parts["policy"].dependencies
        rules = {r["id"]: r for r in parts["lifecycle"].inputs["rules"]}
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
        if spec and spec.retention:
            days = spec.retention.seconds // 86400
            assert rules["retention"]["expiration"] == {"days": days}
            assert rules["retention"]["noncurrentVersionExpiration"] == {"noncurrentDays": days}


UNVERSIONED = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: unversioned}
data_sources:
  - {name: raw, kind: object_store, versioning: false, encryption: s3, retention: 30d}
environments:
  prod: {target: {kind: aws, region: us-east-1, account: "123456789012"}}
"""


def test_versioning_off_is_suspended_and_old_versions_still_expire():
    """Off is ``Suspended``: the provider refuses Enabled -> ``Disabled`` ("versioning_configuration.status
    cannot be updated from 'Enabled' to 'Disabled'", terraform-provider-aws bucket_versioning.go), so turning
    a data source's versioning off would fail the apply. Versions and delete markers made before the
    suspension (or by a suspended bucket's deletes) still expire with the retention."""
    graph = compile_text(UNVERSIONED)
    [bucket] = [b for b in of_type(graph, "aws:s3/bucket:Bucket") if b.address == "data_sources.raw"]
    parts = _parts_of(graph, bucket)
    assert parts["versioning"].inputs["versioningConfiguration"] == {"status": "Suspended"}
    rules = {r["id"]: r for r in parts["lifecycle"].inputs["rules"]}
    assert rules["retention"]["expiration"] == {"days": 30}
    assert rules["retention"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rules["expired-delete-markers"]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert check_inputs(parts["lifecycle"].type, parts["lifecycle"].inputs) == []
    assert check_inputs(parts["versioning"].type, parts["versioning"].inputs) == []


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_data_is_protected_and_the_key_rotates(path, env):
    graph = compiled(path, env)
    key = one(graph, KEY)
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    assert key.options.protect
    for bucket in of_type(graph, "aws:s3/bucket:Bucket"):
        if bucket.address.startswith("data_sources."):
            assert bucket.options.protect
        assert bucket.options.replace_on_changes == ("bucket",)
        assert bucket.inputs["forceDestroy"] is False


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_key_policy_lets_cloudwatch_publish_to_encrypted_topics(path, env):
    graph = compiled(path, env)
    key = one(graph, KEY)
    account = system(path, env).environments[env].target.account
    statements = key.inputs["policy"]["$json"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and cloudwatch[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    for topic in of_type(graph, "aws:sns/topic:Topic"):
        assert topic.inputs["kmsMasterKeyId"] == {"$ref": key.urn, "output": "arn"}


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_iam_policies_name_exact_resources(path, env):
    graph = compiled(path, env)
    for policy in of_type(graph, "aws:iam/rolePolicy:RolePolicy"):
        for statement in policy_statements(policy):
            assert statement["Effect"] == "Allow"
            actions, resources = statement["Action"], statement["Resource"]
            for resource in resources:
                if is_ref(resource):
                    continue
                if resource == "*":
                    assert set(actions) <= STAR_ALLOWED, (policy.urn, statement)
                    if "cloudwatch:PutMetricData" in actions:
                        assert statement["Condition"]["StringEquals"]["cloudwatch:namespace"]
                    continue
                arn, partition, service, _region, _account, name = resource.split(":", 5)
                assert arn == "arn" and partition == "aws" and name and not name.startswith("*"), resource
                assert actions and all(a.split(":")[0] in (service, "iam") for a in actions), (resource, actions)
            assert all(a.startswith((*DATA_SERVICES, "cloudwatch:")) for a in actions)


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_roles_trust_only_services_of_this_account_and_attach_no_managed_policies(path, env):
    graph = compiled(path, env)
    account = system(path, env).environments[env].target.account
    for role in of_type(graph, "aws:iam/role:Role"):
        assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs
        (statement,) = role.inputs["assumeRolePolicy"]["$json"]["Statement"]
        assert set(statement["Principal"]) == {"Service"}
        if statement["Principal"]["Service"] == ["lambda.amazonaws.com"]:
            assert "Condition" not in statement  # Lambda sends no aws:SourceAccount when assuming a role
        else:
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_pass_role_is_limited_to_job_roles_and_sagemaker(path, env):
    graph = compiled(path, env)
    job_roles = {r.urn for r in of_type(graph, "aws:iam/role:Role")  # SageMaker job roles, not the retrain gates'
                 if r.address.startswith(("training_jobs.", "monitors.")) and "sagemaker" in str(r.inputs["assumeRolePolicy"])}
    for policy in of_type(graph, "aws:iam/rolePolicy:RolePolicy"):
        for statement in policy_statements(policy):
            if "iam:PassRole" in statement["Action"]:
                assert {r["$ref"] for r in statement["Resource"]} == job_roles
                assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


SECRET_CASE = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: secrets-case}
models: [{name: m, framework: sklearn, artifacts_uri: "s3://imports-123456789012/m/"}]
endpoints:
  - {name: api, model: {name: m, version: 1}, instance_type: ml.m5.large, replicas: {min: 1, max: 2}}
monitors: [{name: lat, endpoint: api, metric: latency_p99, threshold: 100ms}]
alerts: [{name: slow, monitor: lat, for: 5m, severity: critical, notify: [slack, pd, hook, plain, tokened]}]
channels:
  - {name: slack, kind: slack, webhook_url: {secret: slack-url}, channel: "#ml"}
  - {name: pd, kind: pagerduty, routing_key: {secret: pd-key, key: routing}}
  - {name: hook, kind: webhook, url: {secret: hook-url}, token: {secret: hook-token}}
  - {name: plain, kind: webhook, url: "https://alerts.example.com/ml"}
  - {name: tokened, kind: webhook, url: "https://alerts.example.com/t", token: {secret: t-token}}
environments:
  prod: {target: {kind: aws, region: us-west-2, account: "999999999999"}}
"""


def test_secret_channels_get_a_forwarder_that_reads_only_its_secrets_by_name():
    graph = compile_text(SECRET_CASE)
    functions = {f.address: f for f in of_type(graph, "aws:lambda/function:Function")}
    assert set(functions) == {"channels.slack", "channels.pd", "channels.hook", "channels.plain", "channels.tokened"}
    names = {"MLOPS_SYSTEM": "secrets-case", "MLOPS_ENVIRONMENT": "prod"}
    assert functions["channels.slack"].inputs["environment"]["variables"] == {
        "CHANNEL_KIND": "slack", **names, "MLOPS_CHANNEL": "slack", "SECRET_ID": "slack-url", "SLACK_CHANNEL": "#ml"}
    assert functions["channels.pd"].inputs["environment"]["variables"] == {
        "CHANNEL_KIND": "pagerduty", "SECRET_ID": "pd-key", "SECRET_KEY": "routing"}
    assert functions["channels.hook"].inputs["environment"]["variables"] == {
        "CHANNEL_KIND": "webhook", **names, "MLOPS_CHANNEL": "hook", "SECRET_ID": "hook-url",
        "TOKEN_SECRET_ID": "hook-token"}
    assert functions["channels.tokened"].inputs["environment"]["variables"] == {
        "CHANNEL_KIND": "webhook", **names, "MLOPS_CHANNEL": "tokened", "WEBHOOK_URL": "https://alerts.example.com/t",
        "TOKEN_SECRET_ID": "t-token"}
    assert functions["channels.plain"].inputs["environment"]["variables"] == {
        "CHANNEL_KIND": "webhook", **names, "MLOPS_CHANNEL": "plain", "WEBHOOK_URL": "https://alerts.example.com/ml"}
    for function in functions.values():
        assert function.inputs["runtime"] == "python3.12"
        assert function.inputs["code"] == {"$archive": {"forwarder.py": Path(forwarder.__file__).read_text()}}
    policies = {p.address: p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy")}
    secrets = [s for s in policy_statements(policies["channels.hook"]) if s["Sid"] == "ReadChannelSecrets"]
    assert secrets[0]["Action"] == ["secretsmanager:GetSecretValue"]
    assert secrets[0]["Resource"] == ["arn:aws:secretsmanager:us-west-2:999999999999:secret:hook-token-??????",
                                      "arn:aws:secretsmanager:us-west-2:999999999999:secret:hook-url-??????"]
    # a plain webhook reads no secret: its role has no statement for Secrets Manager at all
    assert [s["Sid"] for s in policy_statements(policies["channels.plain"])] == [
        "KeepFailedEvents", "EncryptFailedEvents", "WriteOwnLogs"]  # + its failure queue (lambda_failures.py)
    # no https subscription: SNS would wait for a confirmation that a webhook never sends
    subscriptions = {s.address: s.inputs for s in of_type(graph, "aws:sns/topicSubscription:TopicSubscription")}
    assert set(subscriptions) == set(functions)
    assert {s["protocol"] for s in subscriptions.values()} == {"lambda"}
    permissions = of_type(graph, "aws:lambda/permission:Permission")
    assert {p.inputs["principal"] for p in permissions} == {"sns.amazonaws.com"}
    assert all(p.options.delete_before_replace for p in permissions)
    problems = [p for r in graph.resources if r.custom for p in check_inputs(r.type, r.inputs)]
    assert problems == []


def test_a_plain_webhook_applied_as_an_https_subscription_moves_to_the_forwarder():
    """A system applied before this change: its plain webhook was an SNS https subscription (never
    confirmed, so it delivered nothing) and its alarms' descriptions did not name the monitor. The plan
    replaces that subscription with the forwarder's (``protocol`` and ``endpoint`` force replacement:
    pulumi_aws ``sns.TopicSubscription``), creates the forwarder, and updates each alarm's description
    in place; nothing else changes."""
    from mlops_infra.plan.model import Action
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.state.pulumi_state import parse_state
    from tests.support.applied_state import applied_state, dumps, resources

    graph = compile_text(SECRET_CASE)
    checkpoint = applied_state(graph)
    forwarder_parts = {r.urn: r.type for r in graph.resources if r.address == "channels.plain" and r.custom
                       and r.type.startswith(("aws:lambda/", "aws:iam/", "aws:cloudwatch/logGroup"))}
    assert sorted(forwarder_parts.values()) == [
        "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/function:Function", "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:lambda/permission:Permission"]
    records = [r for r in resources(checkpoint) if r["urn"] not in forwarder_parts]
    checkpoint["checkpoint"]["latest"]["resources"] = records
    for record in records:
        if record["urn"].endswith("::plain-subscription"):
            for side in ("inputs", "outputs"):
                record[side].update(protocol="https", endpoint="https://alerts.example.com/ml")
            record["dependencies"] = [d for d in record.get("dependencies", []) if d not in forwarder_parts]
        if record["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm":
            for side in ("inputs", "outputs"):
                record[side]["alarmDescription"] = record[side]["alarmDescription"].removesuffix(" (monitor lat)")
    plan = make_plan(graph, parse_state(dumps(checkpoint), "applied"), options=PlanOptions(estimate_cost=False))
    changed = {c.urn: c for c in plan.changes if c.action is not Action.NOOP}
    subscription, alarm = (next(r.urn for r in graph.resources if r.urn.endswith(name))
                           for name in ("::plain-subscription", "::slow-alarm"))
    assert {urn: c.action for urn, c in changed.items()} == {
        **dict.fromkeys(forwarder_parts, Action.CREATE), subscription: Action.REPLACE, alarm: Action.UPDATE}
    assert {(a.path, a.forces_replacement) for a in changed[subscription].changes} == {
        ("endpoint", True), ("protocol", True)}
    assert [(a.path, a.after) for a in changed[alarm].changes] == [
        ("alarmDescription", "mlops-infra alert slow (critical): latency_p99 of endpoint api above 100ms for 5m "
                             "(monitor lat)")]


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_no_secret_value_anywhere_in_the_graph(path, env):
    text = shipped_code_removed(compiled(path, env).dumps())
    for marker in ("hooks.slack.com", "events.pagerduty.com", "xoxb-", "Bearer "):
        assert marker not in text
    for name in _secret_refs(system(path, env)):
        assert f'"SECRET_ID": "{name}"' in text or f'"TOKEN_SECRET_ID": "{name}"' in text
        assert f":secret:{name}-??????" in text


def _secret_refs(sys_) -> set[str]:
    names = set()
    for channel in sys_.channels:
        for field in ("webhook_url", "routing_key", "url", "token"):
            value = getattr(channel, field, None)
            if value is not None and not isinstance(value, str):
                names.add(value.secret)
    return names


def shipped_code_removed(text: str) -> str:
    """The graph text without the code the Lambdas ship (the forwarder, the rollout runner's modules):
    source text, whose ``"Bearer "`` is a header being built, not a secret."""
    from mlops_infra.compile.aws.rollout_runner import code

    for _, source in code():
        text = text.replace(json.dumps(source)[1:-1], "")
    return text.replace(forwarder_source_json(), "")


def forwarder_source_json() -> str:
    """The forwarder source as it appears (JSON-escaped) in the graph text."""
    from mlops_infra.compile.aws.alerting import forwarder_source

    return json.dumps(forwarder_source())[1:-1]


def test_secret_values_never_reach_the_graph_even_when_they_look_like_urls():
    graph = compile_text(SECRET_CASE)
    text = graph.dumps().replace(forwarder_source_json(), "")
    for name in ("slack-url", "pd-key", "hook-url", "hook-token", "t-token"):
        assert name in text
    assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text


def test_reference_slack_channel_reads_the_secret_by_arn_pattern():
    graph = compiled(REFERENCE, "prod")
    policy = next(p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p.address == "channels.oncall")
    (statement,) = [s for s in policy_statements(policy) if s["Sid"] == "ReadChannelSecrets"]
    assert statement["Resource"] == ["arn:aws:secretsmanager:eu-west-1:222222222222:secret:slack-oncall-webhook-??????"]
