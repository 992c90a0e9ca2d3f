"""``plan --refresh`` reads what the alert path and the images depend on (audit refresh-2, refresh-4), on
the patched moto server (tests/support/moto_server.py; patch 17 for a reserved concurrency of 0):

- a Lambda permission (the statement SNS or EventBridge invokes a forwarder or a gate with), a log group,
  a dashboard and an ECR lifecycle policy, each deleted by hand, are ``deleted`` drift (they were never
  read: the refresh said "Drift: none" and promote's drift gate passed);
- a function throttled by hand (reserved concurrency 0) is drift;
- every AWS type the examples compile has a reader (a type added later without one fails here)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.graph import make_urn
from mlops_infra.plan.drift import CHANGED, DELETED, find_drift
from mlops_infra.spec import load_system
from mlops_infra.state.aws_live import READERS, scan_aws
from mlops_infra.state.model import StateResource
from tests.support import fixtures
from tests.support.fixtures import PROVIDER_URN, SeededStack
from tests.support.moto_server import REGION

pytestmark = pytest.mark.moto
moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded
REPO = Path(__file__).resolve().parents[2]
FUNCTION = "fraud-dev-notify-oncall"
LOGS = f"/aws/lambda/{FUNCTION}"
DASHBOARD = "fraud-dev-endpoint-scorer"
REPOSITORY = "fraud-dev-drift-job"
BODY = json.dumps({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
    "metrics": [["AWS/SageMaker", "Invocations", "EndpointName", "fraud-scorer"]], "region": REGION}}]})
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "description": "Expire untagged images after 14 days",
                                   "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                                 "countUnit": "days", "countNumber": 14},
                                   "action": {"type": "expire"}}]})
TYPES = {"function": "aws:lambda/function:Function", "permission": "aws:lambda/permission:Permission",
         "logs": "aws:cloudwatch/logGroup:LogGroup", "dashboard": "aws:cloudwatch/dashboard:Dashboard",
         "lifecycle": "aws:ecr/lifecyclePolicy:LifecyclePolicy"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("f.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture()
def stack(seeded: SeededStack, monkeypatch) -> tuple[SeededStack, dict[str, str], object]:
    """The seeded stack plus an alert channel's forwarder as compile/aws makes one: the function, its
    SNS invoke permission, its log group; a dashboard; an image repository's lifecycle policy. Returns
    the stack, kind -> URN, and the prior state holding them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    iam, lam = seeded.client("iam"), seeded.client("lambda")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="fraud-dev-forwarder", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    function = lam.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="f.handler",
                                   Code={"ZipFile": _zip()})
    lam.add_permission(FunctionName=FUNCTION, StatementId="AllowAlarmTopic", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=seeded.topic_arn)
    logs = seeded.client("logs")
    logs.create_log_group(logGroupName=LOGS, tags={"managed-by": "mlops-infra"})
    logs.put_retention_policy(logGroupName=LOGS, retentionInDays=30)
    seeded.client("cloudwatch").put_dashboard(DashboardName=DASHBOARD, DashboardBody=BODY)
    ecr = seeded.client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=LIFECYCLE)
    resources = dict(seeded.prior.resources)
    urns: dict[str, str] = {}

    def add(kind: str, name: str, id_: str, inputs: dict, outputs: dict | None = None) -> None:
        urn = urns[kind] = make_urn("dev", "fraud", [TYPES[kind]], name)
        resources[urn] = StateResource(urn=urn, type=TYPES[kind], custom=True, id=id_, provider=PROVIDER_URN,
                                       inputs=inputs, outputs={"id": id_, **inputs, **(outputs or {})})

    add("function", "oncall-forwarder", FUNCTION, {"name": FUNCTION, "runtime": "python3.12", "handler": "f.handler",
                                                   "role": role},
        {"arn": function["FunctionArn"], "codeSha256": function["CodeSha256"], "reservedConcurrentExecutions": -1})
    add("permission", "oncall-forwarder-invoke", "AllowAlarmTopic", {
        "action": "lambda:InvokeFunction", "function": FUNCTION, "principal": "sns.amazonaws.com",
        "sourceArn": seeded.topic_arn, "statementId": "AllowAlarmTopic"})
    add("logs", "oncall-forwarder-logs", LOGS, {"name": LOGS, "retentionInDays": 30,
                                                "tags": {"managed-by": "mlops-infra"}},
        {"tagsAll": {"managed-by": "mlops-infra"}})
    add("dashboard", "scorer-dashboard", DASHBOARD, {"dashboardName": DASHBOARD, "dashboardBody": BODY})
    add("lifecycle", "drift-job-repository-lifecycle", REPOSITORY, {"repository": REPOSITORY, "policy": LIFECYCLE})
    prior = dataclasses.replace(seeded.prior, resources=dict(sorted(resources.items())))
    return seeded, urns, prior


def scan(seeded: SeededStack, prior):
    return scan_aws(prior.resources.values(), region=REGION, endpoint_url=seeded.url)


