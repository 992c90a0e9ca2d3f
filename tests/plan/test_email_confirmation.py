"""``plan --refresh`` warns of an SNS subscription the recipient has not confirmed (audit observe-1).

botocore ``sns`` ``Subscribe``: an email (or HTTP/S) endpoint's owner must confirm the subscription, "Confirmation
tokens are valid for two days"; ``GetSubscriptionAttributes`` ``PendingConfirmation`` is ``true`` until then, and SNS
sends the endpoint nothing meanwhile. moto confirms every subscription at once (``moto/sns/models.py`` ``subscribe``),
so the readings here come from the real mapper of ``GetSubscriptionAttributes`` fed the attributes AWS returns.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.plan.email_confirmation import SUBSCRIPTION, unconfirmed_warnings
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.spec import load_system
from mlops_infra.state.aws_live.sns import map_sns_subscription
from mlops_infra.state.model import LiveState, StateResource
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)


def graph():
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "prod")
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, "prod")


def reading(applied: StateResource, pending: str) -> StateResource:
    """The live reading of ``applied`` when GetSubscriptionAttributes says ``PendingConfirmation: pending``."""
    topic = applied.inputs["topic"]
    attributes = {"TopicArn": topic, "Protocol": "email", "Endpoint": applied.inputs["endpoint"],
                  "SubscriptionArn": f"{topic}:1b2c", "PendingConfirmation": pending, "RawMessageDelivery": "false"}
    mapped = map_sns_subscription(attributes)
    return StateResource(applied.urn, SUBSCRIPTION, True, applied.id, None, None, mapped.inputs, mapped.outputs)


def email_subscription(g) -> str:
    [urn] = [r.urn for r in g.resources if r.type == SUBSCRIPTION and r.inputs.get("protocol") == "email"]
    return urn


def test_a_pending_email_subscription_is_a_warning_naming_the_channel_and_what_to_do() -> None:
    g = graph()
    urn = email_subscription(g)
    prior = parse_state(dumps(applied_state(g)).encode(), "prior.json")

    topic = prior.resources[urn].inputs["topic"]

    plan = make_plan(g, prior, live=LiveState({urn: reading(prior.resources[urn], "true")}), options=FAST)

    [warning] = [w for w in plan.warnings if "not confirmed" in w]
    assert warning.startswith("channels.ml-team: the email subscription of ml-team@example.com is not confirmed")
    assert "no alert reaches it" in warning and "valid for two days" in warning
    assert f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint ml-team@example.com" in warning
    assert {c.action for c in plan.changes if c.urn == urn} <= {Action.NOOP}  # not drift: nothing to apply
    assert not plan.drift


def test_a_confirmed_subscription_and_a_plan_without_refresh_say_nothing() -> None:
    g = graph()
    urn = email_subscription(g)
    prior = parse_state(dumps(applied_state(g)).encode(), "prior.json")
    assert unconfirmed_warnings(LiveState({urn: reading(prior.resources[urn], "false")}), g.by_urn()) == []
    assert not [w for w in make_plan(g, prior, options=FAST).warnings if "not confirmed" in w]
