"""The rollback notice says why, on real servers (tests/support/prometheus.py, the world of
test_rollback_notice_live.py: every compiled rule of the reference dev graph, Alertmanager routed from
the compiled model, the Pushgateway, Slack a recording receiver). The runner's own notifier, built from
the compiled runner document, pushes the facts of a status the reconciler rolled back
(``rollout/scheduled.py`` ``notice_facts``); the compiled rollback alert keeps them as labels and its
annotations write them, so the Slack message Alertmanager delivers names the versions, the share and
which alert fired with its value and threshold in the units of the spec. A repeated notice of the same
rollback is the same series: the alert goes on firing and nobody is told twice. No secret anywhere."""

from __future__ import annotations

import time

from mlops_infra.rollout import scheduled
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.secrets.scan import find_secrets
from tests.monitoring.test_rollback_notice_live import ALERT, world  # noqa: F401  (the fixture)

SLACK = "/slack/slack-oncall-webhook"


def _rolled_back(document: dict) -> tuple[RolloutSpec, RolloutStatus]:
    [item] = [i for i in document["rollouts"] if i["address"] == "endpoints.scorer"]
    spec = RolloutSpec.from_graph(item["address"], item["plan"])
    at = RolloutStatus("progressing", "14", "13", 0, time.time() - 60)
    decision = reconcile(spec, Observed("14", "13", spec.steps[0], status=at),
                         [GateReading("scorer-latency", "firing", 0.31, "alert firing"),
                          GateReading("scorer-errors", "ok", 0.001)], time.time())
    assert decision.action == "rollback"
    return spec, decision.status


def test_the_delivered_notice_says_which_versions_share_and_alert_with_value_and_threshold(world) -> None:  # noqa: F811
    stack, slack, document = world
    document["notifications"]["pushgatewayUrl"] = stack.pushgateway_url
    _, notifier = scheduled.notice_plan(document)
    spec, status = _rolled_back(document)
    facts = scheduled.notice_facts(spec, status, scheduled.notice_gates(document))
    share = f"{spec.steps[0]}%"
    assert facts == {"version": "14", "serving_version": "13", "share": share, "cause": "alert_fired",
                     "detail": "scorer-latency 310ms > 250ms"}

    notifier("scorer", time.time(), facts)
    stack.wait_for_value(f'ALERTS{{alertname="{ALERT}", alertstate="firing"}}', lambda v: v == 1, timeout=30)
    [alert] = [a for a in stack.alerts("firing") if a["labels"]["alertname"] == ALERT]
    assert {k: alert["labels"][k] for k in facts} == facts
    assert alert["labels"]["mlops_endpoint"] == "scorer" and alert["labels"]["mlops_environment"] == "dev"

    [message] = slack.wait_for(1, path=SLACK, timeout=30)
    text = message.json()["attachments"][0]["text"]
    assert (f"fraud-detection/dev: the rollout of endpoint scorer was rolled back: version 14 at {share} "
            "(scorer-latency 310ms > 250ms)") in text
    assert (f"Version 14 of endpoint scorer was rolled back at {share} of traffic; version 13 serves all traffic. "
            "Cause: alert_fired: scorer-latency 310ms > 250ms.") in text

    # the next pass sends the same notice again (not recorded): the same series, the same alert, no second message
    notifier("scorer", time.time(), scheduled.notice_facts(spec, status, scheduled.notice_gates(document)))
    time.sleep(4)  # several evaluations (500 ms) and group intervals (1 s)
    assert [a["labels"]["alertname"] for a in stack.alerts("firing")].count(ALERT) == 1
    assert len(slack.received(SLACK)) == 1
    assert not find_secrets(message.body)


def test_a_later_rollback_replaces_the_facts_and_is_told_again(world) -> None:  # noqa: F811
    stack, slack, document = world
    document["notifications"]["pushgatewayUrl"] = stack.pushgateway_url
    _, notifier = scheduled.notice_plan(document)
    spec, status = _rolled_back(document)
    gates = scheduled.notice_gates(document)
    notifier("scorer", time.time(), scheduled.notice_facts(spec, status, gates))
    slack.wait_for(1, path=SLACK, timeout=30)
    newer = status.evolve(revision="15", previous="13")
    notifier("scorer", time.time(), scheduled.notice_facts(spec, newer, gates))
    [first, second] = slack.wait_for(2, path=SLACK, timeout=30)
    assert "version 14 at" in first.json()["attachments"][0]["text"]
    assert "version 15 at" in second.json()["attachments"][0]["text"]
    pushed = [line for line in stack.pushgateway_metrics().splitlines()
              if line.startswith("mlops_rollout_rolled_back_timestamp_seconds{")]
    assert len(pushed) == 1 and 'version="15"' in pushed[0]  # PUT replaced the group: one series, the last one's


def test_the_real_pushgateway_reads_a_grouping_value_with_a_slash_and_facts_needing_escapes(world) -> None:  # noqa: F811
    stack, _, document = world
    settings = {**document["notifications"], "pushgatewayUrl": stack.pushgateway_url,
                "grouping": {"system": "fraud-detection", "environment": "dev/eu"}}
    facts = {"version": "14", "serving_version": "13", "share": "10%", "cause": "unknown",
             "detail": 'a "quoted" \\ detail'}
    scheduled.pushgateway_notifier(settings)("scorer", time.time(), facts)
    pushed = [line for line in stack.pushgateway_metrics().splitlines()
              if line.startswith("mlops_rollout_rolled_back_timestamp_seconds{") and 'environment="dev/eu"' in line]
    assert len(pushed) == 1 and r'detail="a \"quoted\" \\ detail"' in pushed[0]