def test_left_alone_they_are_read_and_not_drift(stack):
    seeded, urns, prior = stack
    live = scan(seeded, prior)
    assert live.errors == {} and not live.missing
    assert set(urns.values()) <= set(live.resources)
    assert find_drift(prior, live) == []
    assert live.resources[urns["function"]].inputs["reservedConcurrentExecutions"] == -1


def test_each_deleted_by_hand_is_deleted_drift(stack):
    seeded, urns, prior = stack
    seeded.client("lambda").remove_permission(FunctionName=FUNCTION, StatementId="AllowAlarmTopic")
    seeded.client("logs").delete_log_group(logGroupName=LOGS)
    seeded.client("cloudwatch").delete_dashboards(DashboardNames=[DASHBOARD])
    seeded.client("ecr").delete_lifecycle_policy(repositoryName=REPOSITORY)
    live = scan(seeded, prior)
    gone = {urns[k] for k in ("permission", "logs", "dashboard", "lifecycle")}
    assert live.errors == {} and live.missing == gone
    drift = {d.urn: d for d in find_drift(prior, live)}
    assert set(drift) == gone and {d.kind for d in drift.values()} == {DELETED}
    assert drift[urns["permission"]].summary == "invoke permission oncall-forwarder-invoke deleted outside Pulumi"


def test_a_statement_gone_from_a_policy_that_has_others_is_deleted_too(stack):
    seeded, urns, prior = stack
    lam = seeded.client("lambda")
    lam.add_permission(FunctionName=FUNCTION, StatementId="SomeoneElse", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com")
    lam.remove_permission(FunctionName=FUNCTION, StatementId="AllowAlarmTopic")
    live = scan(seeded, prior)
    assert live.missing == {urns["permission"]}


def test_edits_by_hand_are_changed_drift(stack):
    seeded, urns, prior = stack
    seeded.client("logs").put_retention_policy(logGroupName=LOGS, retentionInDays=1)
    body = json.loads(BODY)
    body["widgets"] = []
    seeded.client("cloudwatch").put_dashboard(DashboardName=DASHBOARD, DashboardBody=json.dumps(body))
    policy = json.loads(LIFECYCLE)
    policy["rules"][0]["selection"]["countNumber"] = 9999
    seeded.client("ecr").put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=json.dumps(policy))
    live = scan(seeded, prior)
    drift = {d.urn: d for d in find_drift(prior, live)}
    assert set(drift) == {urns["logs"], urns["dashboard"], urns["lifecycle"]}
    assert {d.kind for d in drift.values()} == {CHANGED}
    assert drift[urns["logs"]].changes == (("retentionInDays", 30, 1),)
    assert [c[0] for c in drift[urns["dashboard"]].changes] == ["dashboardBody"]
    assert [c[0] for c in drift[urns["lifecycle"]].changes] == ["policy"]


def test_a_function_throttled_by_hand_is_drift(stack):
    """Reserved concurrency 0 (the console's "Throttle") stops the function: pulumi-aws holds -1 for no
    reservation (terraform-provider-aws ``resourceFunctionRead``), GetFunction's ``Concurrency`` says 0."""
    seeded, urns, prior = stack
    seeded.client("lambda").put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=0)
    [drift] = find_drift(prior, scan(seeded, prior))
    assert drift.urn == urns["function"] and drift.changes == (("reservedConcurrentExecutions", -1, 0),)
    assert drift.summary == "function oncall-forwarder: reserved concurrency -1 -> 0 changed outside Pulumi"


@pytest.mark.parametrize("example", ["fraud-detection", "llm-platform", "quickstart"])
def test_every_aws_type_the_examples_compile_is_read(example: str) -> None:
    for env in ("dev", "staging", "prod"):
        loaded = load_system(REPO / "examples" / example / "mlsystem.yaml", env)
        if not loaded.ok:
            continue
        graph = compile_system(loaded.system, env)
        unread = {r.type for r in graph.resources if r.type.startswith("aws:")} - set(READERS)
        assert unread == set(), (example, env, unread)


def test_a_permission_statement_maps_as_pulumi_holds_it() -> None:
    """Pure: the statement found by Sid; an account principal (``arn:aws:iam::<id>:root`` in the policy)
    reads back as the id AddPermission took; a policy without the Sid is gone."""
    from mlops_infra.state.aws_live.lambda_ import map_permission

    policy = json.dumps({"Statement": [
        {"Sid": "other", "Action": "lambda:InvokeFunction", "Principal": {"Service": "events.amazonaws.com"}},
        {"Sid": "mine", "Action": "lambda:InvokeFunction", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:sns:us-east-1:123456789012:t"}}}]})
    assert map_permission(policy, "mine").inputs == {
        "statementId": "mine", "action": "lambda:InvokeFunction", "principal": "123456789012",
        "sourceArn": "arn:aws:sns:us-east-1:123456789012:t"}
    assert map_permission(policy, "gone") is None and map_permission(None, "mine") is None
