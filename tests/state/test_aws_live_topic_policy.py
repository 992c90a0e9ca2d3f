"""``plan --refresh`` reads a channel's ``aws:sns/topicPolicy:TopicPolicy`` (ab61d85 moved EventBridge's publish
grant out of the Topic's own policy into one): left alone it is no drift, a policy replaced by hand (SNS has no
policy delete: a topic's policy is put back to the default one) is changed drift, and a topic deleted by hand
takes its policy with it (deleted drift). On the moto server (tests/support/moto_server.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlops_infra.graph import make_urn
from mlops_infra.plan.drift import CHANGED, DELETED, find_drift
from mlops_infra.state.aws_live import READERS, scan_aws
from mlops_infra.state.aws_live.sns import map_sns_topic_policy
from mlops_infra.state.model import StateResource
from tests.support import fixtures
from tests.support.fixtures import PROVIDER_URN, SeededStack
from tests.support.moto_server import REGION

pytestmark = pytest.mark.moto
moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded
TYPE = "aws:sns/topicPolicy:TopicPolicy"


def _policy(topic_arn: str, principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "EventsPublish", "Effect": "Allow", "Principal": {"Service": principal},
        "Action": "sns:Publish", "Resource": topic_arn}]})


@pytest.fixture()
def stack(seeded: SeededStack, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sns = seeded.client("sns")
    arn = sns.create_topic(Name="fraud-dev-ml-team-policy-case")["TopicArn"]
    policy = _policy(arn, "events.amazonaws.com")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    urn = make_urn("dev", "fraud", [TYPE], "ml-team-topic-policy")
    inputs = {"arn": arn, "policy": policy}
    resource = StateResource(urn=urn, type=TYPE, custom=True, id=arn, provider=PROVIDER_URN, inputs=inputs,
                             outputs={"id": arn, **inputs})
    prior = dataclasses.replace(seeded.prior, resources=dict(sorted({**seeded.prior.resources, urn: resource}.items())))
    return seeded, arn, urn, prior


def scan(seeded: SeededStack, prior):
    return scan_aws(prior.resources.values(), region=REGION, endpoint_url=seeded.url)


def test_the_type_has_a_reader_that_maps_get_topic_attributes() -> None:
    assert TYPE in READERS
    reading = map_sns_topic_policy({"TopicArn": "arn:t", "Policy": "{}", "Owner": "123456789012"})
    assert (reading.inputs, reading.outputs) == ({"arn": "arn:t", "policy": "{}"}, {"owner": "123456789012"})


def test_left_alone_it_is_read_and_not_drift(stack) -> None:
    seeded, _, urn, prior = stack
    live = scan(seeded, prior)
    assert live.errors == {} and urn in live.resources
    assert [d for d in find_drift(prior, live) if d.urn == urn] == []


def test_a_policy_replaced_by_hand_is_changed_drift(stack) -> None:
    seeded, arn, urn, prior = stack
    seeded.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                              AttributeValue=_policy(arn, "cloudwatch.amazonaws.com"))
    (drift,) = [d for d in find_drift(prior, scan(seeded, prior)) if d.urn == urn]
    assert drift.kind == CHANGED and [c[0] for c in drift.changes] == ["policy"]


def test_a_topic_deleted_by_hand_takes_its_policy(stack) -> None:
    seeded, arn, urn, prior = stack
    seeded.client("sns").delete_topic(TopicArn=arn)
    live = scan(seeded, prior)
    assert urn in live.missing
    (drift,) = [d for d in find_drift(prior, live) if d.urn == urn]
    assert drift.kind == DELETED
