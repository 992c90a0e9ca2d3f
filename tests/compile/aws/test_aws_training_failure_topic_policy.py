"""A channel no longer told of failed training runs loses EventBridge's publish grant
(``compile/aws/training_failures.py``, "Why a TopicPolicy").

Before, the grant was the Topic's own ``policy`` input, which is optional and computed in
terraform-provider-aws (``internal/service/sns/topic.go``): dropping it (the job's ``notify`` and
``on_alerts`` no longer name the channel) planned "policy removed" on the topic, which the provider
never writes, so ``events.amazonaws.com`` kept ``sns:Publish``. Now the grant is a TopicPolicy, whose
delete puts SNS's default policy back (``topic_policy.go`` ``resourceTopicPolicyDelete``): the plan of
that edit deletes it and leaves the topic alone.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile.aws import training_failures
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.aws.cases import compile_text
from tests.support.applied_state import applied_state, dumps

FRAUD = Path(__file__).resolve().parents[3] / "examples" / "fraud-detection" / "mlsystem.yaml"
TOLD = "      on_alerts: [fraud-drift]      # retrain when this alert fires\n"


def _changes(before: str, after: str) -> dict[str, object]:
    prior = parse_state(dumps(applied_state(compile_text(before, "prod"))), "applied")
    plan = make_plan(compile_text(after, "prod"), prior)
    return {c.name: c for c in plan.changes if c.address == "channels.ml-team"}


def test_a_channel_no_longer_told_plans_the_topic_policys_delete_not_a_topic_edit():
    text = FRAUD.read_text()
    assert TOLD in text
    changes = _changes(text, text.replace(TOLD, ""))
    deleted = changes["ml-team-topic-policy"]
    assert deleted.type == training_failures.TOPIC_POLICY and deleted.action == Action.DELETE
    # the topic itself is unchanged: no "policy removed" that the provider would never write
    assert changes["ml-team-topic"].action == Action.NOOP


def test_a_channel_told_again_gets_its_topic_policy_back():
    text = FRAUD.read_text()
    changes = _changes(text.replace(TOLD, ""), text)
    created = changes["ml-team-topic-policy"]
    assert created.action == Action.CREATE
    assert changes["ml-team-topic"].action == Action.NOOP
